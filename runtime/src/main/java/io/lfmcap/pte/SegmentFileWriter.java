package io.lfmcap.pte;

import io.lfmcap.model.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.function.LongConsumer;

/**
 * Streams one segmented file (a {@code .pte} or {@code .ptd}): the spliced flatbuffer, zero padding,
 * then each segment at its offset. Tensor data is copied in chunks of {@link #CHUNK} bytes, so memory
 * stays flat whatever the model size. Computes the SHA-256 of each segment and a running SHA-256 of
 * every byte written.
 *
 * <p>Writes to {@code <target>.part} and renames it to the target on {@link #commit()}, so a failed
 * or interrupted export never leaves a file that looks complete; {@link #close()} without commit
 * deletes the partial file.
 */
final class SegmentFileWriter implements AutoCloseable {
    static final int CHUNK = 4 << 20;

    private final Path target;
    private final Path partial;
    private final FileChannel out;
    private final MessageDigest fileDigest = sha256();
    private final byte[] chunk = new byte[CHUNK];
    private long position;
    private boolean committed;

    private SegmentFileWriter(Path target, Path partial, FileChannel out) {
        this.target = target;
        this.partial = partial;
        this.out = out;
    }

    static SegmentFileWriter create(Path target) {
        Path partial = target.resolveSibling(target.getFileName() + ".part");
        try {
            return new SegmentFileWriter(target, partial, FileChannel.open(partial,
                    StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + partial + ": " + e.getMessage(), e);
        }
    }

    /** Appends bytes; returns their SHA-256 (hex). */
    String write(byte[] bytes) {
        MessageDigest digest = sha256();
        digest.update(bytes);
        fileDigest.update(bytes);
        writeFully(ByteBuffer.wrap(bytes));
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Appends zeros up to file offset {@code offset}. */
    void padTo(long offset) {
        if (offset < position) throw new IllegalStateException("cannot pad backwards from " + position + " to " + offset);
        byte[] zeros = new byte[(int) (offset - position)];
        fileDigest.update(zeros);
        writeFully(ByteBuffer.wrap(zeros));
    }

    /**
     * Appends the raw bytes of {@code tensor} as stored (no conversion), reporting each chunk's length
     * to {@code written}; returns their SHA-256 (hex).
     */
    String write(Tensor tensor, LongConsumer written) {
        MessageDigest digest = sha256();
        long size = tensor.byteSize();
        for (long done = 0; done < size; ) {
            int n = (int) Math.min(CHUNK, size - done);
            tensor.rawBytes(done, n).get(chunk, 0, n);
            digest.update(chunk, 0, n);
            fileDigest.update(chunk, 0, n);
            writeFully(ByteBuffer.wrap(chunk, 0, n));
            done += n;
            written.accept(n);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** SHA-256 (hex) of every byte written so far. */
    String fileSha256() {
        try {
            return HexFormat.of().formatHex(((MessageDigest) fileDigest.clone()).digest());
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("SHA-256 digest cannot be cloned", e);
        }
    }

    /** Flushes to disk and moves the finished file to its target name. */
    void commit() {
        try {
            out.force(true);
            out.close();
            Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            committed = true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot finish " + target + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        if (committed) return;
        try {
            out.close();
            Files.deleteIfExists(partial);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the partial file " + partial + ": " + e.getMessage(), e);
        }
    }

    private void writeFully(ByteBuffer b) {
        try {
            while (b.hasRemaining()) position += out.write(b);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + partial + " at byte " + position + ": " + e.getMessage(), e);
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM lacks SHA-256", e);
        }
    }
}
