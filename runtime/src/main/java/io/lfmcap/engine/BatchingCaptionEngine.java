package io.lfmcap.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * Continuous batching over a {@link ModelBackend}.
 *
 * <pre>
 * submit (any thread) --> waiting --> preprocessing pool: decode, tile, patchify, prompt ids --> ready queue
 *   (at most prepareAhead requests and prepareAheadBytes of patches between the pool and admission, a task per
 *   thread running: the rest wait unpreprocessed, holding only what the caller gave)
 * worker thread (owns the backend):
 *   admit   the ready requests that fit (maxBatch, the backend's cache budget), together: vision encoder +
 *           projector, merge image rows into the prompt embeddings (HF masked_scatter at image_token_id),
 *           prefill, first token (ModelBackend.prefill over the batch)
 *   step    one decode step for every active sequence together, sample each
 *   retire  sequences that chose end-of-sequence or reached max new tokens give back their cache
 * results thread: detokenizes the retired sequences and completes their futures
 * </pre>
 * Overlapped decoding (a backend that {@link ModelBackend#overlapsDecode() overlaps}, every pick greedy, nobody
 * waiting to be admitted): step n + 1 is launched before step n is read, fed the tokens step n picks on the
 * device, so the device never waits for the host between steps. A sequence that step n finishes by length is
 * left out of step n + 1; one that step n ends by end-of-sequence wastes its row of step n + 1, which is
 * discarded. Admission happens only with no step in flight (a prefill overwrites the device's picks), so a
 * waiting request stops the overlap for one step.
 * A request that fails (bad image, engine error during its prefill: a failed batched prefill is retried
 * request by request) completes exceptionally and the others go on; a failed decode step fails the sequences in that step only. Closing the engine closes
 * the backend, then {@code resources} (the tokenizer).
 */
final class BatchingCaptionEngine implements CaptionEngine {
    private static final AtomicInteger ENGINES = new AtomicInteger();

    private final ModelBackend backend;
    private final RequestPreparer preparer;
    private final Function<int[], String> detokenizer;
    private final int imageTokenId;
    private final int eosTokenId;
    private final int maxBatch;
    private final int maxSequenceTokens;
    private final String description;
    private final AutoCloseable resources;
    private final ExecutorService preprocessing;
    /** Draws from host logits of one pass, in parallel over its sequences (the worker waits for them). */
    private final ForkJoinPool sampling;
    /**
     * Detokenizes retired sequences and completes their futures, off the engine thread: a batch of 512 captions
     * ending at the same step kept the device idle while the engine thread turned them into text.
     */
    private final ExecutorService results;
    private final LinkedBlockingQueue<Admission> ready = new LinkedBlockingQueue<>();
    /**
     * Requests handed to the preprocessing pool and not yet admitted (or failed), at most {@link #prepareAhead}: twice
     * the batch, so that the next batch is preprocessed while one decodes. A caller that submits thousands at once
     * would otherwise have them all preprocessed ahead, each holding its patches (768 KB for 512x512) for as long as it
     * waits: 6 GB at 8,192 requests, which G1's young collections copied in pauses of up to 475 ms that left the device
     * idle (s6-6).
     */
    private final int prepareAhead;
    /**
     * Bytes of patches that preprocessed requests may hold ahead of admission: the count bound alone lets large photos
     * (a 12 MP photo is tiled into up to 11 views, 8.6 MB of patches) hold tens of GB at large batches. A request is
     * started only below this bound, and only while fewer than {@code preprocessThreads} are being preprocessed, so it
     * is passed by at most that many requests' patches.
     */
    private final long prepareAheadBytes;
    private final int preprocessThreads;
    private final Object aheadLock = new Object();
    private final ArrayDeque<PrepareTask> waiting = new ArrayDeque<>();  // guarded by aheadLock
    private int ahead;  // guarded by aheadLock
    private int preprocessingNow;  // started and not finished; guarded by aheadLock
    private long aheadBytes;  // patches of the preprocessed requests not yet admitted; guarded by aheadLock
    private final Thread worker;
    private volatile boolean closed;
    /**
     * What ended the worker thread when it was not a close: a backend failure outside the per-request handling (an
     * Error from native code, say). From then on every request fails at once instead of waiting for a worker that is
     * gone (a Spark task would wait forever for its row).
     */
    private volatile Throwable stopped;
    /** When the last decode step was read (worker thread): an overlapped step's time starts there. */
    private long lastReadNanos;

    private record Admission(PreparedRequest prepared, CompletableFuture<CaptionResult> future) {}

    BatchingCaptionEngine(ModelBackend backend, RequestPreparer preparer, Function<int[], String> detokenizer,
                          int imageTokenId, int eosTokenId, int preprocessThreads, int maxBatch, long prepareAheadBytes,
                          int maxSequenceTokens, String description, AutoCloseable resources) {
        this.backend = backend;
        this.preparer = preparer;
        this.detokenizer = detokenizer;
        this.imageTokenId = imageTokenId;
        this.eosTokenId = eosTokenId;
        this.maxBatch = maxBatch;
        this.maxSequenceTokens = maxSequenceTokens;
        this.description = description;
        this.resources = resources;
        int id = ENGINES.incrementAndGet();
        this.prepareAhead = Math.max(2 * maxBatch, preprocessThreads);
        this.prepareAheadBytes = prepareAheadBytes;
        this.preprocessThreads = preprocessThreads;
        this.preprocessing = Executors.newFixedThreadPool(preprocessThreads, daemonThreads("lfmcap-preprocess-" + id));
        this.sampling = new ForkJoinPool(preprocessThreads);
        this.results = Executors.newSingleThreadExecutor(daemonThreads("lfmcap-results-" + id));
        this.worker = daemonThreads("lfmcap-engine-" + id).newThread(this::run);
        worker.start();
    }

    @Override
    public CompletableFuture<CaptionResult> submit(CaptionRequest request) {
        CompletableFuture<CaptionResult> future = new CompletableFuture<>();
        PrepareTask task = new PrepareTask(request, future, System.nanoTime());
        synchronized (aheadLock) {
            // close() and a stopping worker set their flag before they empty the waiting queue under this lock
            if (closed || stopped != null) {
                future.completeExceptionally(unserved(request.id()));
                return future;
            }
            waiting.add(task);
        }
        startWaiting();
        return future;
    }

    /**
     * Hands waiting requests to the preprocessing pool while fewer than {@link #prepareAhead} are ahead of admission,
     * their patches hold less than {@link #prepareAheadBytes} and a thread is free.
     */
    private void startWaiting() {
        List<PrepareTask> start = new ArrayList<>();
        synchronized (aheadLock) {
            while (ahead < prepareAhead && aheadBytes < prepareAheadBytes && preprocessingNow < preprocessThreads && !waiting.isEmpty()) {
                start.add(waiting.poll());
                ahead++;
                preprocessingNow++;
            }
        }
        for (PrepareTask t : start) {
            try {
                preprocessing.execute(t);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                t.future.completeExceptionally(cancelled(t.request.id()));
            }
        }
    }

    /** A request ahead of admission was admitted or failed, giving back {@code bytes} of patches: its place goes to a waiting one. */
    private void leftAhead(long bytes) {
        synchronized (aheadLock) {
            ahead--;
            aheadBytes -= bytes;
        }
        startWaiting();
    }

    /** A preprocessing task ended, its request's patches ({@code bytes}) now held ahead of admission (0 if it failed). */
    private void preprocessed(long bytes) {
        synchronized (aheadLock) {
            preprocessingNow--;
            aheadBytes += bytes;
        }
    }

    /** Preprocessing of one request; a task never run (engine closed) fails its future in {@link #close()}. */
    private final class PrepareTask implements Runnable {
        final CaptionRequest request;
        final CompletableFuture<CaptionResult> future;
        final long submitted;

        PrepareTask(CaptionRequest request, CompletableFuture<CaptionResult> future, long submitted) {
            this.request = request;
            this.future = future;
            this.submitted = submitted;
        }

        @Override
        public void run() {
            try {
                PreparedRequest prepared = preparer.prepare(request, submitted);
                int length = prepared.promptIds().length + request.maxNewTokens();
                if (length > maxSequenceTokens) {
                    throw new CaptionException(ErrorClass.INVALID_REQUEST, request.id(), "prompt of " + prepared.promptIds().length
                            + " tokens (" + prepared.imageTokens() + " image tokens) plus " + request.maxNewTokens()
                            + " new tokens exceeds the engine's limit of " + maxSequenceTokens
                            + " tokens; lower max new tokens or the processor's max image tokens");
                }
                preprocessed(prepared.patchBytes());
                ready.add(new Admission(prepared, future));
                if (closed || stopped != null) drainReady();
                startWaiting();
                return;
            } catch (CaptionException e) {
                future.completeExceptionally(e);
            } catch (RuntimeException | Error e) {
                // any Error too (a decoder's StackOverflowError on a crafted file): an uncompleted future would hang
                // the task waiting for this row
                future.completeExceptionally(new CaptionException(ErrorClass.ENGINE_ERROR, request.id(), "preprocessing failed: " + e, e));
            }
            preprocessed(0);
            leftAhead(0);
        }
    }

    /** A decode step launched and not read yet, with the sequences of its rows. */
    private record InFlight(ModelBackend.LaunchedStep step, List<ActiveSequence> rows, long launchedNanos) {}

    private void run() {
        List<ActiveSequence> active = new ArrayList<>();
        InFlight inFlight = null;
        try {
            while (!closed) {
                if (inFlight == null) {
                    Admission first = null;
                    if (active.isEmpty()) {
                        first = ready.poll(100, TimeUnit.MILLISECONDS);
                        if (first == null) continue;
                        leftAhead(first.prepared().patchBytes());
                    }
                    List<Starting> starting = collect(first, active.size());
                    if (!starting.isEmpty()) admit(starting, active);
                }
                if (!active.isEmpty() || inFlight != null) inFlight = step(active, inFlight);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            stopped = e;
        } finally {
            for (ActiveSequence s : active) {
                try {
                    s.state.close();
                } catch (RuntimeException | Error e) {
                    // the backend is failing; the sequence's future is completed below all the same
                }
                s.future.completeExceptionally(unserved(s.id));
            }
            if (stopped != null) {
                failWaiting();
                drainReady();
            }
        }
    }

    /** An admitted request with its fresh decoder state, before prefill. */
    private record Starting(Admission admission, ModelBackend.SequenceState state) {}

    /**
     * Takes {@code first} (when the engine is idle) and then ready requests while the batch has room and the
     * backend's cache budget allows, creating each one's sequence. A request whose sequence cannot be created
     * fails alone.
     */
    private List<Starting> collect(Admission first, int activeCount) {
        List<Starting> starting = new ArrayList<>();
        Admission a = first;
        while (true) {
            if (a == null) {
                if (activeCount + starting.size() >= maxBatch) break;
                Admission next = ready.peek();
                if (next == null || !backend.canAllocate(sequenceLength(next.prepared()))) break;
                a = ready.poll();
                leftAhead(a.prepared().patchBytes());
            }
            starting.addAll(start(a));
            a = null;
        }
        return starting;
    }

    /** The request with a fresh sequence, or nothing when the sequence cannot be created (the request then fails). */
    private List<Starting> start(Admission a) {
        try {
            return List.of(new Starting(a, backend.newSequence(sequenceLength(a.prepared()))));
        } catch (RuntimeException | OutOfMemoryError e) {
            a.future().completeExceptionally(new CaptionException(ErrorClass.ENGINE_ERROR, a.prepared().request().id(),
                    "could not start the sequence: " + e, e));
            return List.of();
        }
    }

    private static int sequenceLength(PreparedRequest p) { return p.promptIds().length + p.request().maxNewTokens(); }

    /**
     * Vision, merge, prefill and the first token of several requests in one backend call. If that call fails,
     * each request is retried alone so that only the one at fault fails.
     */
    private void admit(List<Starting> starting, List<ActiveSequence> active) {
        int n = starting.size();
        List<ModelBackend.SequenceState> states = new ArrayList<>(n);
        List<ModelBackend.Prompt> prompts = new ArrayList<>(n);
        List<ModelBackend.Pick> picks = new ArrayList<>(n);
        List<ActiveSequence> sequences = new ArrayList<>(n);
        long start = System.nanoTime();
        for (Starting st : starting) {
            PreparedRequest p = st.admission().prepared();
            CaptionRequest r = p.request();
            TokenSampler sampler = new TokenSampler(r.sampling(), backend.vocabSize(), p.promptIds(), eosTokenId, r.suppressEos());
            long queued = start - p.submittedNanos() - p.preprocessNanos();
            ActiveSequence s = new ActiveSequence(p, st.admission().future(), st.state(), sampler, eosTokenId, Math.max(0, queued));
            sequences.add(s);
            states.add(st.state());
            prompts.add(new ModelBackend.Prompt(p.promptIds(), p.views()));
            picks.add(s.pick());
        }
        ModelBackend.PassResult result;
        try {
            result = backend.prefill(states, prompts, imageTokenId, picks);
        } catch (RuntimeException | OutOfMemoryError e) {
            for (ModelBackend.SequenceState state : states) state.close();
            if (n == 1) {
                Admission a = starting.get(0).admission();
                a.future().completeExceptionally(e instanceof CaptionException c ? c
                        : new CaptionException(ErrorClass.ENGINE_ERROR, a.prepared().request().id(), "prefill failed: " + e, e));
                return;
            }
            for (Starting st : starting) {
                List<Starting> alone = start(st.admission());
                if (!alone.isEmpty()) admit(alone, active);
            }
            return;
        }
        long elapsed = System.nanoTime() - start;
        int[] chosen = choose(sequences, result);
        for (int i = 0; i < n; i++) {
            ActiveSequence s = sequences.get(i);
            s.visionNanos = result.visionNanos() / n;
            s.prefillNanos = Math.max(0, elapsed - result.visionNanos()) / n;
            FinishReason done = s.accept(chosen[i]);
            if (done != null) retire(s, done);
            else active.add(s);
        }
    }

    /**
     * Advances decoding by one step: with a step in flight, launches the next one first when overlapping is allowed
     * (see the class comment), then reads the one in flight; with none, launches a step and reads it at once, or
     * leaves it in flight to overlap the next. Returns the step left in flight, or null.
     */
    private InFlight step(List<ActiveSequence> active, InFlight inFlight) {
        boolean overlap = overlapAllowed(active);
        if (inFlight == null) {
            InFlight launched = launch(active, null);
            if (launched == null || overlap) return launched;
            read(launched, active);
            return null;
        }
        InFlight next = overlap ? launch(active, inFlight) : null;
        if (!read(inFlight, active) && next != null) {
            fail(next.rows(), active, "decode step failed: the step before it failed", null);
            next = null;
        }
        return next;
    }

    private boolean overlapAllowed(List<ActiveSequence> active) {
        if (!backend.overlapsDecode()) return false;
        for (ActiveSequence s : active) if (!s.pick().greedy()) return false;
        Admission waiting = ready.peek();
        return waiting == null || active.size() >= maxBatch || !backend.canAllocate(sequenceLength(waiting.prepared()));
    }

    /**
     * Launches a step for every active sequence that still needs a token after {@code inFlight} (those it finishes
     * by length are left out), feeding those in {@code inFlight} the device's picks (token -1). A launch that fails
     * fails its sequences. Returns null when there is nothing to launch.
     */
    private InFlight launch(List<ActiveSequence> active, InFlight inFlight) {
        Set<ActiveSequence> carried = Collections.newSetFromMap(new IdentityHashMap<>());
        if (inFlight != null) carried.addAll(inFlight.rows());
        List<ActiveSequence> rows = new ArrayList<>(active.size());
        for (ActiveSequence s : active) if (!carried.contains(s) || !s.oneTokenLeft()) rows.add(s);
        if (rows.isEmpty()) return null;
        int n = rows.size();
        List<ModelBackend.SequenceState> states = new ArrayList<>(n);
        List<ModelBackend.Pick> picks = new ArrayList<>(n);
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            ActiveSequence s = rows.get(i);
            states.add(s.state);
            picks.add(s.pick());
            tokens[i] = carried.contains(s) ? -1 : s.lastToken();
        }
        long start = System.nanoTime();
        try {
            return new InFlight(backend.launchDecode(states, tokens, picks), rows, start);
        } catch (RuntimeException | OutOfMemoryError e) {
            fail(rows, active, "decode step failed: " + e, e);
            return null;
        }
    }

    /** Reads a launched step and hands each live row its outcome; returns false when the step failed (its rows fail). */
    private boolean read(InFlight step, List<ActiveSequence> active) {
        ModelBackend.PassResult result;
        try {
            result = step.step().result();
        } catch (RuntimeException | OutOfMemoryError e) {
            fail(step.rows(), active, "decode step failed: " + e, e);
            return false;
        }
        long now = System.nanoTime();
        long elapsed = now - Math.max(step.launchedNanos(), lastReadNanos);
        lastReadNanos = now;
        int[] chosen = choose(step.rows(), result);
        boolean retired = false;
        for (int i = 0; i < step.rows().size(); i++) {
            ActiveSequence s = step.rows().get(i);
            if (s.retired) continue;  // ended by end-of-sequence in the step before: this row is discarded
            s.decodeNanos += elapsed;
            FinishReason done = s.accept(chosen[i]);
            if (done != null) {
                retire(s, done);
                retired = true;
            }
        }
        // one pass: a whole batch that ends at the same step, removed one by one, cost time quadratic in the batch
        if (retired) active.removeIf(s -> s.retired);
        return true;
    }

    /**
     * Each live row's next token (ActiveSequence.choose): greedy picks as they came, draws from host logits (about a
     * pass over 65,536 logits each) spread over the sampling pool when there are several.
     */
    private int[] choose(List<ActiveSequence> rows, ModelBackend.PassResult result) {
        int n = rows.size();
        int[] chosen = new int[n];
        int drawn = 0;
        for (int i = 0; i < n; i++) if ((result.logits()[i] != null || result.candidates()[i] != null) && !rows.get(i).retired) drawn++;
        IntConsumer pick = i -> {
            if (!rows.get(i).retired) chosen[i] = rows.get(i).choose(result, i);
        };
        if (drawn < 2) for (int i = 0; i < n; i++) pick.accept(i);
        else sampling.submit(() -> IntStream.range(0, n).parallel().forEach(pick)).join();
        return chosen;
    }

    /** Fails the live sequences among {@code rows} (an engine error; cause may be null) and drops them from {@code active}. */
    private void fail(List<ActiveSequence> rows, List<ActiveSequence> active, String why, Throwable cause) {
        for (ActiveSequence s : rows) {
            if (s.retired) continue;
            s.retired = true;
            s.state.close();
            s.future.completeExceptionally(new CaptionException(ErrorClass.ENGINE_ERROR, s.id, why, cause));
            active.remove(s);
        }
    }

    /** Frees the sequence's cache at once; its text and future follow on the results thread. */
    private void retire(ActiveSequence s, FinishReason reason) {
        s.retired = true;
        s.state.close();
        try {
            results.execute(() -> complete(s, reason));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            complete(s, reason);
        }
    }

    private void complete(ActiveSequence s, FinishReason reason) {
        try {
            s.future.complete(s.result(reason, detokenizer));
        } catch (RuntimeException e) {
            s.future.completeExceptionally(new CaptionException(ErrorClass.ENGINE_ERROR, s.id, "detokenization failed: " + e, e));
        }
    }

    /** Fails the requests not yet handed to the preprocessing pool (closed, or the worker stopped). */
    private void failWaiting() {
        synchronized (aheadLock) {
            for (PrepareTask t : waiting) t.future.completeExceptionally(unserved(t.request.id()));
            waiting.clear();
        }
    }

    private void drainReady() {
        Admission a;
        while ((a = ready.poll()) != null) a.future().completeExceptionally(unserved(a.prepared().request().id()));
    }

    /** The failure of a request the engine will not serve: it stopped after an internal error, or it was closed. */
    private CaptionException unserved(String id) {
        Throwable cause = stopped;
        if (cause == null) return cancelled(id);
        return new CaptionException(ErrorClass.ENGINE_ERROR, id, "the caption engine stopped after an internal error (" + cause
                + "); it serves no more requests: close it and open a new one", cause);
    }

    private static CaptionException cancelled(String id) {
        return new CaptionException(ErrorClass.CANCELLED, id, "the caption engine was closed before this request finished");
    }

    @Override
    public String describe() { return description; }

    @Override
    public boolean serving() { return !closed && stopped == null; }

    @Override
    public java.util.Map<String, Double> stats() { return closed ? java.util.Map.of() : backend.stats(); }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        failWaiting();
        for (Runnable r : preprocessing.shutdownNow()) {
            PrepareTask t = (PrepareTask) r;
            t.future.completeExceptionally(cancelled(t.request.id()));
        }
        try {
            preprocessing.awaitTermination(30, TimeUnit.SECONDS);
            worker.join(TimeUnit.SECONDS.toMillis(60));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        drainReady();
        sampling.shutdown();
        results.shutdown();  // what retired before the close still gets its caption (the tokenizer closes after)
        try {
            results.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        backend.close();
        try {
            resources.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing the engine's resources failed: " + e, e);
        }
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
