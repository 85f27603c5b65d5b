package io.lfmcap.pipeline;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.SequenceInputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The bytes of a model's files as a broadcast value: each file a list of chunks of at most
 * {@link #CHUNK_BYTES}, since a Java array (and a Spark block) stops short of 2 GB. Spark's torrent
 * broadcast cuts the serialized value into {@code spark.broadcast.blockSize} pieces on top of this.
 */
final class ModelBytes implements Serializable {
    private static final long serialVersionUID = 1L;
    static final int CHUNK_BYTES = 64 << 20;

    private final List<byte[][]> files;

    private ModelBytes(List<byte[][]> files) {
        this.files = files;
    }

    /** Reads every entry of {@code files} through {@code open}, in entry order. */
    static ModelBytes read(ModelFiles files, EntryOpener open, List<String> digestsOut) throws IOException {
        List<byte[][]> chunks = new ArrayList<>();
        for (ModelFiles.Entry e : files.entries()) {
            byte[][] fileChunks = new byte[(int) ((e.length() + CHUNK_BYTES - 1) / CHUNK_BYTES)][];
            var md = Sha256.newDigest();
            try (InputStream in = open.open(e)) {
                long left = e.length();
                for (int c = 0; c < fileChunks.length; c++) {
                    int size = (int) Math.min(CHUNK_BYTES, left);
                    fileChunks[c] = in.readNBytes(size);
                    if (fileChunks[c].length != size)
                        throw new IOException(files.source(e) + " ended after " + (e.length() - left + fileChunks[c].length)
                                + " of " + e.length() + " bytes while it was read (was it being written?)");
                    md.update(fileChunks[c]);
                    left -= size;
                }
            }
            digestsOut.add(java.util.HexFormat.of().formatHex(md.digest()));
            chunks.add(fileChunks);
        }
        return new ModelBytes(chunks);
    }

    /** The bytes of entry {@code index}. */
    InputStream open(int index) {
        List<InputStream> parts = new ArrayList<>();
        for (byte[] chunk : files.get(index)) parts.add(new ByteArrayInputStream(chunk));
        return new SequenceInputStream(Collections.enumeration(parts));
    }

    /** Opens one model file for reading. */
    @FunctionalInterface
    interface EntryOpener {
        InputStream open(ModelFiles.Entry entry) throws IOException;
    }
}
