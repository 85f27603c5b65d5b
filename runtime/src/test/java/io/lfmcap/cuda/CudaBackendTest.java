package io.lfmcap.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lfmcap.cpu.CpuBackend;
import io.lfmcap.engine.ModelBackend;
import io.lfmcap.engine.ModelBackend.Pick;
import io.lfmcap.engine.ModelBackend.Prompt;
import io.lfmcap.image.PatchGrid;
import io.lfmcap.model.CheckpointWeights;
import io.lfmcap.model.ModelConfig;
import io.lfmcap.model.tiny.RandomCheckpoint;
import io.lfmcap.model.tiny.TinyCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole model on the GPU against the CPU reference on the same bf16 weights: three shapes (the tiny
 * LFM2-VL v1 with its projector LayerNorm, the tiny LFM2.5-VL, and a small model with the real head dims:
 * text 64 with groups of 4, vision 72), views of several sizes (1024 patches, an unchanged 16x16 grid, an
 * antialiased 10x100 downsample, small odd grids). Tolerances: image features and logits within 3e-2
 * relative (2-norm; bf16 activations), greedy tokens equal wherever the CPU's top two logits differ by more
 * than 2% of the logit spread.
 */
@Tag("gpu")
class CudaBackendTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void gpu() {
        assumeTrue(CudaDevices.count() > 0, "no CUDA device: " + CudaDevices.unavailableReason());
    }

    /** text 512 (8 heads of 64 over 2 kv heads), 4 layers; vision 144 (2 heads of 72), 2 layers; vocab 2048. */
    static String realHeadDimsConfig() {
        return """
                {"model_type": "lfm2_vl", "downsample_factor": 2, "image_token_id": 396, "projector_hidden_size": 256,
                 "projector_use_layernorm": false, "projector_bias": true, "projector_hidden_act": "gelu",
                 "text_config": {"hidden_size": 512, "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 2,
                   "intermediate_size": 1536, "block_auto_adjust_ff_dim": true, "block_ffn_dim_multiplier": 1.0, "block_multiple_of": 256,
                   "layer_types": ["conv", "full_attention", "conv", "full_attention"], "vocab_size": 2048, "norm_eps": 1e-05,
                   "conv_L_cache": 3, "conv_bias": false, "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"},
                   "max_position_embeddings": 128000, "eos_token_id": 7, "bos_token_id": 1, "pad_token_id": 0},
                 "vision_config": {"hidden_size": 144, "intermediate_size": 320, "num_attention_heads": 2, "num_hidden_layers": 2,
                   "num_patches": 256, "patch_size": 16, "layer_norm_eps": 1e-06, "hidden_act": "gelu_pytorch_tanh"}}
                """;
    }

    private static Path checkpoint(String name) throws Exception {
        Path d = dir.resolve(name);
        if (Files.exists(d.resolve("config.json"))) return d;
        switch (name) {
            case "tiny-v1" -> TinyCheckpoint.write(d, TinyCheckpoint.Variant.LFM2_VL, 3);
            case "tiny-v2.5" -> TinyCheckpoint.write(d, TinyCheckpoint.Variant.LFM2_5_VL, 4);
            default -> RandomCheckpoint.write(d, realHeadDimsConfig(), 5);
        }
        return d;
    }

    private static PatchGrid view(Random random, int gh, int gw) {
        float[] p = new float[gh * gw * 768];
        for (int i = 0; i < p.length; i++) p[i] = random.nextFloat() * 2 - 1;
        return new PatchGrid(gh, gw, 768, p);
    }

    /** {@code n} prompts of 75 tokens, each with one 16x16 view in level form (the engine's form for decoded images). */
    private static List<Prompt> levelPrompts(Random random, int n, int vocab) {
        float[] table = new float[PatchGrid.LEVEL_TABLE_SIZE];
        for (int i = 0; i < table.length; i++) table[i] = (i % 256) / 127.5f - 1;
        List<Prompt> prompts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] levels = new byte[16 * 16 * 768];
            random.nextBytes(levels);
            PatchGrid view = PatchGrid.ofLevels(16, 16, 768, levels, table);
            prompts.add(new Prompt(prompt(random, view.numTokens(2), vocab), List.of(view)));
        }
        return prompts;
    }

    /** A prompt: a few text ids, the image placeholders, more text ids. */
    private static int[] prompt(Random random, int imageTokens, int vocab) {
        int[] ids = new int[6 + imageTokens + 5];
        for (int i = 0; i < ids.length; i++) ids[i] = 500 + random.nextInt(vocab - 500);
        for (int i = 0; i < imageTokens; i++) ids[6 + i] = 396;
        return ids;
    }

    private static double relativeError(float[] ref, float[] got) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            num += (double) (ref[i] - got[i]) * (ref[i] - got[i]);
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }

    private static int argmax(float[] v) {
        int b = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[b]) b = i;
        return b;
    }

    /** Whether the CPU's choice is clear enough that bf16 rounding must not change it. */
    private static boolean clearWinner(float[] logits) {
        int best = argmax(logits);
        float second = Float.NEGATIVE_INFINITY, min = Float.POSITIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) {
            if (i != best) second = Math.max(second, logits[i]);
            min = Math.min(min, logits[i]);
        }
        return logits[best] - second > 0.02 * (logits[best] - min);
    }

    @Test
    void tinyV1MatchesTheCpuReference() throws Exception { compareWithCpu("tiny-v1"); }

    @Test
    void tinyV25MatchesTheCpuReference() throws Exception { compareWithCpu("tiny-v2.5"); }

    @Test
    void realHeadDimensionsMatchTheCpuReference() throws Exception { compareWithCpu("real-head-dims"); }

    private void compareWithCpu(String name) throws Exception {
        Path d = checkpoint(name);
        ModelConfig config = ModelConfig.fromJson(Files.readString(d.resolve("config.json")));
        int vocab = config.text().vocabSize();
        Random random = new Random(11);
        List<List<PatchGrid>> views = List.of(
                List.of(view(random, 32, 32)),
                List.of(view(random, 16, 16), view(random, 6, 4)),
                List.of(view(random, 10, 100)),
                List.of(view(random, 2, 2)));
        List<Prompt> prompts = new ArrayList<>();
        for (List<PatchGrid> v : views) {
            int tokens = 0;
            for (PatchGrid g : v) tokens += g.numTokens(2);
            prompts.add(new Prompt(prompt(random, tokens, vocab), v));
        }
        int steps = 8;
        int[][] forced = new int[prompts.size()][steps];
        for (int[] f : forced) for (int i = 0; i < steps; i++) f[i] = 500 + random.nextInt(vocab - 500);

        try (CheckpointWeights weights = CheckpointWeights.open(d);
             CpuBackend cpu = CpuBackend.load(config, weights, 4);
             CudaBackend gpu = CudaBackend.load(config, weights, 0, CudaOptions.defaults().withMaxSequences(8).withMaxSequenceTokens(1024))) {
            // vision encoder + projector, view by view and packed
            for (int i = 0; i < views.size(); i++) {
                double err = relativeError(cpu.encodeImage(views.get(i)), gpu.encodeImage(views.get(i)));
                System.out.printf("%s image %d: feature relative error %.2e%n", name, i, err);
                assertTrue(err < 3e-2, name + " image " + i + " features: " + err);
            }
            // teacher-forced logits: packed prefill of all prompts, then batched decode steps
            List<ModelBackend.SequenceState> cs = new ArrayList<>(), gs = new ArrayList<>();
            for (Prompt p : prompts) {
                cs.add(cpu.newSequence(p.ids().length + steps));
                gs.add(gpu.newSequence(p.ids().length + steps));
            }
            List<Pick> host = Collections.nCopies(prompts.size(), Pick.HOST);
            float[][] cpuLogits = cpu.prefill(cs, prompts, 396, host).logits();
            float[][] gpuLogits = gpu.prefill(gs, prompts, 396, host).logits();
            double worst = 0;
            int clear = 0, agree = 0;
            for (int step = 0; ; step++) {
                for (int i = 0; i < prompts.size(); i++) {
                    double err = relativeError(cpuLogits[i], gpuLogits[i]);
                    worst = Math.max(worst, err);
                    if (clearWinner(cpuLogits[i])) {
                        clear++;
                        if (argmax(cpuLogits[i]) == argmax(gpuLogits[i])) agree++;
                    }
                }
                if (step == steps) break;
                int[] tokens = new int[prompts.size()];
                for (int i = 0; i < tokens.length; i++) tokens[i] = forced[i][step];
                cpuLogits = cpu.decode(cs, tokens);
                gpuLogits = gpu.decode(gs, tokens);
            }
            System.out.printf("%s: worst logits relative error %.2e; top-1 equal at %d of %d clear positions%n", name, worst, agree, clear);
            assertTrue(worst < 3e-2, name + " logits relative error " + worst);
            assertEquals(clear, agree, name + ": greedy choice differs where the CPU's margin is clear");
            assertTrue(clear > 0);
            for (ModelBackend.SequenceState s : cs) s.close();
            for (ModelBackend.SequenceState s : gs) s.close();
        }
    }

    @Test
    void smallBatchDecodeKernelsMatchTheGeneralPath() throws Exception { compareSmallBatchKernels("real-head-dims"); }

    @Test
    void smallBatchDecodeKernelsMatchTheGeneralPathOnTinyV25() throws Exception { compareSmallBatchKernels("tiny-v2.5"); }

    /**
     * decode.cu's fused kernels (decode steps of up to 8 sequences) against cuBLAS and the general kernels on the same
     * weights: 8 text prompts whose lengths put their keys on one to three KV pages, decode steps over all 8 (8 rows per
     * block), over 3 (blocks of 4 with a masked row), over 1 and 2. Logits within 1e-2 relative (2-norm): the two differ
     * in summation order and in the attention's p (fp32 here, bf16 in the flash kernel); greedy tokens equal where clear.
     */
    private void compareSmallBatchKernels(String name) throws Exception {
        Path d = checkpoint(name);
        ModelConfig config = ModelConfig.fromJson(Files.readString(d.resolve("config.json")));
        int vocab = config.text().vocabSize();
        Random random = new Random(17);
        int[] lengths = {1, 11, 63, 64, 70, 129, 150, 5};
        List<Prompt> prompts = new ArrayList<>();
        for (int n : lengths) {
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) ids[i] = 500 + random.nextInt(vocab - 500);
            prompts.add(new Prompt(ids, List.of()));
        }
        int[][] subsets = {{0, 1, 2, 3, 4, 5, 6, 7}, {1, 4, 6}, {5}, {0, 7}, {0, 1, 2, 3, 4, 5, 6, 7}};
        CudaOptions options = CudaOptions.defaults().withMaxSequences(8).withMaxSequenceTokens(256);
        try (CheckpointWeights weights = CheckpointWeights.open(d);
             CudaBackend fused = CudaBackend.load(config, weights, 0, options);
             CudaBackend general = CudaBackend.load(config, weights, 0, options.withSmallBatchKernels(false))) {
            List<ModelBackend.SequenceState> fs = new ArrayList<>(), gs = new ArrayList<>();
            for (Prompt p : prompts) {
                fs.add(fused.newSequence(p.ids().length + subsets.length));
                gs.add(general.newSequence(p.ids().length + subsets.length));
            }
            List<Pick> host = Collections.nCopies(prompts.size(), Pick.HOST);
            fused.prefill(fs, prompts, 396, host);
            general.prefill(gs, prompts, 396, host);
            double worst = 0;
            int clear = 0, agree = 0;
            for (int[] subset : subsets) {
                List<ModelBackend.SequenceState> f = new ArrayList<>(), g = new ArrayList<>();
                int[] tokens = new int[subset.length];
                for (int i = 0; i < subset.length; i++) {
                    f.add(fs.get(subset[i]));
                    g.add(gs.get(subset[i]));
                    tokens[i] = 500 + random.nextInt(vocab - 500);
                }
                float[][] fl = fused.decode(f, tokens), gl = general.decode(g, tokens);
                for (int i = 0; i < subset.length; i++) {
                    worst = Math.max(worst, relativeError(gl[i], fl[i]));
                    if (clearWinner(gl[i])) {
                        clear++;
                        if (argmax(gl[i]) == argmax(fl[i])) agree++;
                    }
                }
            }
            System.out.printf("%s small-batch kernels: worst logits relative error %.2e; top-1 equal at %d of %d clear positions%n",
                    name, worst, agree, clear);
            assertTrue(worst < 1e-2, name + " small-batch decode logits relative error " + worst);
            assertEquals(clear, agree, name + ": greedy choice differs where the general path's margin is clear");
            for (ModelBackend.SequenceState s : fs) s.close();
            for (ModelBackend.SequenceState s : gs) s.close();
        }
    }

    /**
     * A prefill that packs into several groups stages each next group's first vision pass while the current group runs
     * (PatchStaging): every group after the first is served from a buffer filled ahead, and each prompt's logits equal
     * those of the same prompt prefilled alone (a pass reading another pass's patches would be far off).
     */
    @Test
    void laterPrefillGroupsTakeTheirPatchesStagedAhead() throws Exception {
        Path d = checkpoint("real-head-dims");
        ModelConfig config = ModelConfig.fromJson(Files.readString(d.resolve("config.json")));
        List<Prompt> prompts = levelPrompts(new Random(23), 8, config.text().vocabSize());
        // 75-token prompts, passes of at most 320 rows: groups of 4
        CudaOptions options = CudaOptions.defaults().withMaxSequences(8).withMaxSequenceTokens(320).withMaxPrefillTokens(320);
        try (CheckpointWeights weights = CheckpointWeights.open(d);
             CudaBackend gpu = CudaBackend.load(config, weights, 0, options)) {
            List<ModelBackend.SequenceState> together = new ArrayList<>();
            for (Prompt p : prompts) together.add(gpu.newSequence(p.ids().length));
            float[][] packed = gpu.prefill(together, prompts, 396, Collections.nCopies(prompts.size(), Pick.HOST)).logits();
            double ahead = gpu.stats().get("vision passes staged ahead");
            for (ModelBackend.SequenceState st : together) st.close();
            assertEquals(1.0, ahead, "groups after the first, served from patches staged ahead");
            for (int i = 0; i < prompts.size(); i++) {
                try (ModelBackend.SequenceState alone = gpu.newSequence(prompts.get(i).ids().length)) {
                    float[] single = gpu.prefill(List.of(alone), List.of(prompts.get(i)), 396, List.of(Pick.HOST)).logits()[0];
                    double err = relativeError(single, packed[i]);
                    assertTrue(err < 1e-2, "prompt " + i + ": packed vs alone logits relative error " + err);
                }
            }
        }
    }

    /**
     * Greedy prefill groups are read only after the next group is launched (the device never waits for the host
     * between groups); a group with a host pick is read at once. Groups of 4 here: greedy, one host pick, greedy.
     * Each prompt's pick or logits match the same prompt prefilled alone (a group reading another's results would not).
     */
    @Test
    void greedyPrefillGroupsAreReadBehindTheNextGroup() throws Exception {
        Path d = checkpoint("real-head-dims");
        ModelConfig config = ModelConfig.fromJson(Files.readString(d.resolve("config.json")));
        List<Prompt> prompts = levelPrompts(new Random(29), 12, config.text().vocabSize());
        List<Pick> picks = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) picks.add(i == 5 ? Pick.HOST : Pick.greedy(-1));
        // 75-token prompts, passes of at most 320 rows: groups of 4
        CudaOptions options = CudaOptions.defaults().withMaxSequences(12).withMaxSequenceTokens(320).withMaxPrefillTokens(320);
        try (CheckpointWeights weights = CheckpointWeights.open(d);
             CudaBackend gpu = CudaBackend.load(config, weights, 0, options)) {
            List<ModelBackend.SequenceState> together = new ArrayList<>();
            for (Prompt p : prompts) together.add(gpu.newSequence(p.ids().length));
            ModelBackend.PassResult packed = gpu.prefill(together, prompts, 396, picks);
            for (ModelBackend.SequenceState st : together) st.close();
            for (int i = 0; i < prompts.size(); i++) {
                try (ModelBackend.SequenceState alone = gpu.newSequence(prompts.get(i).ids().length)) {
                    float[] single = gpu.prefill(List.of(alone), List.of(prompts.get(i)), 396, List.of(Pick.HOST)).logits()[0];
                    if (i == 5) {
                        double err = relativeError(single, packed.logits()[i]);
                        assertTrue(err < 1e-2, "prompt 5 (host pick): packed vs alone logits relative error " + err);
                    } else {
                        // the pick is the alone argmax, or a token within bf16 noise of it (2% of the logit spread)
                        int top = argmax(single), got = packed.tokens()[i];
                        float min = Float.POSITIVE_INFINITY;
                        for (float v : single) min = Math.min(min, v);
                        assertTrue(single[top] - single[got] <= 0.02 * (single[top] - min),
                                "prompt " + i + ": greedy pick " + got + " (logit " + single[got] + ") vs alone argmax " + top + " (" + single[top] + ")");
                    }
                }
            }
            assertNull(gpu.brokenReason());
        }
    }

    @Test
    void deviceGreedyPicksEqualTheArgmaxOfTheLogitsAndHonourTheBan() throws Exception {
        Path d = checkpoint("tiny-v2.5");
        ModelConfig config = ModelConfig.fromJson(Files.readString(d.resolve("config.json")));
        Random random = new Random(5);
        try (CheckpointWeights weights = CheckpointWeights.open(d);
             CudaBackend gpu = CudaBackend.load(config, weights, 0, CudaOptions.defaults().withMaxSequences(4).withMaxSequenceTokens(512))) {
            List<Prompt> prompts = List.of(new Prompt(prompt(random, 64, 1024), List.of(view(random, 16, 16))),
                    new Prompt(prompt(random, 0, 1024), List.of()));
            List<ModelBackend.SequenceState> a = List.of(gpu.newSequence(200), gpu.newSequence(200));
            List<ModelBackend.SequenceState> b = List.of(gpu.newSequence(200), gpu.newSequence(200));
            float[][] logits = gpu.prefill(a, prompts, 396, List.of(Pick.HOST, Pick.HOST)).logits();
            int top = argmax(logits[0]);
            ModelBackend.PassResult picked = gpu.prefill(b, prompts, 396, List.of(Pick.greedy(top), Pick.greedy(-1)));
            assertNull(picked.logits()[0]);
            float[] banned = logits[0].clone();
            banned[top] = Float.NEGATIVE_INFINITY;
            assertEquals(argmax(banned), picked.tokens()[0]);
            assertEquals(argmax(logits[1]), picked.tokens()[1]);
            for (ModelBackend.SequenceState s : a) s.close();
            for (ModelBackend.SequenceState s : b) s.close();
        }
    }

    /**
     * Sequences are allocated on the host and their device state (page-table row, zeroed conv state) is written at
     * the next pass: after churn without passes (sequences made and closed, slots and pages handed out in another
     * order), two sequences on reused slots decode together as two fresh ones did alone.
     */
    @Test
    void sequencesOnReusedSlotsStartCleanEvenWhenMadeAndClosedBetweenPasses() throws Exception {
        Path d = checkpoint("tiny-v2.5");
        ModelConfig config = ModelConfig.fromJson(Files.readString(d.resolve("config.json")));
        Random random = new Random(8);
        List<Prompt> prompts = List.of(new Prompt(prompt(random, 0, 1024), List.of()), new Prompt(prompt(random, 0, 1024), List.of()));
        int[][] fed = {{600, 601, 602}, {700, 701, 702}};
        try (CheckpointWeights weights = CheckpointWeights.open(d);
             CudaBackend gpu = CudaBackend.load(config, weights, 0, CudaOptions.defaults().withMaxSequences(3).withMaxSequenceTokens(256))) {
            List<List<float[]>> alone = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                try (ModelBackend.SequenceState s = gpu.newSequence(256)) {
                    List<float[]> logits = new ArrayList<>();
                    logits.add(gpu.prefill(List.of(s), List.of(prompts.get(i)), 396, List.of(Pick.HOST)).logits()[0]);
                    for (int t : fed[i]) logits.add(gpu.decode(List.of(s), new int[] {t})[0]);
                    alone.add(logits);
                }
            }
            for (int round = 0; round < 3; round++) {
                ModelBackend.SequenceState a = gpu.newSequence(64 * (round + 1)), b = gpu.newSequence(256 - 64 * round), c = gpu.newSequence(10);
                b.close();
                a.close();
                c.close();
            }
            List<ModelBackend.SequenceState> pair = List.of(gpu.newSequence(256), gpu.newSequence(256));
            List<List<float[]>> together = List.of(new ArrayList<>(), new ArrayList<>());
            float[][] first = gpu.prefill(pair, prompts, 396, List.of(Pick.HOST, Pick.HOST)).logits();
            for (int i = 0; i < 2; i++) together.get(i).add(first[i]);
            for (int step = 0; step < fed[0].length; step++) {
                float[][] next = gpu.decode(pair, new int[] {fed[0][step], fed[1][step]});
                for (int i = 0; i < 2; i++) together.get(i).add(next[i]);
            }
            for (ModelBackend.SequenceState s : pair) s.close();
            for (int i = 0; i < 2; i++)
                for (int t = 0; t < alone.get(i).size(); t++) {
                    double err = relativeError(alone.get(i).get(t), together.get(i).get(t));
                    assertTrue(err < 1e-2, "sequence " + i + ", position " + t + ": reused slot vs fresh relative error " + err);
                }
            assertNull(gpu.brokenReason());
        }
    }

    @Test
    void backendsOnOneGpuShareOneCopyOfTheWeights() throws Exception {
        Path d = checkpoint("real-head-dims");
        ModelConfig config = ModelConfig.fromJson(Files.readString(d.resolve("config.json")));
        CudaOptions options = CudaOptions.defaults().withMaxSequences(2).withMaxSequenceTokens(256);
        long start = DeviceMemory.liveBytes();
        try (CheckpointWeights weights = CheckpointWeights.open(d);
             CudaBackend first = CudaBackend.load(config, weights, 0, options)) {
            long afterFirst = DeviceMemory.liveBytes();
            try (CudaBackend second = CudaBackend.load(config, weights, 0, options)) {
                long afterSecond = DeviceMemory.liveBytes();
                assertEquals(afterFirst - start - first.weightBytes(), afterSecond - afterFirst,
                        "the second backend allocates its workspaces and cache, not the weights again");
                float[] expected = first.embedTokens(new int[] {3, 500});
                first.close();
                assertArrayEquals(expected, second.embedTokens(new int[] {3, 500}), "the weights outlive the first backend");
            }
        }
        assertEquals(start, DeviceMemory.liveBytes());
    }

    @Test
    void failedCallsGiveEverythingBackAndTheBackendGoesOn() throws Exception {
        Path d = checkpoint("tiny-v2.5");
        ModelConfig config = ModelConfig.fromJson(Files.readString(d.resolve("config.json")));
        Random random = new Random(6);
        long before = DeviceMemory.liveBytes();
        try (CheckpointWeights weights = CheckpointWeights.open(d);
             CudaBackend gpu = CudaBackend.load(config, weights, 0, CudaOptions.defaults().withMaxSequences(2).withMaxSequenceTokens(256))) {
            int pages = gpu.freePages();
            ModelBackend.SequenceState s = gpu.newSequence(200);
            // 64 placeholders but no view: rejected before any device work
            Prompt bad = new Prompt(prompt(random, 64, 1024), List.of());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> gpu.prefill(List.of(s), List.of(bad), 396, List.of(Pick.HOST)));
            assertTrue(e.getMessage().contains("64 image tokens"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> gpu.embedTokens(new int[] {5, 1024}));
            assertThrows(IllegalArgumentException.class, () -> gpu.newSequence(10_000));
            ModelBackend.SequenceState other = gpu.newSequence(100);
            IllegalStateException full = assertThrows(IllegalStateException.class, () -> gpu.newSequence(10));
            assertTrue(full.getMessage().contains("KV cache full"), full.getMessage());
            assertFalse(gpu.canAllocate(10));
            s.close();
            other.close();
            s.close();
            assertEquals(pages, gpu.freePages());
            assertEquals(2, gpu.freeSlots());
            assertTrue(gpu.canAllocate(256));
            // still works
            ModelBackend.SequenceState ok = gpu.newSequence(50);
            assertEquals(1024, gpu.prefill(ok, gpu.embedTokens(new int[] {1, 2, 3}), 3).length);
            ok.close();
            assertNull(gpu.brokenReason());
        }
        assertEquals(before, DeviceMemory.liveBytes(), "closing the backend frees all its device memory");
    }
}
