package io.lfmcap.pipeline;

import io.lfmcap.engine.CaptionEngine;
import io.lfmcap.engine.CaptionException;
import io.lfmcap.engine.CaptionRequest;
import io.lfmcap.engine.CaptionResult;
import io.lfmcap.engine.ErrorClass;
import io.lfmcap.engine.ImageInput;
import io.lfmcap.engine.SamplingParams;
import io.lfmcap.image.ImageDecoder;
import io.lfmcap.image.RgbImage;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.apache.spark.sql.Row;

/**
 * One task's rows through the shared engine: the task thread reads and decodes each image (so the
 * executor's task threads decode in parallel, ahead of the engine, which resizes, tiles and runs the
 * model), up to {@code inFlight} requests are submitted ahead of the row being returned, and rows come
 * back in input order. Every input row gives exactly one output
 * row; a bad image, an unreadable file or an engine error on one request is an error row, and the
 * task goes on. Only an interrupt (the task was killed) ends it early.
 */
final class CaptionWindow implements Iterator<Row> {
    private final Iterator<Row> input;
    private final boolean hasImageColumn;
    private final ImageFileReader reader;
    private final ImageDecoder decoder;
    private final CaptionEngine engine;
    private final CaptionSchema.ModelIdentity model;
    private final CaptionSettings settings;
    private final SamplingParams sampling;
    private final CaptionMetrics metrics;
    /** Requests submitted ahead of the row being returned (CaptionSettings.inFlightPerTask). */
    private final int inFlight;
    private final ArrayDeque<Pending> window = new ArrayDeque<>();

    CaptionWindow(Iterator<Row> input, boolean hasImageColumn, ImageFileReader reader, CaptionEngine engine,
                  CaptionSchema.ModelIdentity model, CaptionSettings settings, int inFlight, CaptionMetrics metrics) {
        this.input = input;
        this.hasImageColumn = hasImageColumn;
        this.reader = reader;
        this.decoder = new ImageDecoder(settings.maxImagePixels(), settings.maxFileBytes());
        this.engine = engine;
        this.model = model;
        this.settings = settings;
        this.sampling = settings.sampling();
        this.inFlight = inFlight;
        this.metrics = metrics;
    }

    /** A submitted row: its request's future, or the error row it already became. */
    private static final class Pending {
        final String id;
        final String path;
        final long startNanos;
        final CompletableFuture<CaptionResult> future;
        final Row failed;
        volatile long endNanos;

        Pending(String id, String path, long startNanos, CompletableFuture<CaptionResult> future, Row failed) {
            this.id = id;
            this.path = path;
            this.startNanos = startNanos;
            this.future = future;
            this.failed = failed;
            if (future != null) future.whenComplete((r, e) -> endNanos = System.nanoTime());
        }
    }

    @Override
    public boolean hasNext() {
        fill();
        return !window.isEmpty();
    }

    @Override
    public Row next() {
        fill();
        Pending p = window.poll();
        if (p == null) throw new NoSuchElementException();
        return p.failed != null ? p.failed : await(p);
    }

    private void fill() {
        while (window.size() < inFlight && input.hasNext()) window.add(submit(input.next()));
    }

    private Pending submit(Row row) {
        long start = System.nanoTime();
        String id = row.isNullAt(0) ? null : row.getString(0);
        String path = row.isNullAt(1) ? null : row.getString(1);
        if (id == null)
            return failed("", path, start, ErrorClass.INVALID_REQUEST.code(), (path == null ? "a row" : path)
                    + " has a null id: give every input row an id");
        String name = path != null ? path : id;
        byte[] bytes;
        try {
            if (hasImageColumn) bytes = row.isNullAt(2) ? new byte[0] : (byte[]) row.get(2);
            else if (path == null) return failed(id, null, start, ErrorClass.INVALID_REQUEST.code(), id + " has neither image bytes nor a path");
            else bytes = reader.read(path);
        } catch (CaptionException e) {
            return failed(id, path, start, e.errorClass().code(), e.getMessage());
        } catch (IOException | RuntimeException e) {
            return failed(id, path, start, CaptionSchema.READ_ERROR, "cannot read " + path + ": " + e);
        }
        RgbImage image;
        try {
            image = decoder.decode(bytes, name);
        } catch (CaptionException e) {
            return failed(id, path, start, e.errorClass().code(), e.getMessage());
        }
        CaptionRequest request = new CaptionRequest(id, ImageInput.of(name, image), settings.prompt(), sampling, settings.maxNewTokens());
        return new Pending(id, path, start, engine.submit(request), null);
    }

    private Pending failed(String id, String path, long start, String errorClass, String message) {
        metrics.recordFailure(errorClass);
        return new Pending(id, path, start, null,
                CaptionSchema.error(id, path, settings.prompt(), errorClass, message, millis(start, System.nanoTime()), model));
    }

    private Row await(Pending p) {
        try {
            CaptionResult r = p.future.get();
            metrics.recordOk(r);
            return CaptionSchema.ok(p.id, p.path, settings.prompt(), r, millis(p.startNanos, end(p)), model);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            String errorClass;
            String message;
            if (cause instanceof CaptionException ce) {
                errorClass = ce.errorClass().code();
                message = ce.getMessage();
            } else {
                errorClass = ErrorClass.ENGINE_ERROR.code();
                message = p.id + ": " + cause;
            }
            metrics.recordFailure(errorClass);
            return CaptionSchema.error(p.id, p.path, settings.prompt(), errorClass, message, millis(p.startNanos, end(p)), model);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("captioning task interrupted while waiting for " + p.id, e);
        }
    }

    private static long end(Pending p) {
        long end = p.endNanos;
        return end != 0 ? end : System.nanoTime();
    }

    private static double millis(long start, long end) { return (end - start) / 1e6; }
}
