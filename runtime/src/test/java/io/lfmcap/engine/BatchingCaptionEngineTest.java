package io.lfmcap.engine;

import static org.junit.jupiter.api.Assertions.*;

import io.lfmcap.image.PatchGrid;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BatchingCaptionEngineTest {
    private static final int IMAGE_TOKEN = 3;
    private static final int EOS = 7;

    /** Prompt: [1, 3 x tokens-of-the-view, 10 + seed]; image bytes carry the seed. */
    private static PreparedRequest prepare(CaptionRequest r, long submitted) {
        byte[] bytes = ((ImageInput.Encoded) r.image()).bytes();
        if (bytes.length == 0) throw new CaptionException(ErrorClass.EMPTY_INPUT, r.image().name(), "no bytes");
        int seed = bytes[0];
        float[] patches = new float[4 * 4 * 2];
        Arrays.fill(patches, seed);
        PatchGrid view = new PatchGrid(4, 4, 2, patches);
        int[] ids = new int[2 + view.numTokens(2)];
        ids[0] = 1;
        for (int i = 0; i < view.numTokens(2); i++) ids[1 + i] = IMAGE_TOKEN;
        ids[ids.length - 1] = 10 + seed;
        return new PreparedRequest(r, ids, List.of(view), view.numTokens(2), 8, 8, submitted, 0);
    }

    private static BatchingCaptionEngine engine(ScriptedBackend backend, int maxBatch) {
        return new BatchingCaptionEngine(backend, BatchingCaptionEngineTest::prepare, tokens -> Arrays.toString(tokens),
                IMAGE_TOKEN, EOS, 2, maxBatch, Long.MAX_VALUE, 64, "scripted", () -> { });
    }

    private static CaptionRequest request(int seed, int maxNew, boolean suppressEos) {
        return new CaptionRequest("r" + seed, ImageInput.of("img" + seed, new byte[] {(byte) seed}), "p", SamplingParams.GREEDY, maxNew, suppressEos);
    }

    /** overlap: the backend overlaps decode steps (the engine feeds step n + 1 the device's picks of step n). */
    @ParameterizedTest(name = "overlapped steps: {0}")
    @ValueSource(booleans = {false, true})
    void batchedRequestsGiveTheSameTokensAsAloneAndBatchesForm(boolean overlap) throws Exception {
        List<int[]> alone = new ArrayList<>();
        ScriptedBackend single = new ScriptedBackend(61);
        try (BatchingCaptionEngine e = engine(single, 1)) {
            for (int i = 0; i < 12; i++) alone.add(e.submit(request(i, 5 + i, true)).get(10, TimeUnit.SECONDS).tokens());
        }
        ScriptedBackend batched = new ScriptedBackend(61, overlap);
        // the first prefill waits until every request is preprocessed, so that batches form however slowly the
        // preprocessing threads run (a loaded 2-core machine once admitted every request alone)
        batched.prefillGate = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger prepared = new java.util.concurrent.atomic.AtomicInteger();
        try (BatchingCaptionEngine e = new BatchingCaptionEngine(batched, (r, t) -> {
                    PreparedRequest p = prepare(r, t);
                    prepared.incrementAndGet();
                    return p;
                }, tokens -> Arrays.toString(tokens), IMAGE_TOKEN, EOS, 2, 8, Long.MAX_VALUE, 64, "scripted", () -> { })) {
            List<CompletableFuture<CaptionResult>> futures = new ArrayList<>();
            for (int i = 0; i < 12; i++) futures.add(e.submit(request(i, 5 + i, true)));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (prepared.get() < 12 && System.nanoTime() < deadline) Thread.sleep(5);
            batched.prefillGate.countDown();
            for (int i = 0; i < 12; i++) {
                CaptionResult r = futures.get(i).get(10, TimeUnit.SECONDS);
                assertArrayEquals(alone.get(i), r.tokens(), "request " + i);
                assertEquals(5 + i, r.generatedTokens());
                assertEquals(FinishReason.LENGTH, r.finishReason());
                assertEquals(4, r.imageTokens());
            }
        }
        assertTrue(batched.decodeBatchSizes.stream().anyMatch(n -> n > 1), "some decode steps ran several sequences: " + batched.decodeBatchSizes);
        assertTrue(batched.decodeBatchSizes.stream().allMatch(n -> n <= 8));
        if (overlap) assertTrue(batched.fedFromDevice.get() > 0, "some steps were fed the device's picks");
        assertEquals(0, batched.openSequences.get(), "every sequence's caches were freed");
        assertTrue(batched.closed);
    }

    /** Draws from host logits run in parallel over a pass's sequences; each request's seeded draws stay its own. */
    @Test
    void sampledRequestsDrawTheSameTokensAloneAndBatched() throws Exception {
        SamplingParams sampled = new SamplingParams(0.8, 1.0, 0.1, 1.0, 0);
        List<int[]> alone = new ArrayList<>();
        try (BatchingCaptionEngine e = engine(new ScriptedBackend(61), 1)) {
            for (int i = 0; i < 12; i++) alone.add(e.submit(sampledRequest(i, sampled)).get(10, TimeUnit.SECONDS).tokens());
        }
        ScriptedBackend batched = new ScriptedBackend(61, true);
        try (BatchingCaptionEngine e = engine(batched, 8)) {
            List<CompletableFuture<CaptionResult>> futures = new ArrayList<>();
            for (int i = 0; i < 12; i++) futures.add(e.submit(sampledRequest(i, sampled)));
            for (int i = 0; i < 12; i++) assertArrayEquals(alone.get(i), futures.get(i).get(10, TimeUnit.SECONDS).tokens(), "request " + i);
        }
        assertTrue(batched.decodeBatchSizes.stream().anyMatch(n -> n > 1), "some steps drew for several sequences");
        assertEquals(0, batched.fedFromDevice.get(), "host draws are never overlapped");
        long distinct = alone.stream().map(Arrays::toString).distinct().count();
        assertTrue(distinct > 6, "the seeds give different draws: " + distinct);
    }

    private static CaptionRequest sampledRequest(int seed, SamplingParams base) {
        SamplingParams p = new SamplingParams(base.temperature(), base.topP(), base.minP(), base.repetitionPenalty(), 1000 + seed);
        return new CaptionRequest("s" + seed, ImageInput.of("img" + seed, new byte[] {(byte) seed}), "p", p, 20, true);
    }

    /** With overlapped steps a sequence that meets end-of-sequence has one more step in flight, whose row is discarded. */
    @ParameterizedTest(name = "overlapped steps: {0}")
    @ValueSource(booleans = {false, true})
    void endOfSequenceStopsAndIsNotPartOfTheCaption(boolean overlap) throws Exception {
        // vocab 11: logits peak at hash % 11, so EOS (7) comes soon for most seeds
        List<int[]> plain = new ArrayList<>();
        if (overlap) {
            try (BatchingCaptionEngine e = engine(new ScriptedBackend(11), 4)) {
                for (int i = 0; i < 20; i++) plain.add(e.submit(request(i, 30, false)).get(10, TimeUnit.SECONDS).tokens());
            }
        }
        ScriptedBackend backend = new ScriptedBackend(11, overlap);
        int stopped = 0;
        try (BatchingCaptionEngine e = engine(backend, 4)) {
            List<CompletableFuture<CaptionResult>> futures = new ArrayList<>();
            for (int i = 0; i < 20; i++) futures.add(e.submit(request(i, 30, false)));
            for (int i = 0; i < 20; i++) {
                CaptionResult r = futures.get(i).get(10, TimeUnit.SECONDS);
                if (overlap) assertArrayEquals(plain.get(i), r.tokens(), "request " + i + " as without overlap");
                for (int t : r.tokens()) assertNotEquals(EOS, t);
                if (r.finishReason() == FinishReason.STOP) {
                    stopped++;
                    assertTrue(r.generatedTokens() < 30);
                } else {
                    assertEquals(30, r.generatedTokens());
                }
            }
        }
        assertTrue(stopped > 0, "at least one request met end-of-sequence");
        assertEquals(0, backend.openSequences.get(), "every sequence's caches were freed");
    }

    @Test
    void aBadInputFailsOnlyItsOwnRequest() throws Exception {
        ScriptedBackend backend = new ScriptedBackend(61);
        try (BatchingCaptionEngine e = engine(backend, 4)) {
            CompletableFuture<CaptionResult> good1 = e.submit(request(1, 6, true));
            CompletableFuture<CaptionResult> bad = e.submit(new CaptionRequest("bad", ImageInput.of("empty.jpg", new byte[0]), "p", SamplingParams.GREEDY, 6));
            CompletableFuture<CaptionResult> good2 = e.submit(request(2, 6, true));
            assertEquals(6, good1.get(10, TimeUnit.SECONDS).generatedTokens());
            assertEquals(6, good2.get(10, TimeUnit.SECONDS).generatedTokens());
            CompletionException failure = assertThrows(CompletionException.class, bad::join);
            CaptionException cause = assertInstanceOf(CaptionException.class, failure.getCause());
            assertEquals(ErrorClass.EMPTY_INPUT, cause.errorClass());
            assertTrue(cause.getMessage().contains("empty.jpg"));
        }
    }

    @Test
    void anErrorWhilePreprocessingFailsItsRequestAndTheEngineGoesOn() throws Exception {
        ScriptedBackend backend = new ScriptedBackend(61);
        try (BatchingCaptionEngine e = new BatchingCaptionEngine(backend, (r, t) -> {
                    if (r.id().equals("r9")) throw new StackOverflowError("a decoder's recursion on a crafted file");
                    return prepare(r, t);
                }, tokens -> Arrays.toString(tokens), IMAGE_TOKEN, EOS, 1, 1, Long.MAX_VALUE, 64, "scripted", () -> { })) {
            CompletableFuture<CaptionResult> bad = e.submit(request(9, 6, true));
            List<CompletableFuture<CaptionResult>> good = new ArrayList<>();
            for (int i = 0; i < 4; i++) good.add(e.submit(request(i, 6, true)));  // more than the engine prepares ahead (2)
            Throwable failure = assertThrows(ExecutionException.class, () -> bad.get(10, TimeUnit.SECONDS)).getCause();
            CaptionException cause = assertInstanceOf(CaptionException.class, failure);
            assertEquals(ErrorClass.ENGINE_ERROR, cause.errorClass());
            assertTrue(cause.getMessage().contains("StackOverflowError"), cause.getMessage());
            for (CompletableFuture<CaptionResult> f : good) assertEquals(6, f.get(10, TimeUnit.SECONDS).generatedTokens());
        }
    }

    @ParameterizedTest(name = "overlapped steps: {0}")
    @ValueSource(booleans = {false, true})
    void aFailedDecodeStepFailsItsSequencesAndTheEngineGoesOn(boolean overlap) throws Exception {
        ScriptedBackend backend = new ScriptedBackend(61, overlap);
        try (BatchingCaptionEngine e = engine(backend, 4)) {
            backend.failDecode = true;
            CompletionException failure = assertThrows(CompletionException.class, () -> e.submit(request(1, 6, true)).join());
            assertEquals(ErrorClass.ENGINE_ERROR, ((CaptionException) failure.getCause()).errorClass());
            backend.failDecode = false;
            assertEquals(6, e.submit(request(2, 6, true)).get(10, TimeUnit.SECONDS).generatedTokens());
            assertEquals(0, backend.openSequences.get());
        }
    }

    @Test
    void aPromptLongerThanTheEngineLimitIsAnInvalidRequest() {
        ScriptedBackend backend = new ScriptedBackend(61);
        try (BatchingCaptionEngine e = engine(backend, 4)) {
            CompletionException failure = assertThrows(CompletionException.class, () -> e.submit(request(1, 70, true)).join());
            CaptionException cause = (CaptionException) failure.getCause();
            assertEquals(ErrorClass.INVALID_REQUEST, cause.errorClass());
            assertTrue(cause.getMessage().contains("exceeds the engine's limit of 64"), cause.getMessage());
        }
    }

    @Test
    void requestsAreNotPreprocessedFarAheadOfAdmission() throws Exception {
        int maxBatch = 2, threads = 2, submitted = 30;
        // the worker admits at most a batch and waits in its prefill; twice the batch more may be preprocessed
        int held = preprocessedWhileThePrefillWaits(maxBatch, threads, Long.MAX_VALUE, submitted, 2 * maxBatch,
                BatchingCaptionEngineTest::prepare);
        assertTrue(held >= 2 * maxBatch && held <= 3 * maxBatch,
                held + " of " + submitted + " requests preprocessed while the first batch's prefill waits");
    }

    @Test
    void patchesHeldAheadOfAdmissionStayWithinTheirByteBudget() throws Exception {
        int maxBatch = 8, threads = 2, submitted = 40, viewBytes = 256 * 1024, budgetViews = 4;
        // the worker admits what is ready (at most a batch) and waits in its prefill; then requests are started while
        // their patches hold less than the budget, each passing it by at most the threads' requests in progress
        int held = preprocessedWhileThePrefillWaits(maxBatch, threads, (long) budgetViews * viewBytes, submitted, budgetViews + 1,
                (r, t) -> {
                    PreparedRequest p = prepare(r, t);  // its view as large as a tiled photo's patches, same values
                    PatchGrid small = p.views().get(0);
                    int cells = small.gridH() * small.gridW();
                    float[] values = new float[cells * (viewBytes / 4 / cells)];
                    Arrays.fill(values, small.patches()[0]);
                    PatchGrid large = new PatchGrid(small.gridH(), small.gridW(), values.length / cells, values);
                    return new PreparedRequest(p.request(), p.promptIds(), List.of(large), p.imageTokens(), p.imageWidth(),
                            p.imageHeight(), p.submittedNanos(), p.preprocessNanos());
                });
        assertTrue(held > budgetViews && held <= maxBatch + budgetViews + threads,
                held + " of " + submitted + " requests preprocessed while the first batch's prefill waits (the count bound alone: "
                        + (maxBatch + 2 * maxBatch) + ")");
    }

    /**
     * How many of {@code submitted} requests are preprocessed while the engine's first prefill waits: the backend holds
     * that prefill until at least {@code atLeast} are preprocessed and a little longer; then every request must complete.
     */
    private static int preprocessedWhileThePrefillWaits(int maxBatch, int threads, long aheadBytes, int submitted, int atLeast,
                                                        RequestPreparer preparer) throws Exception {
        ScriptedBackend backend = new ScriptedBackend(61);
        backend.prefillGate = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger prepared = new java.util.concurrent.atomic.AtomicInteger();
        try (BatchingCaptionEngine e = new BatchingCaptionEngine(backend, (r, t) -> {
                    prepared.incrementAndGet();
                    return preparer.prepare(r, t);
                }, tokens -> Arrays.toString(tokens), IMAGE_TOKEN, EOS, threads, maxBatch, aheadBytes, 64, "scripted", () -> { })) {
            List<CompletableFuture<CaptionResult>> futures = new ArrayList<>();
            for (int i = 0; i < submitted; i++) futures.add(e.submit(request(i % 50, 3, true)));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (prepared.get() < atLeast && System.nanoTime() < deadline) Thread.sleep(5);
            Thread.sleep(300);
            int held = prepared.get();
            backend.prefillGate.countDown();
            for (CompletableFuture<CaptionResult> f : futures) assertEquals(3, f.get(10, TimeUnit.SECONDS).generatedTokens());
            assertEquals(submitted, prepared.get());
            return held;
        }
    }

    @Test
    void anErrorThatStopsTheWorkerFailsEveryRequestInsteadOfLeavingItWaiting() throws Exception {
        ScriptedBackend backend = new ScriptedBackend(61);
        backend.decodeError = new LinkageError("scripted: a native library went missing mid-run");
        try (BatchingCaptionEngine e = engine(backend, 1)) {
            List<CompletableFuture<CaptionResult>> futures = new ArrayList<>();
            for (int i = 0; i < 6; i++) futures.add(e.submit(request(i, 6, true)));  // decoding, ready, and waiting ones
            for (CompletableFuture<CaptionResult> f : futures) {
                Throwable failure = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS)).getCause();
                CaptionException c = assertInstanceOf(CaptionException.class, failure);
                assertEquals(ErrorClass.ENGINE_ERROR, c.errorClass());
                assertTrue(c.getMessage().contains("native library went missing"), c.getMessage());
            }
            CaptionException late = (CaptionException) assertThrows(ExecutionException.class,
                    () -> e.submit(request(7, 6, true)).get(10, TimeUnit.SECONDS)).getCause();
            assertEquals(ErrorClass.ENGINE_ERROR, late.errorClass());
        }
        assertEquals(0, backend.openSequences.get());
    }

    @Test
    void closingCancelsWhatIsPendingAndLaterSubmits() {
        ScriptedBackend backend = new ScriptedBackend(61);
        BatchingCaptionEngine e = engine(backend, 1);
        List<CompletableFuture<CaptionResult>> futures = new ArrayList<>();
        for (int i = 0; i < 50; i++) futures.add(e.submit(request(i, 50, true)));
        e.close();
        for (CompletableFuture<CaptionResult> f : futures) {
            assertTrue(f.isDone(), "every future completes on close");
            if (f.isCompletedExceptionally()) {
                CaptionException c = (CaptionException) assertThrows(CompletionException.class, f::join).getCause();
                assertEquals(ErrorClass.CANCELLED, c.errorClass());
            }
        }
        CompletableFuture<CaptionResult> late = e.submit(request(1, 5, true));
        assertEquals(ErrorClass.CANCELLED, ((CaptionException) assertThrows(CompletionException.class, late::join).getCause()).errorClass());
        assertEquals(0, backend.openSequences.get());
    }
}
