package io.lfmcap.pipeline;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/** SHA-256 helpers: streams, and the digest that names a set of model files. */
final class Sha256 {
    private static final int BUFFER = 1 << 20;

    private Sha256() {}

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    /** Reads {@code in} to its end, copying to {@code out} when not null; returns the hex digest. */
    static String copy(InputStream in, OutputStream out) throws IOException {
        MessageDigest md = newDigest();
        byte[] buf = new byte[BUFFER];
        int n;
        while ((n = in.read(buf)) > 0) {
            md.update(buf, 0, n);
            if (out != null) out.write(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * The digest of a model given each file's SHA-256 in {@link ModelFiles#entries()} order: a lone
     * file's own SHA-256, else (a folder, a .pte with its .ptd) the SHA-256 of the manifest, one
     * {@code "<sha256>  <path>\n"} line per file (the {@code sha256sum} format), in entry order.
     */
    static String modelDigest(ModelFiles files, List<String> entryDigests) {
        if (!files.folder() && entryDigests.size() == 1) return entryDigests.get(0);
        StringBuilder manifest = new StringBuilder();
        for (int i = 0; i < entryDigests.size(); i++)
            manifest.append(entryDigests.get(i)).append("  ").append(files.entries().get(i).relativePath()).append('\n');
        return HexFormat.of().formatHex(newDigest().digest(manifest.toString().getBytes(StandardCharsets.UTF_8)));
    }
}
