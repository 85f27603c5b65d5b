package io.lfmcap.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One {@code .safetensors} file, mapped: an 8-byte little-endian header length N, N bytes of JSON
 * ({@code "name": {"dtype", "shape", "data_offsets": [begin, end]}} plus an optional
 * {@code "__metadata__"} string map), then the data, offsets relative to its start. The header is
 * checked in full on open (sane size, offsets inside the file, sizes matching shapes, no overlaps);
 * tensors are views over the mapping.
 */
public final class SafetensorsFile implements WeightStore {
    /** Headers above this are refused as corrupt (the reference implementation's limit). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA_KEY = "__metadata__";
    private static final JsonMapper STRICT_JSON = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private final MappedFile file;
    private final Map<String, MappedTensor> tensors;
    private final Map<String, String> metadata;
    private final long dataStart;

    private SafetensorsFile(MappedFile file, Map<String, MappedTensor> tensors, Map<String, String> metadata, long dataStart) {
        this.file = file;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
        this.dataStart = dataStart;
    }

    public static SafetensorsFile open(Path path) {
        return open(path, MappedFile.DEFAULT_WINDOW_SIZE);
    }

    /** Opens with a given mapping window size (see {@link MappedFile#open(Path, long)}). */
    public static SafetensorsFile open(Path path, long windowSize) {
        MappedFile file = MappedFile.open(path, windowSize);
        try {
            return parse(file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    public Path path() { return file.path(); }

    /** The {@code __metadata__} strings (e.g. {@code "format": "pt"}); empty when absent. */
    public Map<String, String> metadata() { return metadata; }

    /** Absolute offset of the data section (8 + header length). */
    public long dataStart() { return dataStart; }

    @Override
    public Set<String> names() { return tensors.keySet(); }

    @Override
    public MappedTensor get(String name) {
        MappedTensor t = tensors.get(name);
        if (t == null) throw new ModelFileException(file.path() + " has no tensor '" + name + "'");
        return t;
    }

    @Override
    public String source() { return file.path().toString(); }

    @Override
    public void close() { file.close(); }

    private static SafetensorsFile parse(MappedFile file) {
        Path path = file.path();
        if (file.size() < 8)
            throw corrupt(path, "is truncated: " + file.size() + " bytes, but a safetensors file starts with an 8-byte header length");
        long headerLength = file.slice(0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES)
            throw corrupt(path, "declares a " + Long.toUnsignedString(headerLength) + "-byte header, over the " + MAX_HEADER_BYTES + "-byte limit: not a safetensors file or corrupt");
        if (8 + headerLength > file.size())
            throw corrupt(path, "is truncated: the header needs " + headerLength + " bytes after the length field, the file has " + (file.size() - 8));
        JsonNode root;
        try {
            root = STRICT_JSON.readTree(file.readBytes(8, (int) headerLength));
        } catch (JsonProcessingException e) {
            throw new ModelFileException(path + ": safetensors header is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ModelFileException(path + ": cannot read the safetensors header: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) throw corrupt(path, "has a safetensors header that is not a JSON object");

        long dataStart = 8 + headerLength;
        long dataSize = file.size() - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, MappedTensor> tensors = new LinkedHashMap<>();
        List<long[]> extents = new ArrayList<>(); // {begin, end, index} for the overlap check
        List<String> order = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals(METADATA_KEY)) {
                readMetadata(path, e.getValue(), metadata);
                continue;
            }
            String name = e.getKey();
            JsonNode info = e.getValue();
            if (!info.isObject()) throw badTensor(path, name, "entry is not an object");
            DType dtype = dtype(path, name, info.get("dtype"));
            long[] shape = longs(path, name, info.get("shape"), "shape", -1);
            long[] offsets = longs(path, name, info.get("data_offsets"), "data_offsets", 2);
            long begin = offsets[0];
            long end = offsets[1];
            if (begin > end || end > dataSize)
                throw badTensor(path, name, "data_offsets [" + begin + ", " + end + "] lie outside the data section (" + dataSize + " bytes)");
            long expected = byteSize(path, name, shape, dtype);
            if (end - begin != expected)
                throw badTensor(path, name, "data_offsets span " + (end - begin) + " bytes but " + dtype + Tensor.shapeString(shape) + " needs " + expected);
            tensors.put(name, new MappedTensor(name, dtype, shape, file, dataStart + begin));
            extents.add(new long[] {begin, end, order.size()});
            order.add(name);
        }
        extents.sort(Comparator.<long[]>comparingLong(x -> x[0]).thenComparingLong(x -> x[1]));
        long[] previous = null;
        for (long[] x : extents) {
            if (x[0] == x[1]) continue; // empty tensors occupy nothing
            if (previous != null && x[0] < previous[1])
                throw corrupt(path, "has overlapping tensors '" + order.get((int) previous[2]) + "' [" + previous[0] + ", " + previous[1]
                        + ") and '" + order.get((int) x[2]) + "' [" + x[0] + ", " + x[1] + ")");
            previous = x;
        }
        return new SafetensorsFile(file, tensors, metadata, dataStart);
    }

    private static void readMetadata(Path path, JsonNode node, Map<String, String> out) {
        if (!node.isObject()) throw corrupt(path, "has a __metadata__ entry that is not an object of strings");
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> m = it.next();
            if (!m.getValue().isTextual()) throw corrupt(path, "has __metadata__ value '" + m.getKey() + "' that is not a string");
            out.put(m.getKey(), m.getValue().textValue());
        }
    }

    private static DType dtype(Path path, String name, JsonNode node) {
        if (node == null || !node.isTextual()) throw badTensor(path, name, "has no dtype string");
        try {
            return DType.fromSafetensors(node.textValue());
        } catch (IllegalArgumentException e) {
            throw badTensor(path, name, e.getMessage());
        }
    }

    /** A list of non-negative integers ({@code length} of them unless -1). */
    private static long[] longs(Path path, String name, JsonNode node, String field, int length) {
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length))
            throw badTensor(path, name, field + " must be a list of " + (length >= 0 ? length + " " : "") + "non-negative integers (found " + node + ")");
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0)
                throw badTensor(path, name, field + " must be a list of non-negative integers (found " + node + ")");
            out[i] = v.longValue();
        }
        return out;
    }

    private static long byteSize(Path path, String name, long[] shape, DType dtype) {
        try {
            long n = dtype.bytes();
            for (long d : shape) n = Math.multiplyExact(n, d);
            return n;
        } catch (ArithmeticException e) {
            throw badTensor(path, name, "shape " + Tensor.shapeString(shape) + " is too large");
        }
    }

    private static ModelFileException corrupt(Path path, String what) {
        return new ModelFileException(path + " " + what);
    }

    private static ModelFileException badTensor(Path path, String name, String what) {
        return new ModelFileException(path + ": safetensors header entry '" + name + "': " + what);
    }
}
