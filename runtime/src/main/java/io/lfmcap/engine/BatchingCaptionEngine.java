package io.lfmcap.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Continuous batching over a {@link ModelBackend}.
 *
 * <pre>
 * submit (any thread) --> preprocessing pool: decode, tile, patchify, prompt ids --> ready queue
 * worker thread (owns the backend):
 *   admit   while fewer than maxBatch are active: vision encoder + projector, merge image rows into
 *           the prompt embeddings (HF masked_scatter at image_token_id), prefill, first token
 *   step    one decode step for every active sequence together, sample each
 *   retire  sequences that chose end-of-sequence or reached max new tokens complete their future
 * </pre>
 * A request that fails (bad image, engine error during its prefill) completes exceptionally and the
 * others go on; a failed decode step fails the sequences in that step only. Closing the engine closes
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
    private final LinkedBlockingQueue<Admission> ready = new LinkedBlockingQueue<>();
    private final Thread worker;
    private volatile boolean closed;

    private record Admission(PreparedRequest prepared, CompletableFuture<CaptionResult> future) {}

    BatchingCaptionEngine(ModelBackend backend, RequestPreparer preparer, Function<int[], String> detokenizer,
                          int imageTokenId, int eosTokenId, int preprocessThreads, int maxBatch,
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
        this.preprocessing = Executors.newFixedThreadPool(preprocessThreads, daemonThreads("lfmcap-preprocess-" + id));
        this.worker = daemonThreads("lfmcap-engine-" + id).newThread(this::run);
        worker.start();
    }

    @Override
    public CompletableFuture<CaptionResult> submit(CaptionRequest request) {
        CompletableFuture<CaptionResult> future = new CompletableFuture<>();
        if (closed) {
            future.completeExceptionally(cancelled(request.id()));
            return future;
        }
        long submitted = System.nanoTime();
        try {
            preprocessing.execute(new PrepareTask(request, future, submitted));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            future.completeExceptionally(cancelled(request.id()));
        }
        return future;
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
                ready.add(new Admission(prepared, future));
                if (closed) drainReady();
            } catch (CaptionException e) {
                future.completeExceptionally(e);
            } catch (RuntimeException | OutOfMemoryError e) {
                future.completeExceptionally(new CaptionException(ErrorClass.ENGINE_ERROR, request.id(), "preprocessing failed: " + e, e));
            }
        }
    }

    private void run() {
        List<ActiveSequence> active = new ArrayList<>();
        try {
            while (!closed) {
                if (active.isEmpty()) {
                    Admission first = ready.poll(100, TimeUnit.MILLISECONDS);
                    if (first == null) continue;
                    admit(first, active);
                }
                Admission next;
                while (active.size() < maxBatch && (next = ready.poll()) != null) admit(next, active);
                if (!active.isEmpty()) step(active);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            for (ActiveSequence s : active) {
                s.state.close();
                s.future.completeExceptionally(cancelled(s.prepared.request().id()));
            }
        }
    }

    /** Vision, merge, prefill and the first token of one request. */
    private void admit(Admission a, List<ActiveSequence> active) {
        PreparedRequest p = a.prepared();
        CaptionRequest r = p.request();
        long start = System.nanoTime();
        ModelBackend.SequenceState state = null;
        try {
            float[] image = backend.encodeImage(p.views());
            long visionDone = System.nanoTime();
            int[] ids = p.promptIds();
            float[] embeddings = mergeImageRows(r.id(), ids, backend.embedTokens(ids), image);
            state = backend.newSequence(ids.length + r.maxNewTokens());
            float[] logits = backend.prefill(state, embeddings, ids.length);
            TokenSampler sampler = new TokenSampler(r.sampling(), backend.vocabSize(), ids, eosTokenId, r.suppressEos());
            long queued = start - p.submittedNanos() - p.preprocessNanos();
            ActiveSequence s = new ActiveSequence(p, a.future(), state, sampler, eosTokenId, Math.max(0, queued));
            s.visionNanos = visionDone - start;
            s.prefillNanos = System.nanoTime() - visionDone;
            FinishReason done = s.accept(logits);
            if (done != null) retire(s, done);
            else active.add(s);
        } catch (CaptionException e) {
            if (state != null) state.close();
            a.future().completeExceptionally(e);
        } catch (RuntimeException | OutOfMemoryError e) {
            if (state != null) state.close();
            a.future().completeExceptionally(new CaptionException(ErrorClass.ENGINE_ERROR, r.id(), "prefill failed: " + e, e));
        }
    }

    /** HF Lfm2VlModel: inputs_embeds.masked_scatter(input_ids == image_token_id, image_features), rows in order. */
    private float[] mergeImageRows(String id, int[] ids, float[] embeddings, float[] image) {
        int hidden = backend.hiddenSize();
        int rows = image.length / hidden;
        int row = 0;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] != imageTokenId) continue;
            if (row == rows) break;
            System.arraycopy(image, row * hidden, embeddings, i * hidden, hidden);
            row++;
        }
        int placeholders = 0;
        for (int t : ids) if (t == imageTokenId) placeholders++;
        if (placeholders != rows)
            throw new CaptionException(ErrorClass.ENGINE_ERROR, id, "prompt has " + placeholders + " image tokens but the vision encoder produced " + rows + " feature rows");
        return embeddings;
    }

    /** One decode step for all active sequences. */
    private void step(List<ActiveSequence> active) {
        int n = active.size();
        List<ModelBackend.SequenceState> states = new ArrayList<>(n);
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            states.add(active.get(i).state);
            tokens[i] = active.get(i).lastToken();
        }
        long start = System.nanoTime();
        float[][] logits;
        try {
            logits = backend.decode(states, tokens);
        } catch (RuntimeException | OutOfMemoryError e) {
            for (ActiveSequence s : active) {
                s.state.close();
                s.future.completeExceptionally(new CaptionException(ErrorClass.ENGINE_ERROR, s.prepared.request().id(), "decode step failed: " + e, e));
            }
            active.clear();
            return;
        }
        long elapsed = System.nanoTime() - start;
        List<ActiveSequence> still = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ActiveSequence s = active.get(i);
            s.decodeNanos += elapsed;
            FinishReason done = s.accept(logits[i]);
            if (done != null) retire(s, done);
            else still.add(s);
        }
        active.clear();
        active.addAll(still);
    }

    private void retire(ActiveSequence s, FinishReason reason) {
        s.state.close();
        try {
            s.future.complete(s.result(reason, detokenizer));
        } catch (RuntimeException e) {
            s.future.completeExceptionally(new CaptionException(ErrorClass.ENGINE_ERROR, s.prepared.request().id(), "detokenization failed: " + e, e));
        }
    }

    private void drainReady() {
        Admission a;
        while ((a = ready.poll()) != null) a.future().completeExceptionally(cancelled(a.prepared().request().id()));
    }

    private static CaptionException cancelled(String id) {
        return new CaptionException(ErrorClass.CANCELLED, id, "the caption engine was closed before this request finished");
    }

    @Override
    public String describe() { return description; }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
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
