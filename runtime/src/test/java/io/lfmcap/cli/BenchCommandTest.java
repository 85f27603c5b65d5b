package io.lfmcap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.model.tiny.TinyCheckpoint;
import io.lfmcap.model.tiny.TinyCheckpoint.Variant;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class BenchCommandTest {
    @TempDir
    static Path tmp;
    static Path checkpoint;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @BeforeAll
    static void tinyCheckpoint() {
        checkpoint = tmp.resolve("ckpt");
        TinyCheckpoint.write(checkpoint, Variant.LFM2_5_VL, TinyCheckpoint.DEFAULT_SEED);
    }

    @Test
    void greedyByDefault() {
        assertEquals(0, bench(), err.toString());
        assertTrue(out.toString().contains("| max batch 2 | greedy"), out.toString());
        assertTrue(out.toString().contains("| images/s |"), out.toString());
    }

    @Test
    void samplingFlagsSampleEveryRequestAndSayHow() {
        assertEquals(0, bench("--temperature", "0.1", "--min-p", "0.15", "--repetition-penalty", "1.05", "--seed", "7"), err.toString());
        assertTrue(out.toString().contains("sampled (temperature 0.1, top-p 1.0, min-p 0.15, repetition penalty 1.05, seed 7)"), out.toString());
        assertTrue(out.toString().contains("| generated tok/s"), out.toString());
    }

    private int bench(String... sampling) {
        String[] base = {"bench", "--model", checkpoint.toString(), "--backend", "cpu", "--images", "2", "--warmup", "0", "--new-tokens", "3",
                "--max-batch", "2"};
        String[] args = new String[base.length + sampling.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(sampling, 0, args, base.length, sampling.length);
        CommandLine cl = Lfmcap.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }
}
