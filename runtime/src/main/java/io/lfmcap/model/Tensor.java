package io.lfmcap.model;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One named weight as stored in a model file: a view over a mapped file region, never copied until a
 * backend asks for it (widened to fp32 for the CPU reference, raw bytes for the GPU upload and the
 * exporter).
 */
public interface Tensor {
    String name();

    DType dtype();

    /** Shape as stored, row-major (a Linear weight is [out, in]). */
    long[] shape();

    default long numElements() {
        long n = 1;
        for (long d : shape()) n *= d;
        return n;
    }

    default long byteSize() { return numElements() * dtype().bytes(); }

    /** All elements widened to fp32 (bf16/f16 converted exactly). Fails if there are 2^31 or more. */
    float[] toFloats();

    /**
     * Raw little-endian bytes [offset, offset+length) of this tensor's data, as a read-only buffer
     * (length under 2 GiB; call repeatedly to stream larger tensors).
     */
    ByteBuffer rawBytes(long offset, int length);

    static String shapeString(long[] shape) { return Arrays.toString(shape); }
}
