package io.lfmcap.jobs;

import io.lfmcap.image.DemoImages;
import io.lfmcap.model.tiny.TinyCheckpoint;
import io.lfmcap.pte.ProgressListener;
import io.lfmcap.pte.PteExporter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The embedded default's inputs, made in a work folder: the tiny random-weight model (its checkpoint
 * written and exported to {@code tiny.pte}) and the bundled demo images, plus one truncated JPEG to
 * show an error row. The captions of a random-weight model are word salad; the point is the plumbing.
 */
final class DemoInputs {
    /** The broken file added to the demo images. */
    static final String BROKEN_IMAGE = "broken-truncated.jpg";

    record Prepared(Path model, Path imagesDir, int images) {}

    private DemoInputs() {}

    static Prepared prepare(Path dir) {
        try {
            Path images = dir.resolve("images");
            Files.createDirectories(images);
            for (String name : DemoImages.list()) Files.write(images.resolve(name), DemoImages.bytes(name));
            byte[] jpeg = DemoImages.bytes(DemoImages.list().get(0));
            Files.write(images.resolve(BROKEN_IMAGE), Arrays.copyOf(jpeg, jpeg.length / 4));

            Path checkpoint = dir.resolve("tiny-checkpoint");
            TinyCheckpoint.write(checkpoint, TinyCheckpoint.Variant.LFM2_5_VL, TinyCheckpoint.DEFAULT_SEED);
            Path pte = PteExporter.export(checkpoint, dir.resolve("tiny.pte"), false, ProgressListener.NONE).pte();
            return new Prepared(pte.toAbsolutePath(), images.toAbsolutePath(), DemoImages.list().size() + 1);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the demo in " + dir + ": " + e.getMessage(), e);
        }
    }
}
