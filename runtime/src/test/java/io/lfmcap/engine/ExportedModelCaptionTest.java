package io.lfmcap.engine;

import static org.junit.jupiter.api.Assertions.*;

import io.lfmcap.image.DemoImages;
import io.lfmcap.model.ModelPackage;
import io.lfmcap.model.tiny.TinyCheckpoint;
import io.lfmcap.pte.ModelPackages;
import io.lfmcap.pte.ProgressListener;
import io.lfmcap.pte.PteExporter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A checkpoint folder and the .pte exported from it caption every demo image identically. */
class ExportedModelCaptionTest {
    @TempDir
    Path dir;

    private static List<CaptionResult> captionDemoImages(Path model) {
        try (ModelPackage pkg = ModelPackages.open(model);
             CaptionEngine engine = CaptionEngines.open(pkg, EngineOptions.defaults().withBackend(EngineOptions.Backend.CPU).withThreads(2))) {
            List<CompletableFuture<CaptionResult>> futures = new ArrayList<>();
            for (String name : DemoImages.list()) {
                futures.add(engine.submit(new CaptionRequest(name, ImageInput.of(name, DemoImages.bytes(name)),
                        CaptionRequest.DEFAULT_PROMPT, SamplingParams.GREEDY, 12)));
            }
            List<CaptionResult> out = new ArrayList<>();
            for (CompletableFuture<CaptionResult> f : futures) out.add(f.join());
            return out;
        }
    }

    @ParameterizedTest(name = "external weights: {0}")
    @ValueSource(booleans = {false, true})
    void checkpointAndExportedProgramGiveIdenticalCaptions(boolean externalWeights) {
        Path checkpoint = dir.resolve("tiny");
        TinyCheckpoint.write(checkpoint, TinyCheckpoint.Variant.LFM2_VL, 7);
        Path pte = dir.resolve("tiny.pte");
        PteExporter.export(checkpoint, pte, externalWeights, ProgressListener.NONE);

        List<CaptionResult> fromFolder = captionDemoImages(checkpoint);
        List<CaptionResult> fromPte = captionDemoImages(pte);
        assertEquals(DemoImages.list().size(), fromFolder.size());
        for (int i = 0; i < fromFolder.size(); i++) {
            assertArrayEquals(fromFolder.get(i).tokens(), fromPte.get(i).tokens(), fromFolder.get(i).id());
            assertEquals(fromFolder.get(i).text(), fromPte.get(i).text());
            assertEquals(fromFolder.get(i).finishReason(), fromPte.get(i).finishReason());
        }
    }

    @Test
    void greedyCaptionsAreReproducibleAcrossEngines() {
        Path checkpoint = dir.resolve("tiny");
        TinyCheckpoint.write(checkpoint, TinyCheckpoint.Variant.LFM2_5_VL, 3);
        List<CaptionResult> a = captionDemoImages(checkpoint);
        List<CaptionResult> b = captionDemoImages(checkpoint);
        for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i).tokens(), b.get(i).tokens());
        assertTrue(a.stream().anyMatch(r -> r.generatedTokens() > 1), "captions are not empty");
    }
}
