package io.lfmcap.cli;

import io.lfmcap.engine.SamplingParams;
import picocli.CommandLine.Option;

/** Sampling flags; all defaults together mean greedy decoding, as transformers' generate() does by default. */
final class SamplingArgs {
    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default); LiquidAI recommends 0.1.")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus sampling mass. Default: ${DEFAULT-VALUE}.")
    double topP;

    @Option(names = "--min-p", defaultValue = "0", description = "Drop tokens below min-p x the top probability; LiquidAI recommends 0.15. Default: ${DEFAULT-VALUE}.")
    double minP;

    @Option(names = "--repetition-penalty", defaultValue = "1.0", description = "HF repetition penalty; LiquidAI recommends 1.05. Default: ${DEFAULT-VALUE}.")
    double repetitionPenalty;

    @Option(names = "--seed", defaultValue = "0", description = "Random seed for sampling. Default: ${DEFAULT-VALUE}.")
    long seed;

    SamplingParams toParams() {
        return new SamplingParams(temperature, topP, minP, repetitionPenalty, seed);
    }
}
