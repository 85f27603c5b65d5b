package io.lfmcap.engine;

/**
 * How the next token is chosen, in transformers' processor order: repetition penalty over the whole
 * sequence (prompt and image tokens included), then temperature, then top-p, then min-p, then a draw
 * (docs/model-lfm2-vl.md section 8). {@code temperature == 0} means greedy (argmax, lowest id on ties).
 */
public record SamplingParams(double temperature, double topP, double minP, double repetitionPenalty, long seed) {

    public static final SamplingParams GREEDY = new SamplingParams(0, 1, 0, 1, 0);

    /** LiquidAI's recommendation for LFM2-VL / LFM2.5-VL (model cards). */
    public static SamplingParams recommended(long seed) { return new SamplingParams(0.1, 1.0, 0.15, 1.05, seed); }

    public SamplingParams {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        if (!(minP >= 0 && minP < 1)) throw new IllegalArgumentException("min-p must be in [0, 1), got " + minP);
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) throw new IllegalArgumentException("repetition penalty must be > 0, got " + repetitionPenalty);
    }

    public boolean greedy() { return temperature == 0; }
}
