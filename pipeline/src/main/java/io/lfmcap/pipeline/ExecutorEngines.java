package io.lfmcap.pipeline;

import io.lfmcap.engine.CaptionEngine;
import io.lfmcap.engine.CaptionEngines;
import io.lfmcap.engine.EngineOptions;
import io.lfmcap.model.ModelPackage;
import io.lfmcap.pte.ModelPackages;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkEnv;
import org.apache.spark.SparkFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engines of this JVM (an executor, or the driver in local mode): one per model and device,
 * shared by every task thread and kept across tasks, stages and jobs until the JVM exits. The model
 * is copied to local disk at most once per JVM ({@link LocalModelStore}) and opened at most once per
 * engine, however many tasks start together.
 */
public final class ExecutorEngines {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorEngines.class);
    /** Models per JVM with a local copy, and engines per JVM (models x devices); idle extras are closed. */
    private static final int MAX_MODELS = 4;
    private static final int MAX_ENGINES = 4;

    private static final ExecutorCache<String, Path> LOCAL_COPIES = new ExecutorCache<>(MAX_MODELS);
    private static final ExecutorCache<EngineKey, LoadedEngine> ENGINES = new ExecutorCache<>(MAX_ENGINES);
    private static final AtomicInteger LOADS = new AtomicInteger();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorEngines::invalidateAll, "lfmcap-engines-shutdown"));
    }

    private ExecutorEngines() {}

    /** What identifies an engine: the model's digest and every engine option (backend, device, ...). */
    record EngineKey(String modelDigest, EngineOptions options) {}

    /**
     * Leases the engine for {@code model} on the device of {@code options}, loading it if needed, or again when the
     * cached one stopped serving (after an internal error: the tasks that held it write their remaining rows as
     * engine_error rows; later tasks get a new engine).
     */
    static ExecutorCache<EngineKey, LoadedEngine>.Lease acquire(ShippedModel model, EngineOptions options, String localDir) {
        return ENGINES.acquire(new EngineKey(model.digest(), options), key -> load(model, options, localDir), ExecutorEngines::serving);
    }

    private static boolean serving(LoadedEngine loaded) {
        if (loaded.engine().serving()) return true;
        LOG.warn("lfmcap: the engine of {} stopped serving after an internal error; loading a new one", loaded.loadDescription());
        return false;
    }

    /** Engines loaded by this JVM so far (each counted once, however many tasks used it). */
    public static int loads() { return LOADS.get(); }

    /** Closes every engine of this JVM (idle ones now, busy ones when their tasks end). */
    public static void invalidateAll() {
        ENGINES.invalidateAll();
        LOCAL_COPIES.invalidateAll();
    }

    private static LoadedEngine load(ShippedModel model, EngineOptions options, String localDir) {
        long start = System.nanoTime();
        Path local;
        try (var copy = LOCAL_COPIES.acquire(model.digest(), d -> localCopy(model, localDir))) {
            local = copy.value();
        }
        ModelPackage pkg = ModelPackages.open(local);
        CaptionEngine engine;
        try {
            engine = CaptionEngines.open(pkg, options);
        } catch (RuntimeException | Error e) {
            pkg.close();
            throw e;
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        int n = LOADS.incrementAndGet();
        String where = String.format(Locale.ROOT, "executor %s pid %d: %s (sha256 %s) from %s by %s, %s, %d ms",
                executorId(), ProcessHandle.current().pid(), pkg.name(), pkg.sha256(), local, model.distribution().code(),
                engine.describe(), millis);
        LOG.info("lfmcap: model loaded #{} in this JVM, {}", n, where);
        return new LoadedEngine(pkg, engine, new CaptionSchema.ModelIdentity(pkg.name(), pkg.sha256()), where);
    }

    private static Path localCopy(ShippedModel model, String localDir) {
        Path root = localDir != null ? Paths.get(localDir) : Paths.get(SparkFiles.getRootDirectory()).resolve("lfmcap-models");
        long start = System.nanoTime();
        try {
            Path local = model.localPath(new LocalModelStore(root.toAbsolutePath().normalize()));
            LOG.info("lfmcap: model {} ready at {} ({} ms, verified sha256 {})", model.files().uri(), local,
                    (System.nanoTime() - start) / 1_000_000, model.digest());
            return local;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a local copy of model " + model.files().uri() + " under " + root + ": " + e.getMessage(), e);
        }
    }

    private static String executorId() {
        SparkEnv env = SparkEnv.get();
        return env == null ? "none" : env.executorId();
    }

    /** A loaded model and its engine; closing closes both. */
    record LoadedEngine(ModelPackage modelPackage, CaptionEngine engine, CaptionSchema.ModelIdentity identity,
                        String loadDescription) implements AutoCloseable {
        @Override
        public void close() {
            try {
                engine.close();
            } finally {
                modelPackage.close();
            }
        }
    }
}
