package io.lfmcap.pipeline;

import io.lfmcap.model.tiny.TinyCheckpoint;
import io.lfmcap.pte.ProgressListener;
import io.lfmcap.pte.PteExporter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The tiny random-weight model exported to a .pte, made once per test JVM. */
final class TinyModel {
    private static Path pte;

    private TinyModel() {}

    static synchronized Path pte() {
        if (pte == null) {
            try {
                Path dir = Files.createTempDirectory("lfmcap-tiny-");
                Path checkpoint = dir.resolve("tiny-checkpoint");
                TinyCheckpoint.write(checkpoint, TinyCheckpoint.Variant.LFM2_5_VL, TinyCheckpoint.DEFAULT_SEED);
                pte = PteExporter.export(checkpoint, dir.resolve("tiny.pte"), false, ProgressListener.NONE).pte();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return pte;
    }
}
