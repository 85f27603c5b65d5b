package io.lfmcap.cli;

import io.lfmcap.engine.EngineOptions;
import picocli.CommandLine.Option;

/** Engine options shared by the commands that run the model. */
final class EngineArgs {
    @Option(names = "--backend", defaultValue = "auto", description = "Device: auto (CUDA when usable, else CPU), cpu, cuda. Default: ${DEFAULT-VALUE}.")
    EngineOptions.Backend backend;

    @Option(names = "--threads", description = "CPU threads for the math and preprocessing. Default: all cores.")
    Integer threads;

    @Option(names = "--max-batch", defaultValue = "8", description = "Most sequences decoded together. Default: ${DEFAULT-VALUE}.")
    int maxBatch;

    @Option(names = "--device", defaultValue = "0", description = "GPU index for the CUDA backend. Default: ${DEFAULT-VALUE}.")
    int device;

    @Option(names = "--max-image-pixels", defaultValue = "89478485",
            description = "Refuse images whose header declares more pixels (decompression bombs). Default: ${DEFAULT-VALUE}.")
    long maxImagePixels;

    EngineOptions toOptions() {
        EngineOptions o = EngineOptions.defaults().withBackend(backend).withMaxBatch(maxBatch).withDeviceIndex(device)
                .withMaxImagePixels(maxImagePixels);
        return threads == null ? o : o.withThreads(threads);
    }
}
