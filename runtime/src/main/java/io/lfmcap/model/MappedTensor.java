package io.lfmcap.model;

import java.nio.ByteBuffer;

/**
 * A tensor whose little-endian data lies in a {@link MappedFile} at a known offset: a view, read only
 * when asked. Used for safetensors weights and usable for any format that stores raw row-major data.
 */
public final class MappedTensor implements Tensor {
    /** Elements converted per step of {@link #toFloats()}: bounds the temporary buffer to 8 MiB. */
    private static final int CHUNK_ELEMENTS = 1 << 22;

    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final MappedFile file;
    private final long offset;

    /** The tensor {@code name} whose data starts {@code offset} bytes into {@code file}. */
    public MappedTensor(String name, DType dtype, long[] shape, MappedFile file, long offset) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.file = file;
        this.offset = offset;
        long end = offset + byteSize();
        if (offset < 0 || end > file.size())
            throw new ModelFileException(file.path() + ": tensor '" + name + "' data [" + offset + ", " + end + ") lies outside the file (" + file.size() + " bytes)");
    }

    @Override
    public String name() { return name; }

    @Override
    public DType dtype() { return dtype; }

    @Override
    public long[] shape() { return shape.clone(); }

    /** Absolute byte offset of the data in the file. */
    public long fileOffset() { return offset; }

    public MappedFile file() { return file; }

    @Override
    public float[] toFloats() {
        long count = numElements();
        if (count >= Integer.MAX_VALUE)
            throw new IllegalStateException("tensor '" + name + "' has " + count + " elements, too many for one float[]; read it in parts with rawBytes");
        float[] out = new float[(int) count];
        short[] halves = dtype == DType.F32 ? null : new short[(int) Math.min(count, CHUNK_ELEMENTS)];
        for (int start = 0; start < out.length; start += CHUNK_ELEMENTS) {
            int n = Math.min(CHUNK_ELEMENTS, out.length - start);
            ByteBuffer bytes = rawBytes((long) start * dtype.bytes(), n * dtype.bytes());
            switch (dtype) {
                case F32 -> bytes.asFloatBuffer().get(out, start, n);
                case BF16 -> {
                    bytes.asShortBuffer().get(halves, 0, n);
                    FloatFormats.bf16ToFloat(halves, 0, out, start, n);
                }
                case F16 -> {
                    bytes.asShortBuffer().get(halves, 0, n);
                    FloatFormats.f16ToFloat(halves, 0, out, start, n);
                }
            }
        }
        return out;
    }

    @Override
    public ByteBuffer rawBytes(long offset, int length) {
        if (offset < 0 || length < 0 || offset > byteSize() - length)
            throw new IndexOutOfBoundsException("bytes [" + offset + ", " + (offset + length) + ") outside tensor '" + name + "' (" + byteSize() + " bytes)");
        return file.slice(this.offset + offset, length);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Tensor.shapeString(shape);
    }
}
