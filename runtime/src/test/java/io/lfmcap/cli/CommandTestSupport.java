package io.lfmcap.cli;

import io.lfmcap.model.tiny.TinyCheckpoint;
import io.lfmcap.model.tiny.TinyCheckpoint.Variant;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** What the command tests share: a tiny LFM2.5-VL checkpoint in a temporary folder, and a run with captured output. */
abstract class CommandTestSupport {
    @TempDir
    static Path tmp;
    static Path checkpoint;

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    @BeforeAll
    static void tinyCheckpoint() {
        checkpoint = tmp.resolve("ckpt");
        TinyCheckpoint.write(checkpoint, Variant.LFM2_5_VL, TinyCheckpoint.DEFAULT_SEED);
    }

    /** Runs {@code commandLine} with {@code args}, its output and errors into {@link #out} and {@link #err}. */
    int run(CommandLine commandLine, String... args) {
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        return commandLine.execute(args);
    }
}
