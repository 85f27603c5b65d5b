package io.lfmcap.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The weights of a Hugging Face checkpoint folder: {@code model.safetensors}, or
 * {@code model.safetensors.index.json} naming each tensor's shard. With an index, the index is
 * authoritative (as in transformers): every listed tensor must be in its shard, and tensors a shard
 * holds but the index does not list are not part of the model.
 *
 * <p>Tensors are named as in the published (hub) checkpoints. transformers 5.x's {@code save_pretrained}
 * writes the SigLIP2 tower one level flatter ({@code model.vision_tower.encoder...} instead of
 * {@code model.vision_tower.vision_model.encoder...}; its loader maps the hub names onto that), so such
 * names are read under their hub name: both forms load.
 */
public final class CheckpointWeights implements WeightStore {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private static final String FLAT_VISION = "model.vision_tower.";
    private static final String HUB_VISION = WeightSchema.VISION;

    private final Path dir;
    private final List<SafetensorsFile> files;
    /** hub name -> the file holding it */
    private final Map<String, SafetensorsFile> owner;
    /** hub name -> the name inside the file, where they differ */
    private final Map<String, String> fileNames = new LinkedHashMap<>();

    private CheckpointWeights(Path dir, List<SafetensorsFile> files, Map<String, SafetensorsFile> byFileName) {
        this.dir = dir;
        this.files = files;
        Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
        for (Map.Entry<String, SafetensorsFile> e : byFileName.entrySet()) {
            String hub = hubName(e.getKey());
            if (owner.put(hub, e.getValue()) != null)
                throw new ModelFileException(dir + " holds tensor '" + hub + "' twice (under both the hub name and transformers 5's flat vision name)");
            if (!hub.equals(e.getKey())) fileNames.put(hub, e.getKey());
        }
        this.owner = Collections.unmodifiableMap(owner);
    }

    /** The published name of a tensor saved as {@code fileName}. */
    static String hubName(String fileName) {
        if (fileName.startsWith(FLAT_VISION) && !fileName.startsWith(HUB_VISION))
            return HUB_VISION + fileName.substring(FLAT_VISION.length());
        return fileName;
    }

    /** Opens the weights of the checkpoint folder {@code dir}. */
    public static CheckpointWeights open(Path dir) {
        Path index = dir.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) return openSharded(dir, index);
        Path single = dir.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            SafetensorsFile file = SafetensorsFile.open(single);
            Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
            for (String name : file.names()) owner.put(name, file);
            return new CheckpointWeights(dir, List.of(file), owner);
        }
        throw new ModelFileException(dir + " holds neither " + SINGLE_FILE + " nor " + INDEX_FILE + ": not a Hugging Face checkpoint folder with safetensors weights");
    }

    /**
     * The weight files of {@code dir} (the single file, or the shards named by the index), sorted by
     * file name: what {@link CheckpointPackage#sha256()} digests.
     */
    public List<Path> files() {
        List<Path> out = new ArrayList<>();
        for (SafetensorsFile f : files) out.add(f.path());
        out.sort((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()));
        return out;
    }

    @Override
    public Set<String> names() { return owner.keySet(); }

    @Override
    public MappedTensor get(String name) {
        SafetensorsFile f = owner.get(name);
        if (f == null) throw new ModelFileException("the weights of " + dir + " have no tensor '" + name + "'");
        return f.get(fileNames.getOrDefault(name, name));
    }

    @Override
    public String source() { return dir.toString(); }

    @Override
    public void close() {
        RuntimeException first = null;
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }

    private static CheckpointWeights openSharded(Path dir, Path index) {
        Map<String, String> weightMap = readIndex(index);
        Map<String, SafetensorsFile> shards = new TreeMap<>();
        Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
        Path base = dir.toAbsolutePath().normalize();
        try {
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                String shardName = e.getValue();
                SafetensorsFile shard = shards.get(shardName);
                if (shard == null) {
                    Path shardPath = base.resolve(shardName).normalize();
                    if (!base.equals(shardPath.getParent()) || !Files.isRegularFile(shardPath))
                        throw new ModelFileException(index + " maps '" + e.getKey() + "' to shard '" + shardName + "', which is not a file in " + dir);
                    shard = SafetensorsFile.open(shardPath);
                    shards.put(shardName, shard);
                }
                if (!shard.names().contains(e.getKey()))
                    throw new ModelFileException(index + " lists '" + e.getKey() + "' in " + shardName + ", but that shard does not hold it");
                owner.put(e.getKey(), shard);
            }
        } catch (RuntimeException e) {
            shards.values().forEach(SafetensorsFile::close);
            throw e;
        }
        return new CheckpointWeights(dir, new ArrayList<>(shards.values()), owner);
    }

    /** The {@code weight_map} of a sharded checkpoint's index: tensor name -> shard file name. */
    private static Map<String, String> readIndex(Path index) {
        String text;
        try {
            text = Files.readString(index, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + index + ": " + e.getMessage(), e);
        }
        JsonNode root;
        try {
            root = JsonFields.MAPPER.readTree(text);
        } catch (IOException e) {
            throw new ModelFileException(index + " is not valid JSON: " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty())
            throw new ModelFileException(index + " has no \"weight_map\" object naming each tensor's shard");
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual())
                throw new ModelFileException(index + ": weight_map entry '" + e.getKey() + "' must be a shard file name");
            out.put(e.getKey(), e.getValue().textValue());
        }
        return out;
    }
}
