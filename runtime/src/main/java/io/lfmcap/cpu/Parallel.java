package io.lfmcap.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small fork-join for the CPU backend: {@link #forRange} splits {@code [0, count)} into chunks that the
 * calling thread and {@code threads - 1} daemon workers take in turn. A call made from inside a running
 * range (nested) runs inline on its thread, so bodies may call code that is itself parallel.
 */
final class Parallel implements AutoCloseable {
    /** Body of a parallel loop: handles indices {@code [from, to)}. */
    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to);
    }

    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> Boolean.FALSE);

    private final int threads;
    private final ExecutorService workers;

    Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("CPU threads must be >= 1, got " + threads);
        this.threads = threads;
        AtomicInteger id = new AtomicInteger();
        this.workers = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(r, "lfmcap-cpu-" + id.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    int threads() { return threads; }

    /** Runs {@code body} over {@code [0, count)} in chunks of at least {@code minChunk} indices. */
    void forRange(int count, int minChunk, RangeBody body) {
        if (count <= 0) return;
        int chunk = Math.max(Math.max(1, minChunk), ceilDiv(count, threads * 4));
        int chunks = ceilDiv(count, chunk);
        if (workers == null || chunks == 1 || INSIDE.get()) {
            body.run(0, count);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable participant = () -> {
            boolean outer = INSIDE.get();
            INSIDE.set(Boolean.TRUE);
            try {
                for (int c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement())
                    body.run(c * chunk, Math.min(count, (c + 1) * chunk));
            } finally {
                INSIDE.set(outer);
            }
        };
        int helpers = Math.min(threads - 1, chunks - 1);
        List<Future<?>> futures = new ArrayList<>(helpers);
        for (int i = 0; i < helpers; i++) futures.add(workers.submit(participant));
        Throwable failure = null;
        try {
            participant.run();
        } catch (RuntimeException | Error e) {
            failure = e;
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) failure = e.getCause();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) failure = e;
            }
        }
        if (failure instanceof RuntimeException re) throw re;
        if (failure instanceof Error err) throw err;
        if (failure != null) throw new IllegalStateException("parallel CPU task failed", failure);
    }

    /** {@link #forRange(int, int, RangeBody)} with single-index chunks allowed. */
    void forRange(int count, RangeBody body) { forRange(count, 1, body); }

    @Override
    public void close() {
        if (workers != null) workers.shutdownNow();
    }

    static int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}
