package io.lfmcap.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise activations in fp32, vectorised, in the operation order of PyTorch's CPU kernels
 * (aten/src/ATen/native/cpu/Activation.cpp) so results match to the last bit or two. The last partial
 * vector of a range runs masked through the same vector code, so every element sees the same functions.
 */
final class Activations {
    private static final VectorSpecies<Float> F = PackedMatrix.FLOATS;
    private static final int L = F.length();
    private static final float SQRT_2_OVER_PI = (float) (Math.sqrt(2.0) * (2.0 / Math.sqrt(Math.PI)) * 0.5);
    private static final float KAPPA = 0.044715f;
    private static final float SQRT_HALF = (float) Math.sqrt(0.5);

    private Activations() {}

    /** Resolves a vision {@code hidden_act}: true for the tanh GELU, false for the exact (erf) one. */
    static boolean isTanhGelu(String hiddenAct) {
        return switch (hiddenAct) {
            case "gelu_pytorch_tanh", "gelu_new" -> true;
            case "gelu" -> false;
            default -> throw new IllegalArgumentException("unsupported vision hidden_act '" + hiddenAct
                    + "' in config.json (supported: gelu_pytorch_tanh, gelu_new, gelu)");
        };
    }

    /** In place, {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))} (torch gelu, approximate='tanh'). */
    static void geluTanh(float[] x, int off, int n) {
        int i = 0;
        for (; i + L <= n; i += L) geluTanh(FloatVector.fromArray(F, x, off + i)).intoArray(x, off + i);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            geluTanh(FloatVector.fromArray(F, x, off + i, m)).intoArray(x, off + i, m);
        }
    }

    private static FloatVector geluTanh(FloatVector v) {
        FloatVector cube = v.mul(v).mul(v);
        FloatVector inner = v.add(cube.mul(KAPPA)).mul(SQRT_2_OVER_PI);
        return v.mul(0.5f).mul(inner.lanewise(VectorOperators.TANH).add(1f));
    }

    /** In place, {@code x * 0.5 * (1 + erf(x / sqrt 2))} (torch gelu, exact; the projector's activation). */
    static void geluErf(float[] x, int off, int n) {
        for (int i = off; i < off + n; i++) {
            float v = x[i];
            float erf = (float) Erf.erf(v * SQRT_HALF);
            x[i] = v * 0.5f * (1f + erf);
        }
    }

    /** In place over {@code [off, off + n)}: {@code gate = silu(gate) * up}, silu(x) = x / (1 + exp(-x)) (HF Lfm2MLP). */
    static void siluTimes(float[] gate, int off, float[] up, int n) {
        int i = 0;
        for (; i + L <= n; i += L)
            silu(FloatVector.fromArray(F, gate, off + i)).mul(FloatVector.fromArray(F, up, off + i)).intoArray(gate, off + i);
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            silu(FloatVector.fromArray(F, gate, off + i, m)).mul(FloatVector.fromArray(F, up, off + i, m)).intoArray(gate, off + i, m);
        }
    }

    private static FloatVector silu(FloatVector g) {
        return g.div(g.neg().lanewise(VectorOperators.EXP).add(1f));
    }

    /**
     * In place over {@code s[off, off + n)}: {@code softmax(s * scale)} in fp32 (torch softmax: subtract the
     * max, exp, multiply by the reciprocal of the sum).
     */
    static void scaledSoftmax(float[] s, int off, int n, float scale) {
        int full = n - n % L;
        VectorMask<Float> tail = F.indexInRange(full, n);
        FloatVector maxV = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < full; i += L) {
            FloatVector v = FloatVector.fromArray(F, s, off + i).mul(scale);
            v.intoArray(s, off + i);
            maxV = maxV.max(v);
        }
        if (full < n) {
            FloatVector v = FloatVector.fromArray(F, s, off + full, tail).mul(scale);
            v.intoArray(s, off + full, tail);
            maxV = maxV.lanewise(VectorOperators.MAX, v, tail);
        }
        float max = maxV.reduceLanes(VectorOperators.MAX);
        FloatVector sumV = FloatVector.zero(F);
        for (int i = 0; i < full; i += L) {
            FloatVector e = FloatVector.fromArray(F, s, off + i).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(s, off + i);
            sumV = sumV.add(e);
        }
        if (full < n) {
            FloatVector e = FloatVector.fromArray(F, s, off + full, tail).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(s, off + full, tail);
            sumV = sumV.add(e, tail);
        }
        float inv = 1f / sumV.reduceLanes(VectorOperators.ADD);
        for (int i = 0; i < full; i += L) FloatVector.fromArray(F, s, off + i).mul(inv).intoArray(s, off + i);
        if (full < n) FloatVector.fromArray(F, s, off + full, tail).mul(inv).intoArray(s, off + full, tail);
    }
}
