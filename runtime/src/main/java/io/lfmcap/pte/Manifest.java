package io.lfmcap.pte;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lfmcap.model.DType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The named-data blob {@value #KEY}: what an exported file holds and the SHA-256 of every part, so a
 * reader can verify it without trusting the flatbuffer. It is the last segment of the {@code .pte},
 * so {@code file_sha256} can cover every byte before it: the header, the program, all other segments
 * and the padding.
 *
 * <pre>{@code
 * {
 *   "format": "lfmcap-pte", "format_version": 1,
 *   "family": "LFM2.5-VL", "variant": "450M",
 *   "weights_file": null | "model.ptd",    // name at export; loaders look for <pte name>.ptd
 *   "weights_file_sha256": null | "<hex>", // the whole .ptd
 *   "file_sha256": "<hex>",                // this .pte, bytes [0, file_sha256_bytes)
 *   "file_sha256_bytes": 123,              // = file offset of this manifest
 *   "blobs": [ { "key": "model.language_model.embed_tokens.weight", "file": "pte" | "ptd",
 *                "offset": 4096, "size": 131072, "sha256": "<hex>",
 *                "dtype": "BF16", "shape": [65536, 1024] },          // dtype/shape for weights only
 *              { "key": "lfmcap/config.json", ... } ]
 * }
 * }</pre>
 */
record Manifest(String family, String variant, String weightsFile, String weightsFileSha256,
                String fileSha256, long fileSha256Bytes, List<Blob> blobs) {
    static final String KEY = "lfmcap/manifest.json";
    static final String FORMAT = "lfmcap-pte";
    static final int FORMAT_VERSION = 1;
    /** A manifest larger than this is refused before it is read (LFM2-VL needs about 200 KB). */
    static final int MAX_BYTES = 16 << 20;
    /** Stands for a SHA-256 not computed yet: same length, so the manifest's size is known up front. */
    static final String PENDING_SHA256 = "0".repeat(64);

    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

    /** Where a blob lives: which file, absolute offset, size, checksum; tensor dtype and shape for weights. */
    record Blob(String key, String file, long offset, long size, String sha256, DType dtype, List<Long> shape) {
        static final String IN_PTE = "pte";
        static final String IN_PTD = "ptd";

        boolean isTensor() { return dtype != null; }

        Blob withSha256(String sha) { return new Blob(key, file, offset, size, sha, dtype, shape); }
    }

    byte[] toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("format_version", FORMAT_VERSION);
        root.put("family", family);
        root.put("variant", variant);
        root.put("weights_file", weightsFile);
        root.put("weights_file_sha256", weightsFileSha256);
        root.put("file_sha256", fileSha256);
        root.put("file_sha256_bytes", fileSha256Bytes);
        ArrayNode list = root.putArray("blobs");
        for (Blob b : blobs) {
            ObjectNode o = list.addObject();
            o.put("key", b.key());
            o.put("file", b.file());
            o.put("offset", b.offset());
            o.put("size", b.size());
            o.put("sha256", b.sha256());
            if (b.isTensor()) {
                o.put("dtype", b.dtype().safetensorsName());
                ArrayNode shape = o.putArray("shape");
                b.shape().forEach(shape::add);
            }
        }
        try {
            return (JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize the manifest", e);
        }
    }

    /** Parses and checks a manifest; every problem is a {@link PteFormatException} naming {@code source}. */
    static Manifest parse(byte[] json, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw bad(source, "is not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (root == null || !root.isObject()) throw bad(source, "is not a JSON object");
        if (!FORMAT.equals(root.path("format").asText(null))) throw bad(source, "has format '" + root.path("format").asText("") + "', expected '" + FORMAT + "'");
        int version = root.path("format_version").asInt(-1);
        if (version != FORMAT_VERSION) {
            throw bad(source, "has format_version " + root.path("format_version")
                    + "; this lfmcap reads version " + FORMAT_VERSION + ". Export the model again with this lfmcap version");
        }
        List<Blob> blobs = new ArrayList<>();
        JsonNode list = root.path("blobs");
        if (!list.isArray()) throw bad(source, "lacks its blobs list");
        for (JsonNode o : list) {
            String key = text(o, "key", source);
            String file = text(o, "file", source);
            if (!file.equals(Blob.IN_PTE) && !file.equals(Blob.IN_PTD)) throw bad(source, "places '" + key + "' in unknown file '" + file + "'");
            DType dtype = null;
            List<Long> shape = null;
            if (o.has("dtype")) {
                try {
                    dtype = DType.fromSafetensors(text(o, "dtype", source));
                } catch (IllegalArgumentException e) {
                    throw bad(source, "gives '" + key + "' " + e.getMessage());
                }
                shape = new ArrayList<>();
                if (!o.path("shape").isArray() || o.path("shape").size() > ProgramCodec.MAX_RANK) throw bad(source, "gives '" + key + "' no valid shape");
                for (JsonNode d : o.path("shape")) {
                    if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) throw bad(source, "gives '" + key + "' a negative or non-integer dimension");
                    shape.add(d.asLong());
                }
            }
            blobs.add(new Blob(key, file, number(o, "offset", source), number(o, "size", source), sha(o, "sha256", source), dtype, shape));
        }
        String weightsFile = root.path("weights_file").isTextual() ? root.get("weights_file").asText() : null;
        return new Manifest(text(root, "family", source), text(root, "variant", source), weightsFile,
                weightsFile == null ? null : sha(root, "weights_file_sha256", source),
                sha(root, "file_sha256", source), number(root, "file_sha256_bytes", source), blobs);
    }

    private static String text(JsonNode o, String field, String source) {
        JsonNode v = o.get(field);
        if (v == null || !v.isTextual()) throw bad(source, "lacks the text field '" + field + "'");
        return v.asText();
    }

    private static long number(JsonNode o, String field, String source) {
        JsonNode v = o.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) throw bad(source, "lacks the non-negative integer '" + field + "'");
        return v.asLong();
    }

    private static String sha(JsonNode o, String field, String source) {
        String s = text(o, field, source);
        if (!SHA256_HEX.matcher(s).matches()) throw bad(source, "has '" + field + "' that is not a SHA-256 in lowercase hex");
        return s;
    }

    private static PteFormatException bad(String source, String what) {
        return new PteFormatException(source + ": the manifest (" + KEY + ") " + what + ".");
    }
}
