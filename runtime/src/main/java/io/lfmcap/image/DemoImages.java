package io.lfmcap.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The small demo images bundled in the runtime jar (resources {@code io/lfmcap/demo-images/}, listed
 * with their sizes and contents in {@code images.txt}): generated drawings covering the processor's
 * cases (single view, resize, tiling, a very wide image, grayscale, RGBA), for the README demo,
 * {@code lfmcap caption --demo} style smoke runs and tests.
 */
public final class DemoImages {
    private static final String DIRECTORY = "/io/lfmcap/demo-images/";

    private DemoImages() {}

    /** File names of the demo images, in listing order. */
    public static List<String> list() {
        List<String> names = new ArrayList<>();
        for (String line : new String(read("images.txt"), StandardCharsets.UTF_8).split("\n")) {
            if (line.isBlank() || line.startsWith("#")) continue;
            names.add(line.split("\t", 2)[0].strip());
        }
        return List.copyOf(names);
    }

    /** The encoded bytes of demo image {@code name} (one of {@link #list()}). */
    public static byte[] bytes(String name) {
        if (!list().contains(name)) throw new IllegalArgumentException("no demo image named '" + name + "'; available: " + list());
        return read(name);
    }

    private static byte[] read(String file) {
        try (InputStream in = DemoImages.class.getResourceAsStream(DIRECTORY + file)) {
            if (in == null) throw new IllegalStateException("demo image resource " + DIRECTORY + file + " is missing from the jar");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read demo image resource " + DIRECTORY + file, e);
        }
    }
}
