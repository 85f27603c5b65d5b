package io.lfmcap.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise activations in fp32, vectorised, in the operation order of PyTorch's CPU kernels
 * (aten/src/ATen/native/cpu/Activation.cpp) so results match to the last bit or two. Tails use masked
 * vectors, so every element goes through the same code whatever its index.
 */
final class Activations {
    private static final VectorSpecies<Float> F = PackedMatrix.FLOATS;
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
        FloatVector half = FloatVector.broadcast(F, 0.5f);
        FloatVector one = FloatVector.broadcast(F, 1f);
        FloatVector beta = FloatVector.broadcast(F, SQRT_2_OVER_PI);
        FloatVector kappa = FloatVector.broadcast(F, KAPPA);
        for (int i = 0; i < n; i += F.length()) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector v = FloatVector.fromArray(F, x, off + i, m);
            FloatVector cube = v.mul(v).mul(v);
            FloatVector inner = beta.mul(v.add(kappa.mul(cube)));
            half.mul(v).mul(one.add(inner.lanewise(VectorOperators.TANH))).intoArray(x, off + i, m);
        }
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
        FloatVector one = FloatVector.broadcast(F, 1f);
        for (int i = 0; i < n; i += F.length()) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector g = FloatVector.fromArray(F, gate, off + i, m);
            FloatVector silu = g.div(one.add(g.neg().lanewise(VectorOperators.EXP)));
            silu.mul(FloatVector.fromArray(F, up, off + i, m)).intoArray(gate, off + i, m);
        }
    }

    /**
     * In place over {@code s[off, off + n)}: {@code softmax(s * scale)} in fp32 (torch softmax: subtract the
     * max, exp, multiply by the reciprocal of the sum).
     */
    static void scaledSoftmax(float[] s, int off, int n, float scale) {
        FloatVector scaleV = FloatVector.broadcast(F, scale);
        FloatVector maxV = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < n; i += F.length()) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector v = FloatVector.fromArray(F, s, off + i, m).mul(scaleV);
            v.intoArray(s, off + i, m);
            maxV = maxV.lanewise(VectorOperators.MAX, v, m);
        }
        FloatVector max = FloatVector.broadcast(F, maxV.reduceLanes(VectorOperators.MAX));
        FloatVector sumV = FloatVector.zero(F);
        for (int i = 0; i < n; i += F.length()) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector e = FloatVector.fromArray(F, s, off + i, m).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(s, off + i, m);
            sumV = sumV.add(e, m);
        }
        FloatVector inv = FloatVector.broadcast(F, 1f / sumV.reduceLanes(VectorOperators.ADD));
        for (int i = 0; i < n; i += F.length()) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromArray(F, s, off + i, m).mul(inv).intoArray(s, off + i, m);
        }
    }
}
