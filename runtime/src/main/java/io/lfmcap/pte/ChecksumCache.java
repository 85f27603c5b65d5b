package io.lfmcap.pte;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * JVM-wide record of model files whose checksums were verified, keyed by what identifies a file's
 * content on an executor: absolute path, size and modification time of each file (the .pte and its
 * .ptd). A file replaced or touched gets a new key and is verified again. When several threads verify
 * the same files at once, one hashes and the others wait for its result. Failures are not cached.
 * Bounded: the least recently used of more than {@value #MAX_ENTRIES} entries is dropped.
 */
final class ChecksumCache {
    static final int MAX_ENTRIES = 256;

    /** Identity of one file's content. */
    record FileKey(String absolutePath, long size, FileTime modified) {
        static FileKey of(Path path) {
            try {
                BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
                return new FileKey(path.toAbsolutePath().normalize().toString(), a.size(), a.lastModifiedTime());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the attributes of " + path + ": " + e.getMessage(), e);
            }
        }
    }

    private static final Map<List<FileKey>, CompletableFuture<Long>> VERIFIED =
            new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<List<FileKey>, CompletableFuture<Long>> eldest) {
                    return size() > MAX_ENTRIES;
                }
            };

    private ChecksumCache() {}

    /** The outcome of one call: whether an earlier verification was reused, and bytes hashed now. */
    record Outcome(boolean cached, long bytesHashed) {}

    /**
     * Runs {@code verify} (which returns the bytes it hashed and throws on a mismatch) unless the
     * same files were verified before in this JVM.
     */
    static Outcome verifyOnce(List<FileKey> key, Supplier<Long> verify) {
        CompletableFuture<Long> result;
        boolean mine = false;
        synchronized (VERIFIED) {
            result = VERIFIED.get(key);
            if (result == null) {
                result = new CompletableFuture<>();
                VERIFIED.put(key, result);
                mine = true;
            }
        }
        if (!mine) {
            try {
                result.join();
                return new Outcome(true, 0);
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        }
        try {
            long bytes = verify.get();
            result.complete(bytes);
            return new Outcome(false, bytes);
        } catch (RuntimeException | Error e) {
            synchronized (VERIFIED) {
                VERIFIED.remove(key, result);
            }
            result.completeExceptionally(e);
            throw e;
        }
    }
}
