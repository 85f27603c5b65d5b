package io.lfmcap.cuda;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The one thread that talks to a GPU for a backend: it owns the stream, the BLAS handles and the buffers,
 * and runs every call in submission order. Any thread may {@link #call}; a call from the worker itself runs
 * inline. Exceptions reach the caller as they were thrown on the worker.
 */
final class GpuWorker implements AutoCloseable {
    private final ExecutorService executor;
    private volatile Thread thread;

    GpuWorker(String name) {
        this.executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            thread = t;
            return t;
        });
    }

    <T> T call(Callable<T> task) {
        if (Thread.currentThread() == thread) return inline(task);
        Future<T> f = executor.submit(task);
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) throw r;
            if (cause instanceof Error err) throw err;
            throw new IllegalStateException(cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the GPU worker", e);
        }
    }

    private static <T> T inline(Callable<T> task) {
        try {
            return task.call();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        executor.shutdown();
        try {
            executor.awaitTermination(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
