package io.lfmcap.pte;

import io.lfmcap.model.ModelConfig;
import java.util.Locale;

/**
 * Which published model a checkpoint is, as recorded in an exported program.
 *
 * @param family  {@code LFM2-VL} or {@code LFM2.5-VL}
 * @param variant {@code 450M}, {@code 1.6B}, or {@code custom-<parameters>} for other shapes (test models)
 */
public record ModelIdentity(String family, String variant) {

    /**
     * From the architecture (docs/model-lfm2-vl.md sections 1.1-1.3): LFM2.5-VL dropped the projector
     * LayerNorm ({@code projector_use_layernorm: false}); the 450M models pair a 1024-wide decoder with
     * the 768-wide SigLIP2 base tower, the 1.6B models a 2048-wide decoder with the 1152-wide so400m.
     */
    static ModelIdentity of(ModelConfig cfg, long parameterCount) {
        String family = cfg.projectorUseLayerNorm() ? "LFM2-VL" : "LFM2.5-VL";
        int text = cfg.text().hiddenSize();
        int vision = cfg.vision().hiddenSize();
        String variant;
        if (text == 1024 && vision == 768) variant = "450M";
        else if (text == 2048 && vision == 1152) variant = "1.6B";
        else variant = "custom-" + humanCount(parameterCount);
        return new ModelIdentity(family, variant);
    }

    static String humanCount(long n) {
        if (n >= 1_000_000_000L) return String.format(Locale.ROOT, "%.1fB", n / 1e9);
        if (n >= 1_000_000L) return String.format(Locale.ROOT, "%.1fM", n / 1e6);
        if (n >= 1_000L) return String.format(Locale.ROOT, "%.1fK", n / 1e3);
        return Long.toString(n);
    }
}
