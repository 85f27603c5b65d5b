package io.lfmcap.parity;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lfmcap.cpu.CpuBackend;
import io.lfmcap.engine.ModelBackend;
import io.lfmcap.image.ImageDecoder;
import io.lfmcap.image.ImageProcessor;
import io.lfmcap.image.PatchGrid;
import io.lfmcap.image.ProcessedImage;
import io.lfmcap.image.RgbImage;
import io.lfmcap.model.CheckpointPackage;
import io.lfmcap.model.SafetensorsFile;
import io.lfmcap.text.CaptionPrompt;
import io.lfmcap.text.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CPU reference against transformers 5.17 (fp32, eager attention) on the fixtures that
 * tools/parity/make_fixtures.py made (runtime/src/test/resources/parity/README.md): two tiny random
 * models (projector LayerNorm on and off) and six images of different sizes and kinds.
 *
 * <p>Tolerances: logits and projector features within 1e-4 relative error (max |ours - theirs| over
 * max |theirs| of the vector), which both sides' fp32 arithmetic meets with room to spare (summation
 * order is all that differs; observed errors are reported). Pixels: identical where no resize
 * happens; after a resize at most one level of 255 apart (torchvision's uint8 antialiased resize
 * and PIL's differ by one LSB at some pixels), with the share of differing values reported.
 * Greedy tokens are checked teacher-forced, so one near-tie cannot cascade: at every generated
 * position our argmax must be transformers' token unless its top-2 margin is under 1e-5.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TransformersParityTest {
    private static final Path ROOT = Path.of("src/test/resources/parity");
    private static final double LOGIT_TOLERANCE = 1e-4;
    private static final double NEAR_TIE = 1e-5;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<AutoCloseable> open = new ArrayList<>();

    static Stream<Arguments> cases() throws IOException {
        List<Arguments> out = new ArrayList<>();
        for (String model : List.of("lfm2-vl", "lfm2.5-vl")) {
            try (Stream<Path> dirs = Files.list(ROOT.resolve(model))) {
                dirs.filter(d -> Files.isRegularFile(d.resolve("meta.json"))).sorted()
                        .forEach(d -> out.add(Arguments.of(model, d.getFileName().toString())));
            }
        }
        return out.stream();
    }

    private record Model(CheckpointPackage pkg, CpuBackend backend, Tokenizer tokenizer, CaptionPrompt prompt, ImageProcessor processor) {}

    private final java.util.Map<String, Model> models = new java.util.HashMap<>();

    private Model model(String name) {
        return models.computeIfAbsent(name, n -> {
            CheckpointPackage pkg = CheckpointPackage.open(ROOT.resolve(n).resolve("checkpoint"));
            CpuBackend backend = CpuBackend.load(pkg.config(), pkg.weights(), 2);
            Tokenizer tokenizer = Tokenizer.fromJson(pkg.tokenizerJson(), n);
            open.add(backend);
            open.add(tokenizer);
            open.add(pkg);
            return new Model(pkg, backend, tokenizer, new CaptionPrompt(tokenizer, pkg.processor().useImageSpecialTokens()),
                    new ImageProcessor(pkg.processor()));
        });
    }

    @AfterAll
    void close() throws Exception {
        for (AutoCloseable c : open) c.close();
    }

    private static JsonNode meta(String model, String image) throws IOException {
        return JSON.readTree(ROOT.resolve(model).resolve(image).resolve("meta.json").toFile());
    }

    private static RgbImage png(Path file) throws IOException {
        return new ImageDecoder().decode(Files.readAllBytes(file), file.toString());
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void preprocessingMatchesTheProcessor(String modelName, String image) throws IOException {
        Model m = model(modelName);
        JsonNode meta = meta(modelName, image);
        RgbImage source = png(ROOT.resolve("images").resolve(image + ".png"));
        ProcessedImage processed = m.processor().process(source);
        JsonNode views = meta.get("views");
        assertEquals(views.size(), processed.views().size(), "number of views");
        long differing = 0, total = 0;
        for (int i = 0; i < views.size(); i++) {
            PatchGrid ours = processed.views().get(i);
            assertEquals(views.get(i).get("h").asInt() / 16, ours.gridH(), "view " + i + " patch rows");
            assertEquals(views.get(i).get("w").asInt() / 16, ours.gridW(), "view " + i + " patch cols");
            PatchGrid theirs = fixtureView(m, modelName, image, i);
            boolean resized = views.get(i).get("w").asInt() != source.width() || views.get(i).get("h").asInt() != source.height();
            float[] ourPatches = ours.patches(), theirPatches = theirs.patches();
            for (int k = 0; k < ourPatches.length; k++) {
                long a = Math.round(ourPatches[k] * 127.5 + 127.5), b = Math.round(theirPatches[k] * 127.5 + 127.5);
                assertTrue(Math.abs(a - b) <= (resized ? 1 : 0), () -> "view pixel differs by more than allowed");
                if (a != b) differing++;
            }
            total += ourPatches.length;
        }
        System.out.printf(Locale.ROOT, "parity %s %s: %d of %d pixel values (%.4f%%) one level apart%n",
                modelName, image, differing, total, 100.0 * differing / total);
        int[] ids = m.prompt().tokenize(image, "Describe this image.", processed).ids();
        assertArrayEquals(ints(meta.get("input_ids")), ids, "prompt token ids");
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void featuresLogitsAndGreedyTokensMatch(String modelName, String image) throws IOException {
        Model m = model(modelName);
        JsonNode meta = meta(modelName, image);
        List<PatchGrid> views = new ArrayList<>();
        for (int i = 0; i < meta.get("views").size(); i++) views.add(fixtureView(m, modelName, image, i));
        int[] ids = ints(meta.get("input_ids"));
        int[] generated = ints(meta.get("generated_ids"));
        try (SafetensorsFile expected = SafetensorsFile.open(ROOT.resolve(modelName).resolve(image).resolve("tensors.safetensors"))) {
            ModelBackend b = m.backend();
            float[] features = b.encodeImage(views);
            double featureError = assertClose("projector features", expected.get("projector.image_features").toFloats(), features);

            int hidden = b.hiddenSize(), imageToken = m.pkg().config().imageTokenId();
            float[] embeddings = b.embedTokens(ids);
            for (int i = 0, row = 0; i < ids.length; i++) {
                if (ids[i] == imageToken) System.arraycopy(features, row++ * hidden, embeddings, i * hidden, hidden);
            }
            try (ModelBackend.SequenceState seq = b.newSequence(ids.length + generated.length)) {
                float[] logits = b.prefill(seq, embeddings, ids.length);
                double worstLogits = assertClose("prefill logits", expected.get("logits.prefill_last").toFloats(), logits);
                float[] forced = expected.get("logits.teacher_forced").toFloats();
                float[] margins = expected.get("logits.top2_margin").toFloats();
                int vocab = b.vocabSize();
                int nearTies = 0;
                for (int k = 0; k < generated.length; k++) {
                    if (k > 0) logits = b.decode(List.of(seq), new int[] {generated[k - 1]})[0];
                    float[] row = java.util.Arrays.copyOfRange(forced, k * vocab, (k + 1) * vocab);
                    worstLogits = Math.max(worstLogits, assertClose("teacher-forced logits at generated position " + k, row, logits));
                    int ours = argmax(logits);
                    if (margins[k] < NEAR_TIE) {
                        nearTies++;
                        System.out.printf("parity %s %s: position %d is a near tie (margin %.2e); token not compared%n", modelName, image, k, margins[k]);
                    } else {
                        assertEquals(generated[k], ours, "greedy token at generated position " + k);
                    }
                }
                assertTrue(nearTies < generated.length, "some tokens were compared");
                System.out.printf(Locale.ROOT, "parity %s %s: projector features rel. error %.2e, logits worst rel. error %.2e over %d positions%n",
                        modelName, image, featureError, worstLogits, generated.length);
            }
        }
    }

    /** The processor's own view i (recovered losslessly as PNG), patchified: feeds the model transformers' exact pixels. */
    private static PatchGrid fixtureView(Model m, String model, String image, int i) throws IOException {
        RgbImage view = png(ROOT.resolve(model).resolve(image).resolve("views").resolve("view_" + i + ".png"));
        ProcessedImage p = m.processor().process(view);
        assertEquals(1, p.views().size(), "a processor view is processed again as one view of itself");
        PatchGrid grid = p.views().get(0);
        assertEquals(view.width(), grid.gridW() * 16, "no resize of a processor view");
        assertEquals(view.height(), grid.gridH() * 16, "no resize of a processor view");
        return grid;
    }

    /** Asserts the tolerance; returns the relative error. */
    private static double assertClose(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        double maxAbs = 0, maxErr = 0;
        for (int i = 0; i < expected.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
            maxErr = Math.max(maxErr, Math.abs(expected[i] - actual[i]));
        }
        double rel = maxErr / Math.max(maxAbs, 1e-30);
        assertTrue(rel <= LOGIT_TOLERANCE, String.format(Locale.ROOT, "%s: relative error %.3e > %.0e", what, rel, LOGIT_TOLERANCE));
        return rel;
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
