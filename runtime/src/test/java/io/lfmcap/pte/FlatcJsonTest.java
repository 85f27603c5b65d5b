package io.lfmcap.pte;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lfmcap.model.tiny.TinyCheckpoint.Variant;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Independent readers agree with the writer: Debian's flatc (package flatbuffers-compiler) decodes
 * the exported flatbuffers to JSON with the schema copies shipped in the jar, and FlatBuffers' C++
 * Verifier (package libflatbuffers-dev, what ExecuTorch runs with full verification) accepts them.
 * Each test is skipped where its tools are not installed.
 */
class FlatcJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void flatcDecodesTheProgramWithMethodsDelegatesSegmentsAndNamedData() throws Exception {
        Path pte = TinyExports.pte(Variant.LFM2_5_VL, false);
        byte[] file = Files.readAllBytes(pte);
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        long programSize = b.getLong(16);
        long base = b.getLong(24);
        JsonNode program = flatc("program.fbs", java.util.Arrays.copyOf(file, (int) programSize));

        List<String> methods = new ArrayList<>();
        for (JsonNode plan : program.get("execution_plan")) methods.add(plan.get("name").asText());
        assertEquals(List.of("text_decoder", "token_embedding", "vision_encoder", "get_max_seq_len", "get_max_context_len",
                "get_vocab_size", "get_bos_id", "get_eos_ids", "use_kv_cache", "enable_dynamic_shape",
                "get_model_family", "get_model_variant"), methods);

        JsonNode decoder = program.get("execution_plan").get(0);
        assertEquals("LfmcapBackend", decoder.get("delegates").get(0).get("id").asText());
        JsonNode instruction = decoder.get("chains").get(0).get("instructions").get(0);
        assertEquals("DelegateCall", instruction.get("instr_args_type").asText());
        assertEquals(List.of(0, 1, 2), ints(instruction.get("instr_args").get("args")), "two inputs then the output");
        JsonNode logits = decoder.get("values").get(2);
        assertEquals("Tensor", logits.get("val_type").asText());
        assertEquals("FLOAT", logits.get("val").get("scalar_type").asText());
        assertEquals(List.of(1, io.lfmcap.text.TinyTokenizer.VOCAB_SIZE), ints(logits.get("val").get("sizes")));
        JsonNode specs = decoder.get("delegates").get(0).get("compile_specs");
        assertEquals("lfmcap.method", specs.get(1).get("key").asText());
        assertEquals("text_decoder", new String(bytes(specs.get(1).get("value")), StandardCharsets.UTF_8));

        JsonNode maxSeq = program.get("execution_plan").get(3);
        assertEquals("Int", maxSeq.get("values").get(0).get("val_type").asText());
        assertTrue(maxSeq.get("values").get(0).get("val").get("int_val").asLong() > 0);

        // Segments and named data: every key lands in its segment, weights at 128-byte aligned file offsets.
        JsonNode segments = program.get("segments");
        Set<String> keys = new HashSet<>();
        for (JsonNode nd : program.get("named_data")) {
            String key = nd.get("key").asText();
            keys.add(key);
            JsonNode seg = segments.get(nd.get("segment_index").asInt());
            long offset = seg.path("offset").asLong(0);
            assertEquals(0, (base + offset) % 128, key);
            if (key.equals("lfmcap/config.json")) {
                String config = new String(file, (int) (base + offset), seg.get("size").asInt(), StandardCharsets.UTF_8);
                assertTrue(config.contains("\"model_type\" : \"lfm2_vl\""), config);
            }
        }
        assertTrue(keys.contains("model.language_model.embed_tokens.weight"));
        assertTrue(keys.contains("lfmcap/manifest.json"));
        assertEquals(0, program.get("constant_segment").path("segment_index").asInt(0));
        assertEquals(program.get("named_data").size() + 1, segments.size(), "the empty constant segment, then one per key");
    }

    @Test
    void flatcDecodesThePtdWithTensorLayouts() throws Exception {
        Path ptd = TinyExports.pte(Variant.LFM2_5_VL, true).resolveSibling("model.ptd");
        byte[] file = Files.readAllBytes(ptd);
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        JsonNode ft = flatc("flat_tensor.fbs", java.util.Arrays.copyOf(file, (int) (b.getLong(16) + b.getLong(24))));
        JsonNode embed = null;
        for (JsonNode nd : ft.get("named_data")) if (nd.get("key").asText().equals("model.language_model.embed_tokens.weight")) embed = nd;
        assertEquals("BFLOAT16", embed.get("tensor_layout").get("scalar_type").asText());
        assertEquals(List.of(io.lfmcap.text.TinyTokenizer.VOCAB_SIZE, 64), ints(embed.get("tensor_layout").get("sizes")));
        assertEquals(List.of(0, 1), ints(embed.get("tensor_layout").get("dim_order")));
        assertEquals(ft.get("named_data").size(), ft.get("segments").size());
    }

    @Test
    void flatbuffersCppVerifierAcceptsProgramAndWeightsFile() throws Exception {
        assumeTrue(available("flatc", "--version") && available("g++", "--version")
                && Files.exists(Path.of("/usr/include/flatbuffers/flatbuffers.h")),
                "needs flatc, g++ and FlatBuffers headers (apt-get install flatbuffers-compiler g++ libflatbuffers-dev)");
        for (String name : List.of("program.fbs", "flat_tensor.fbs", "scalar_type.fbs")) copySchema(name);
        try (InputStream in = FlatcJsonTest.class.getResourceAsStream("verify_flatbuffer.cpp")) {
            Files.write(tmp.resolve("verify_flatbuffer.cpp"), in.readAllBytes());
        }
        assertEquals(0, run(List.of("flatc", "--cpp", "-o", tmp.toString(), tmp.resolve("program.fbs").toString(),
                tmp.resolve("flat_tensor.fbs").toString(), tmp.resolve("scalar_type.fbs").toString())));
        assertEquals(0, run(List.of("g++", "-std=c++17", "-I", tmp.toString(), tmp.resolve("verify_flatbuffer.cpp").toString(),
                "-o", tmp.resolve("verify").toString())));
        Path external = TinyExports.pte(Variant.LFM2_VL, true);
        for (Path file : List.of(TinyExports.pte(), external, external.resolveSibling("model.ptd"))) {
            assertEquals(0, run(List.of(tmp.resolve("verify").toString(), file.toString())), file + " rejected by the C++ Verifier");
        }
    }

    private void copySchema(String name) throws IOException {
        try (InputStream in = PteExporter.class.getResourceAsStream(name)) {
            Files.write(tmp.resolve(name), in.readAllBytes());
        }
    }

    private static int run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", command) + " hung");
        if (p.exitValue() != 0) System.err.println(String.join(" ", command) + ":\n" + log);
        return p.exitValue();
    }

    /** Runs flatc on {@code buffer} with the jar's copy of {@code schema}; returns the parsed JSON. */
    private JsonNode flatc(String schema, byte[] buffer) throws IOException, InterruptedException {
        assumeTrue(available("flatc", "--version"), "flatc not installed (apt-get install flatbuffers-compiler)");
        for (String name : List.of(schema, "scalar_type.fbs")) copySchema(name);
        Files.write(tmp.resolve("buffer.bin"), buffer);
        Process p = new ProcessBuilder("flatc", "--json", "--raw-binary", "--strict-json", "--defaults-json",
                "-o", tmp.resolve("out").toString(), tmp.resolve(schema).toString(), "--", tmp.resolve("buffer.bin").toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "flatc hung");
        assertEquals(0, p.exitValue(), log);
        return JSON.readTree(tmp.resolve("out").resolve("buffer.json").toFile());
    }

    /** Whether {@code command} runs and succeeds (the tool is installed). */
    private static boolean available(String... command) {
        try {
            return run(List.of(command)) == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static List<Integer> ints(JsonNode array) {
        List<Integer> out = new ArrayList<>();
        for (JsonNode n : array) out.add(n.asInt());
        return out;
    }

    private static byte[] bytes(JsonNode array) {
        byte[] out = new byte[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = (byte) array.get(i).asInt();
        return out;
    }
}
