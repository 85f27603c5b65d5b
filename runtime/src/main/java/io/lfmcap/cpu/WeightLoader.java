package io.lfmcap.cpu;

import io.lfmcap.model.Tensor;
import io.lfmcap.model.WeightStore;

/**
 * Reads named checkpoint tensors into CPU memory, checking each shape against what the config implies,
 * so a config.json that does not match its weights fails at load with both shapes named.
 */
final class WeightLoader {
    private final WeightStore store;
    private final Parallel parallel;
    private long bytes;

    WeightLoader(WeightStore store, Parallel parallel) {
        this.store = store;
        this.parallel = parallel;
    }

    /** A Linear weight {@code [rows, cols]} ({@code [out, in]}), packed for {@link MatMul}. */
    PackedMatrix matrix(String name, int rows, int cols) {
        PackedMatrix m = PackedMatrix.load(checked(name, rows, cols), rows, cols, parallel);
        bytes += m.bytes();
        return m;
    }

    /** A tensor of the given shape, widened to fp32, row-major. */
    float[] floats(String name, long... shape) {
        float[] v = checked(name, shape).toFloats();
        bytes += 4L * v.length;
        return v;
    }

    /** A tensor of the given shape when {@code present}, else null (optional biases, optional norms). */
    float[] optionalFloats(boolean present, String name, long... shape) {
        return present ? floats(name, shape) : null;
    }

    /** Bytes of everything loaded so far. */
    long bytes() { return bytes; }

    private Tensor checked(String name, long... shape) {
        return store.require(name, shape);
    }
}
