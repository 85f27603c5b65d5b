package io.lfmcap.cli;

import io.lfmcap.model.tiny.TinyCheckpoint;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code lfmcap tiny-model}: writes the project's own tiny random-weight checkpoint (for demos and tests). */
@Command(name = "tiny-model", mixinStandardHelpOptions = true,
        description = {"Write a tiny LFM2-VL checkpoint with deterministic random weights: the real architecture",
                "at small dimensions, a real tokenizer and processor config. Captions are gibberish by design."})
final class TinyModelCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--out", required = true, description = "Folder to write (created).")
    Path out;

    @Option(names = "--variant", defaultValue = "v2.5", description = "v1 (LFM2-VL: projector LayerNorm) or v2.5 (LFM2.5-VL). Default: ${DEFAULT-VALUE}.")
    String variant;

    @Option(names = "--seed", defaultValue = "42", description = "Weight seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Override
    public Integer call() {
        TinyCheckpoint.write(out, TinyCheckpoint.Variant.parse(variant), seed);
        spec.commandLine().getOut().println("wrote tiny " + variant + " checkpoint to " + out);
        return 0;
    }
}
