package io.lfmcap.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A Hugging Face checkpoint folder of LFM2-VL / LFM2.5-VL, opened and checked:
 * <ul>
 *   <li>{@code config.json} (required) -> {@link ModelConfig};</li>
 *   <li>{@code processor_config.json} and/or {@code preprocessor_config.json} (optional, merged over
 *       the class defaults) -> {@link ProcessorConfig}; its downsample factor and patch size must agree
 *       with the config's;</li>
 *   <li>{@code tokenizer.json} (required);</li>
 *   <li>the chat template (optional): {@code chat_template.jinja}, else {@code chat_template.json}'s
 *       {@code "chat_template"}, else {@code tokenizer_config.json}'s {@code "chat_template"} (a string,
 *       or a list of named templates of which "default" is taken);</li>
 *   <li>the weights ({@link CheckpointWeights}), validated against {@link WeightSchema}.</li>
 * </ul>
 * {@link #sha256()} is the SHA-256 of the weight files' bytes concatenated in file-name order (config
 * and tokenizer excluded): it identifies the weights, for provenance. It is computed on first call
 * (reading every byte once) and cached.
 */
public final class CheckpointPackage implements ModelPackage {
    public static final String CONFIG = "config.json";
    public static final String PROCESSOR_CONFIG = "processor_config.json";
    public static final String PREPROCESSOR_CONFIG = "preprocessor_config.json";
    public static final String TOKENIZER = "tokenizer.json";
    public static final String CHAT_TEMPLATE = "chat_template.jinja";

    private final Path dir;
    private final ModelConfig config;
    private final ProcessorConfig processor;
    private final byte[] tokenizerJson;
    private final String chatTemplate;
    private final CheckpointWeights weights;
    private volatile String sha256;

    private CheckpointPackage(Path dir, ModelConfig config, ProcessorConfig processor, byte[] tokenizerJson,
                              String chatTemplate, CheckpointWeights weights) {
        this.dir = dir;
        this.config = config;
        this.processor = processor;
        this.tokenizerJson = tokenizerJson;
        this.chatTemplate = chatTemplate;
        this.weights = weights;
    }

    /** Opens and validates the checkpoint folder {@code dir}; errors name the folder and the file. */
    public static CheckpointPackage open(Path dir) {
        if (!Files.isDirectory(dir)) throw new ModelFileException(dir + " is not a folder (expected a Hugging Face checkpoint folder)");
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configFile))
            throw new ModelFileException(dir + " has no " + CONFIG + ": not a Hugging Face checkpoint folder");
        ModelConfig config = ModelConfig.fromJson(readString(configFile), configFile.toString());
        ProcessorConfig processor = readProcessor(dir, config);
        Path tokenizerFile = dir.resolve(TOKENIZER);
        if (!Files.isRegularFile(tokenizerFile))
            throw new ModelFileException(dir + " has no " + TOKENIZER + " (the Hugging Face tokenizer file): copy it from the model repository into the folder");
        byte[] tokenizer = readBytes(tokenizerFile);
        String template = readChatTemplate(dir);

        CheckpointWeights weights = CheckpointWeights.open(dir);
        try {
            WeightSchema.of(config).validate(weights);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
        return new CheckpointPackage(dir, config, processor, tokenizer, template, weights);
    }

    @Override
    public ModelConfig config() { return config; }

    @Override
    public ProcessorConfig processor() { return processor; }

    @Override
    public byte[] tokenizerJson() { return tokenizerJson.clone(); }

    @Override
    public String chatTemplate() { return chatTemplate; }

    @Override
    public CheckpointWeights weights() { return weights; }

    /** The folder's name. */
    @Override
    public String name() {
        Path name = dir.toAbsolutePath().normalize().getFileName();
        return name == null ? dir.toString() : name.toString();
    }

    public Path dir() { return dir; }

    @Override
    public String sha256() {
        String s = sha256;
        if (s == null) {
            synchronized (this) {
                if (sha256 == null) sha256 = digestWeights();
                s = sha256;
            }
        }
        return s;
    }

    @Override
    public void close() { weights.close(); }

    @Override
    public String toString() { return "CheckpointPackage[" + dir + "]"; }

    private String digestWeights() {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM lacks SHA-256", e);
        }
        ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
        for (Path file : weights.files()) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                while (ch.read(buffer.clear()) >= 0) digest.update(buffer.flip());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + file + " for its checksum: " + e.getMessage(), e);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static ProcessorConfig readProcessor(Path dir, ModelConfig config) {
        Path processorFile = dir.resolve(PROCESSOR_CONFIG);
        Path preprocessorFile = dir.resolve(PREPROCESSOR_CONFIG);
        ProcessorConfig p;
        try {
            p = ProcessorConfig.fromJson(
                    Files.isRegularFile(processorFile) ? readString(processorFile) : null,
                    Files.isRegularFile(preprocessorFile) ? readString(preprocessorFile) : null);
        } catch (ModelFileException e) {
            throw new ModelFileException(dir + ": " + e.getMessage(), e);
        }
        if (p.downsampleFactor() != config.downsampleFactor())
            throw new ModelFileException(dir + ": the processor's downsample_factor " + p.downsampleFactor()
                    + " differs from config.json's " + config.downsampleFactor() + "; the image token counts would not match the projector");
        if (p.encoderPatchSize() != config.vision().patchSize())
            throw new ModelFileException(dir + ": the processor's encoder_patch_size " + p.encoderPatchSize()
                    + " differs from config.json's vision_config.patch_size " + config.vision().patchSize());
        return p;
    }

    private static String readChatTemplate(Path dir) {
        Path jinja = dir.resolve(CHAT_TEMPLATE);
        if (Files.isRegularFile(jinja)) return readString(jinja);
        for (String file : new String[] {"chat_template.json", "tokenizer_config.json"}) {
            Path path = dir.resolve(file);
            if (!Files.isRegularFile(path)) continue;
            String template = templateField(path);
            if (template != null) return template;
        }
        return null;
    }

    /** The {@code "chat_template"} of a JSON file: a string, or the "default" (else first) of named ones. */
    private static String templateField(Path path) {
        JsonNode root;
        try {
            root = JsonFields.MAPPER.readTree(readString(path));
        } catch (IOException e) {
            throw new ModelFileException(path + " is not valid JSON: " + e.getMessage(), e);
        }
        JsonNode t = root == null ? null : root.get("chat_template");
        if (t == null || t.isNull()) return null;
        if (t.isTextual()) return t.textValue();
        if (t.isArray() && !t.isEmpty()) {
            for (JsonNode named : t)
                if ("default".equals(named.path("name").asText()) && named.path("template").isTextual()) return named.get("template").textValue();
            if (t.get(0).path("template").isTextual()) return t.get(0).get("template").textValue();
        }
        throw new ModelFileException(path + ": chat_template must be a string or a list of {\"name\", \"template\"} objects");
    }

    private static String readString(Path file) {
        return new String(readBytes(file), StandardCharsets.UTF_8);
    }

    private static byte[] readBytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
