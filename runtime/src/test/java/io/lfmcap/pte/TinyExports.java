package io.lfmcap.pte;

import io.lfmcap.model.tiny.TinyCheckpoint;
import io.lfmcap.model.tiny.TinyCheckpoint.Variant;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Tiny checkpoint folders and their exports, made once per JVM (a few hundred KB each) and shared
 * read-only by the tests of this package. Tests that change a file copy it first.
 */
final class TinyExports {
    private static final Path ROOT;
    private static final Map<String, Path> MADE = new HashMap<>();

    static {
        try {
            ROOT = Files.createTempDirectory("lfmcap-pte-tests");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(ROOT)));
    }

    private TinyExports() {}

    /** The tiny checkpoint folder of {@code variant} (seed 42). */
    static synchronized Path checkpoint(Variant variant) {
        String key = "ckpt-" + variant;
        Path dir = MADE.get(key);
        if (dir == null) {
            dir = ROOT.resolve(key);
            TinyCheckpoint.write(dir, variant, TinyCheckpoint.DEFAULT_SEED);
            MADE.put(key, dir);
        }
        return dir;
    }

    /** The .pte of the tiny {@code variant} (weights inside, or in a .ptd beside it). */
    static synchronized Path pte(Variant variant, boolean externalWeights) {
        String key = "pte-" + variant + "-" + externalWeights;
        Path out = MADE.get(key);
        if (out == null) {
            Path dir = ROOT.resolve(key);
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            out = dir.resolve("model.pte");
            PteExporter.export(checkpoint(variant), out, externalWeights, ProgressListener.NONE);
            MADE.put(key, out);
        }
        return out;
    }

    static Path pte() { return pte(Variant.LFM2_5_VL, false); }

    private static void deleteTree(Path root) {
        try (var walk = Files.walk(root)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort at JVM exit
        }
    }
}
