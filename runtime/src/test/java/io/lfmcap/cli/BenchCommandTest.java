package io.lfmcap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BenchCommandTest extends CommandTestSupport {
    @Test
    void greedyByDefault() {
        assertEquals(0, bench(), err.toString());
        assertTrue(out.toString().contains("| max batch 2 | greedy"), out.toString());
        assertTrue(out.toString().contains("| images/s |"), out.toString());
        assertTrue(out.toString().contains("| JVM GC ms (collections), timed run: "), out.toString());
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
        return run(Lfmcap.commandLine(), args);
    }
}
