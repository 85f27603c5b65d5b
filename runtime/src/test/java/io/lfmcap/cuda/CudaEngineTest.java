package io.lfmcap.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lfmcap.engine.CaptionEngine;
import io.lfmcap.engine.CaptionEngines;
import io.lfmcap.engine.CaptionException;
import io.lfmcap.engine.CaptionRequest;
import io.lfmcap.engine.CaptionResult;
import io.lfmcap.engine.EngineOptions;
import io.lfmcap.engine.ErrorClass;
import io.lfmcap.engine.ImageInput;
import io.lfmcap.engine.SamplingParams;
import io.lfmcap.image.RgbImage;
import io.lfmcap.model.CheckpointPackage;
import io.lfmcap.model.ModelPackage;
import io.lfmcap.model.tiny.TinyCheckpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The captioning engine on the CUDA backend (tiny LFM2.5-VL checkpoint): batching changes no token, and a
 * long run of requests leaves GPU memory where it started.
 */
@Tag("gpu")
class CudaEngineTest {
    @TempDir
    static Path dir;
    private static Path model;

    @BeforeAll
    static void gpu() {
        assumeTrue(CudaDevices.count() > 0, "no CUDA device: " + CudaDevices.unavailableReason());
        model = dir.resolve("tiny");
        TinyCheckpoint.write(model, TinyCheckpoint.Variant.LFM2_5_VL, 9);
    }

    private static EngineOptions options(int maxBatch) {
        return EngineOptions.defaults().withBackend(EngineOptions.Backend.CUDA).withThreads(4).withMaxBatch(maxBatch);
    }

    /** A picture with structure, of the given size (sizes vary the views: single, tiled with thumbnail). */
    private static RgbImage image(int width, int height, int seed) {
        byte[] px = new byte[width * height * 3];
        SplittableRandom random = new SplittableRandom(seed);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) {
                int i = (y * width + x) * 3;
                px[i] = (byte) (255 * x / width + seed);
                px[i + 1] = (byte) (255 * y / height);
                px[i + 2] = (byte) random.nextInt(256);
            }
        return new RgbImage(width, height, px);
    }

    private static final int[][] SIZES = {{512, 512}, {640, 480}, {100, 100}, {1024, 768}, {2000, 200}, {300, 900}, {64, 64}};

    private static CaptionRequest request(int i) {
        int[] size = SIZES[i % SIZES.length];
        return new CaptionRequest("r" + i, ImageInput.of("img" + i, image(size[0], size[1], i)), "Describe this image.",
                SamplingParams.GREEDY, 6 + i % 11, true);
    }

    private static List<int[]> caption(CaptionEngine engine, int count) {
        List<CompletableFuture<CaptionResult>> futures = new ArrayList<>();
        for (int i = 0; i < count; i++) futures.add(engine.submit(request(i)));
        List<int[]> tokens = new ArrayList<>();
        for (CompletableFuture<CaptionResult> f : futures) tokens.add(f.join().tokens());
        return tokens;
    }

    /**
     * A request's caption does not depend on what it was batched with, within each decode kernel path: steps of up to 8
     * sequences (decode.cu's fused kernels, every row computed alone) and, with those kernels off, cuBLAS and the general
     * kernels at any batch. The two paths differ in summation order, so at a near-tie they may pick different tokens
     * (CudaBackendTest bounds their difference).
     */
    @Test
    void batchedRequestsGiveTheSameTokensAsAlone() {
        assertBatchInvariant(new int[] {3, 8});
        String before = System.setProperty(CudaOptions.SMALL_BATCH_PROPERTY, "false");
        try {
            assertBatchInvariant(new int[] {3, 16, 64});
        } finally {
            if (before == null) System.clearProperty(CudaOptions.SMALL_BATCH_PROPERTY);
            else System.setProperty(CudaOptions.SMALL_BATCH_PROPERTY, before);
        }
    }

    private void assertBatchInvariant(int[] maxBatches) {
        int count = 64;
        String kernels = "small-batch kernels " + System.getProperty(CudaOptions.SMALL_BATCH_PROPERTY, "true");
        try (ModelPackage pkg = CheckpointPackage.open(model)) {
            List<int[]> alone = new ArrayList<>();
            try (CaptionEngine engine = CaptionEngines.open(pkg, options(1))) {
                assertTrue(engine.describe().contains("cuda:0"), engine.describe());
                for (int i = 0; i < count; i++) alone.add(engine.submit(request(i)).join().tokens());
            }
            for (int maxBatch : maxBatches) {
                List<int[]> batched;
                try (CaptionEngine engine = CaptionEngines.open(pkg, options(maxBatch))) {
                    batched = caption(engine, count);
                }
                int differ = 0;
                for (int i = 0; i < count; i++) if (!Arrays.equals(alone.get(i), batched.get(i))) differ++;
                System.out.printf("%s, max batch %d: %d of %d requests differ from alone%n", kernels, maxBatch, differ, count);
                for (int i = 0; i < count; i++)
                    assertArrayEquals(alone.get(i), batched.get(i), "request " + i + " in batches of up to " + maxBatch + ", " + kernels);
            }
        }
    }

    /**
     * Host picks from candidates (LogitCandidates) choose what host picks from whole rows choose: sampled requests
     * (the recommended min-p with a repetition penalty, min-p alone, greedy under a penalty, and top-p, which always
     * reads whole rows) give the same tokens with the candidates on and off, batched together.
     */
    @Test
    void sampledCaptionsAreTheSameFromCandidatesAsFromWholeRows() {
        SamplingParams[] sampling = {SamplingParams.recommended(3), new SamplingParams(1.0, 1, 0.05, 1, 4),
                new SamplingParams(0, 1, 0, 1.3, 0), new SamplingParams(0.8, 0.9, 0, 1.05, 5)};
        int count = 24;
        List<CaptionRequest> requests = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] size = SIZES[i % SIZES.length];
            requests.add(new CaptionRequest("s" + i, ImageInput.of("img" + i, image(size[0], size[1], i)), "Describe this image.",
                    sampling[i % sampling.length], 12, i % 2 == 0));
        }
        try (ModelPackage pkg = CheckpointPackage.open(model)) {
            List<int[]> whole = new ArrayList<>(), fromCandidates = new ArrayList<>();
            String before = System.setProperty(CudaOptions.CANDIDATES_PROPERTY, "false");
            try (CaptionEngine engine = CaptionEngines.open(pkg, options(8))) {
                for (CompletableFuture<CaptionResult> f : submitAll(engine, requests)) whole.add(f.join().tokens());
            } finally {
                if (before == null) System.clearProperty(CudaOptions.CANDIDATES_PROPERTY);
                else System.setProperty(CudaOptions.CANDIDATES_PROPERTY, before);
            }
            double served;
            try (CaptionEngine engine = CaptionEngines.open(pkg, options(8))) {
                for (CompletableFuture<CaptionResult> f : submitAll(engine, requests)) fromCandidates.add(f.join().tokens());
                served = engine.stats().getOrDefault("host picks from candidates", 0.0);
            }
            assertTrue(served > 0, "no host pick was served from candidates");
            for (int i = 0; i < count; i++)
                assertArrayEquals(whole.get(i), fromCandidates.get(i), "request " + i + " (" + requests.get(i).sampling() + ")");
        }
    }

    private static List<CompletableFuture<CaptionResult>> submitAll(CaptionEngine engine, List<CaptionRequest> requests) {
        List<CompletableFuture<CaptionResult>> futures = new ArrayList<>();
        for (CaptionRequest r : requests) futures.add(engine.submit(r));
        return futures;
    }

    private static final long LAZY_KERNEL_SLACK_BYTES = 8L << 20;

    @Test
    void tenThousandRequestsLeaveGpuMemoryFlat() {
        int count = 10_000;
        RgbImage small = image(64, 64, 1);
        try (ModelPackage pkg = CheckpointPackage.open(model);
             CaptionEngine engine = CaptionEngines.open(pkg, options(64))) {
            runSmall(engine, 256, small);
            long free = GpuContext.memoryInfo()[0];
            double graphMib = engine.stats().get("gpu MiB: decode batch sizes");
            long live = DeviceMemory.liveBytes();
            long start = System.nanoTime();
            int failed = runSmall(engine, count, small);
            double seconds = (System.nanoTime() - start) / 1e9;
            long freeAfter = GpuContext.memoryInfo()[0];
            System.out.printf("%d requests in %.1f s (%.0f/s); %d bad inputs failed alone; free GPU memory %d -> %d bytes%n",
                    count, seconds, count / seconds, failed, free, freeAfter);
            assertEquals(count / 100, failed);
            assertEquals(live, DeviceMemory.liveBytes());
            // Our own device buffers must not grow at all (liveBytes, above). Free memory may drop by what decode
            // batch sizes first seen in this run took (their graphs and lazily loaded kernels, counted by the backend)
            // and by lazily loaded kernels of other shapes met for the first time (seen: one 2 MiB chunk); 8 MiB of
            // slack still fails a leak of 1 KiB per request (10,000 requests).
            long graphGrowth = Math.round((engine.stats().get("gpu MiB: decode batch sizes") - graphMib) * 1048576.0);
            long unexplained = free - freeAfter - graphGrowth;
            assertTrue(unexplained <= LAZY_KERNEL_SLACK_BYTES, "free GPU memory fell by " + (free - freeAfter) + " bytes over " + count
                    + " requests, " + graphGrowth + " of them taken by new decode batch sizes");
        }
    }

    /** {@code count} short requests (4 new tokens), one in a hundred with an undecodable image; returns the failures. */
    private static int runSmall(CaptionEngine engine, int count, RgbImage image) {
        List<CompletableFuture<CaptionResult>> futures = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ImageInput input = i % 100 == 99 ? ImageInput.of("broken" + i, new byte[] {1, 2, 3}) : ImageInput.of("small" + i, image);
            futures.add(engine.submit(new CaptionRequest("s" + i, input, "Describe.", SamplingParams.GREEDY, 4, true)));
        }
        int failed = 0;
        for (CompletableFuture<CaptionResult> f : futures) {
            try {
                assertEquals(4, f.join().generatedTokens());
            } catch (CompletionException e) {
                assertNotEquals(ErrorClass.ENGINE_ERROR, ((CaptionException) e.getCause()).errorClass(), e.getCause().getMessage());
                failed++;
            }
        }
        return failed;
    }
}
