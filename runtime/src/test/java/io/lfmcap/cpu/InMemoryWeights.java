package io.lfmcap.cpu;

import io.lfmcap.model.DType;
import io.lfmcap.model.Tensor;
import io.lfmcap.model.WeightStore;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A {@link WeightStore} over in-memory arrays, encoded in a chosen dtype exactly as a safetensors file
 * would hold them (little-endian), so the backend's real loading path runs. {@link #values} returns the
 * values as stored (after bf16/f16 rounding) for the naive references.
 */
final class InMemoryWeights implements WeightStore {
    private final Map<String, ArrayTensor> tensors = new LinkedHashMap<>();

    /** Stores {@code values} in {@code dtype} (rounded to nearest even for bf16/f16). */
    void put(String name, DType dtype, float[] values, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        if (n != values.length) throw new IllegalArgumentException(name + ": " + values.length + " values for shape " + Tensor.shapeString(shape));
        ByteBuffer data = ByteBuffer.allocate(values.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (dtype) {
                case F32 -> data.putFloat(v);
                case BF16 -> data.putShort(toBf16(v));
                case F16 -> data.putShort(toF16(v));
            }
        }
        tensors.put(name, new ArrayTensor(name, dtype, shape.clone(), data));
    }

    /** The stored values widened to fp32 (what a correct loader must see). */
    float[] values(String name) { return get(name).toFloats(); }

    static short toBf16(float v) {
        int bits = Float.floatToIntBits(v);
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    static short toF16(float v) {
        // Through double -> float16 by rounding the mantissa; test values stay in the normal range.
        int bits = Float.floatToIntBits(v);
        int sign = (bits >>> 16) & 0x8000;
        int exp = ((bits >>> 23) & 0xFF) - 127 + 15;
        int mant = bits & 0x7FFFFF;
        if (v == 0f) return (short) sign;
        if (exp <= 0 || exp >= 31) throw new IllegalArgumentException("value " + v + " outside the f16 normal range used in tests");
        int half = (exp << 10) | (mant >>> 13);
        int rest = mant & 0x1FFF;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) half++;
        return (short) (sign | half);
    }

    @Override
    public Set<String> names() { return tensors.keySet(); }

    @Override
    public Tensor get(String name) {
        ArrayTensor t = tensors.get(name);
        if (t == null) throw new IllegalArgumentException("no tensor '" + name + "' in " + source());
        return t;
    }

    @Override
    public String source() { return "in-memory test weights"; }

    @Override
    public void close() {}

    private record ArrayTensor(String name, DType dtype, long[] shape, ByteBuffer data) implements Tensor {
        @Override
        public float[] toFloats() {
            int n = (int) numElements();
            float[] out = new float[n];
            for (int i = 0; i < n; i++) {
                out[i] = switch (dtype) {
                    case F32 -> data.getFloat(4 * i);
                    case BF16 -> Float.intBitsToFloat(data.getShort(2 * i) << 16);
                    case F16 -> PackedMatrix.halfToFloat(data.getShort(2 * i));
                };
            }
            return out;
        }

        @Override
        public ByteBuffer rawBytes(long offset, int length) {
            return data.slice((int) offset, length).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }
    }
}
