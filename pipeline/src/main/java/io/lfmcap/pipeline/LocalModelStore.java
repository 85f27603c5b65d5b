package io.lfmcap.pipeline;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Executor-local copies of models: {@code <root>/<digest>/<name>}, written once through a temporary
 * folder and an atomic rename, and checked against the digest the driver computed. A copy that is
 * already there (another executor JVM sharing the folder) is verified and reused.
 */
final class LocalModelStore {
    private final Path root;

    LocalModelStore(Path root) {
        this.root = root;
    }

    /** Opens entry {@code index} of the model. */
    @FunctionalInterface
    interface Source {
        InputStream open(int index) throws IOException;
    }

    /** The local copy of {@code files}, written from {@code source} unless a verified copy exists. */
    Path copy(ModelFiles files, String digest, Source source) throws IOException {
        Path home = root.resolve(digest);
        Path target = home.resolve(files.name());
        if (Files.exists(target)) {
            if (digestOf(target, files).equals(digest)) return target;
            deleteTree(home);
        }
        Files.createDirectories(root);
        Path staging = root.resolve(".staging-" + digest + "-" + UUID.randomUUID());
        Path stagedTarget = staging.resolve(files.name());
        try {
            List<String> digests = new ArrayList<>();
            for (int i = 0; i < files.entries().size(); i++) {
                Path out = files.local(stagedTarget, files.entries().get(i));
                Files.createDirectories(out.getParent());
                try (InputStream in = source.open(i); OutputStream os = Files.newOutputStream(out)) {
                    digests.add(Sha256.copy(in, os));
                }
            }
            check(files, Sha256.modelDigest(files, digests), digest, "copied to " + target);
            try {
                Files.move(staging, home, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException | AtomicMoveNotSupportedException raced) {
                // Another JVM on this host finished first: use its copy if it is sound.
                check(files, digestOf(target, files), digest, "found at " + target);
            }
            return target;
        } finally {
            deleteTree(staging);
        }
    }

    /** Checks a model already on local disk (a shared local path, a file Spark fetched). */
    static void verify(Path local, ModelFiles files, String digest) throws IOException {
        check(files, digestOf(local, files), digest, "at " + local);
    }

    static String digestOf(Path local, ModelFiles files) throws IOException {
        List<String> digests = new ArrayList<>();
        for (ModelFiles.Entry e : files.entries()) {
            Path p = files.local(local, e);
            try (InputStream in = Files.newInputStream(p)) {
                digests.add(Sha256.copy(in, null));
            }
        }
        return Sha256.modelDigest(files, digests);
    }

    private static void check(ModelFiles files, String actual, String expected, String where) {
        if (!actual.equals(expected))
            throw new ModelChecksumException("model " + files.uri() + " " + where + " has SHA-256 " + actual + " but the driver expected "
                    + expected + ": the model changed after the job started, or the copy is corrupt; make sure nothing rewrites it and rerun");
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
