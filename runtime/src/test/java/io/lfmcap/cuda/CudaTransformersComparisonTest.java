package io.lfmcap.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lfmcap.engine.ModelBackend;
import io.lfmcap.engine.ModelBackend.Pick;
import io.lfmcap.engine.ModelBackend.Prompt;
import io.lfmcap.image.PatchGrid;
import io.lfmcap.model.CheckpointPackage;
import io.lfmcap.model.CheckpointWeights;
import io.lfmcap.model.ModelConfig;
import io.lfmcap.text.TinyTokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * The engine against transformers on the real 450M and 1.6B shapes (random weights that transformers made
 * and saved; tools/parity/gpu_peer_logits.py writes them, the inputs and transformers' logits in fp32 and
 * bf16 to $LFMCAP_PEER_DIR in the same GPU call). Same inputs: prompts with one 512x512 image each,
 * teacher-forced continuations. With transformers fp32 as the reference, the engine must do at least as
 * well as transformers bf16: top-1 agreement no lower, logits relative error (2-norm over all positions) no
 * higher. Prints both figures per model.
 */
@Tag("gpu")
@EnabledIfEnvironmentVariable(named = "LFMCAP_PEER_DIR", matches = ".+")
class CudaTransformersComparisonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void engineDoesAtLeastAsWellAsTransformersInBf16() throws IOException {
        Path peer = Path.of(System.getenv("LFMCAP_PEER_DIR"));
        JsonNode meta = JSON.readTree(peer.resolve("meta.json").toFile());
        List<String> failures = new ArrayList<>();
        StringBuilder table = new StringBuilder("\n| model | engine vs fp32: top-1 agreement | rel. error | transformers bf16 vs fp32: top-1 agreement | rel. error |\n|---|---|---|---|---|\n");
        for (JsonNode m : meta.get("models")) {
            Figures f = compare(peer, m);
            table.append(String.format(Locale.ROOT, "| %s | %.4f | %.3e | %.4f | %.3e |%n", m.get("name").asText(),
                    f.engineAgreement, f.engineError, f.peerAgreement, f.peerError));
            if (f.engineAgreement < f.peerAgreement || f.engineError > f.peerError)
                failures.add(m.get("name").asText() + ": " + f);
        }
        System.out.println(table);
        assertTrue(failures.isEmpty(), "the engine does worse than transformers bf16: " + failures);
    }

    record Figures(double engineAgreement, double engineError, double peerAgreement, double peerError) {}

    private static Figures compare(Path peer, JsonNode m) throws IOException {
        String name = m.get("name").asText();
        Path checkpoint = Path.of(m.get("checkpoint").asText());
        int prompts = m.get("prompts").asInt(), positions = m.get("positions").asInt(), vocab = m.get("vocab").asInt();
        int promptLength = m.get("prompt_length").asInt(), grid = m.get("grid").asInt(), patchDim = m.get("patch_dim").asInt();
        int[] ids = readInts(peer.resolve(name + "_ids.i32"));           // [prompts, promptLength + positions]
        float[] pixels = readFloats(peer.resolve(name + "_pixels.f32")); // [prompts, grid*grid, patchDim]
        float[] fp32 = readFloats(peer.resolve(name + "_fp32.f32"));     // [prompts, positions, vocab]
        float[] bf16 = readFloats(peer.resolve(name + "_bf16.f32"));
        // so that `lfmcap bench --model` can open the folder too (the random models only use ids < 65536)
        if (!Files.exists(checkpoint.resolve(CheckpointPackage.TOKENIZER))) TinyTokenizer.writeTokenizerJson(checkpoint.resolve(CheckpointPackage.TOKENIZER));

        ModelConfig config = ModelConfig.fromJson(Files.readString(checkpoint.resolve(CheckpointPackage.CONFIG)));
        int width = promptLength + positions;
        float[] engine = new float[prompts * positions * vocab];
        long start = System.nanoTime();
        try (CheckpointWeights weights = CheckpointWeights.open(checkpoint);
             CudaBackend gpu = CudaBackend.load(config, weights, 0, CudaOptions.defaults().withMaxSequences(prompts).withMaxSequenceTokens(1024))) {
            System.out.printf("%s: loaded on %s in %.1f s%n", name, gpu.device(), (System.nanoTime() - start) / 1e9);
            List<ModelBackend.SequenceState> seqs = new ArrayList<>();
            List<Prompt> inputs = new ArrayList<>();
            int patches = grid * grid * patchDim;
            for (int p = 0; p < prompts; p++) {
                int[] promptIds = new int[promptLength];
                System.arraycopy(ids, p * width, promptIds, 0, promptLength);
                float[] view = new float[patches];
                System.arraycopy(pixels, p * patches, view, 0, patches);
                inputs.add(new Prompt(promptIds, List.of(new PatchGrid(grid, grid, patchDim, view))));
                seqs.add(gpu.newSequence(width));
            }
            List<Pick> host = Collections.nCopies(prompts, Pick.HOST);
            float[][] logits = gpu.prefill(seqs, inputs, config.imageTokenId(), host).logits();
            for (int step = 0; step < positions; step++) {
                for (int p = 0; p < prompts; p++) System.arraycopy(logits[p], 0, engine, (p * positions + step) * vocab, vocab);
                if (step + 1 == positions) break;
                int[] tokens = new int[prompts];
                for (int p = 0; p < prompts; p++) tokens[p] = ids[p * width + promptLength + step];
                logits = gpu.decode(seqs, tokens, host).logits();
            }
            for (ModelBackend.SequenceState s : seqs) s.close();
        }
        System.out.printf("%s: engine done in %.1f s%n", name, (System.nanoTime() - start) / 1e9);
        return new Figures(agreement(fp32, engine, vocab), relativeError(fp32, engine), agreement(fp32, bf16, vocab), relativeError(fp32, bf16));
    }

    private static double agreement(float[] ref, float[] got, int vocab) {
        int rows = ref.length / vocab, same = 0;
        for (int r = 0; r < rows; r++) if (argmax(ref, r * vocab, vocab) == argmax(got, r * vocab, vocab)) same++;
        return (double) same / rows;
    }

    private static int argmax(float[] v, int off, int n) {
        int b = 0;
        for (int i = 1; i < n; i++) if (v[off + i] > v[off + b]) b = i;
        return b;
    }

    private static double relativeError(float[] ref, float[] got) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = (double) ref[i] - got[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }

    private static ByteBuffer read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate((int) ch.size()).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && ch.read(b) >= 0) { }
            return b.flip();
        }
    }

    private static float[] readFloats(Path file) throws IOException {
        ByteBuffer b = read(file);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    private static int[] readInts(Path file) throws IOException {
        ByteBuffer b = read(file);
        int[] out = new int[b.remaining() / 4];
        b.asIntBuffer().get(out);
        return out;
    }
}
