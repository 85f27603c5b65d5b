package io.lfmcap.cli;

import io.lfmcap.engine.CaptionEngine;
import io.lfmcap.engine.CaptionEngines;
import io.lfmcap.engine.CaptionRequest;
import io.lfmcap.engine.CaptionResult;
import io.lfmcap.engine.ImageInput;
import io.lfmcap.engine.SamplingParams;
import io.lfmcap.image.RgbImage;
import io.lfmcap.model.ModelPackage;
import io.lfmcap.pte.ModelPackages;
import java.io.PrintWriter;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code lfmcap bench}: images/s and tokens/s of the engine on synthetic images, exactly N new tokens
 * per image (end-of-sequence suppressed), greedy unless sampling flags are given (--temperature etc., as for
 * {@code lfmcap caption}: the sampled path picks tokens on the host). Without --model it uses random weights with the real
 * 450M / 1.6B shapes (throughput does not depend on the values), written once to a cache folder.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmark the engine: images/s, prefill and decode tokens/s, time split by phase.",
                "Example: lfmcap bench --shape 450m --images 2 --new-tokens 64 --backend cpu"})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", description = "Checkpoint folder or .pte (default: random weights of --shape).")
    Path model;

    @Option(names = "--shape", defaultValue = "450m", description = "Random-weight model when no --model: 450m, 1.6b or tiny. Default: ${DEFAULT-VALUE}.")
    String shape;

    @Option(names = "--cache-dir", description = "Where random checkpoints are kept. Default: ~/.cache/lfmcap/bench.")
    Path cacheDir;

    @Option(names = "--images", defaultValue = "4", description = "Images timed. Default: ${DEFAULT-VALUE}.")
    int images;

    @Option(names = "--sizes", defaultValue = "512x512", split = ",",
            description = "Image sizes WxH, used round-robin (e.g. 512x512,1024x768,640x480). Default: ${DEFAULT-VALUE}.")
    List<String> sizes;

    @Option(names = "--new-tokens", defaultValue = "64", description = "Exactly this many new tokens per image. Default: ${DEFAULT-VALUE}.")
    int newTokens;

    @Option(names = "--mix", description = {"The mixed workload instead of --sizes / --new-tokens: 25% 512x512, 25% 1024x768 (tiled),",
            "50% 640x480, caption lengths uniform in [16, 128] tokens (random weights never choose end-of-sequence,",
            "so each request stops at its own length as if it had)."})
    boolean mix;

    @Option(names = "--warmup", defaultValue = "1", description = "Untimed images first (JIT warm-up). Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--prompt", defaultValue = CaptionRequest.DEFAULT_PROMPT, description = "Instruction. Default: '${DEFAULT-VALUE}'.")
    String prompt;

    @Mixin
    EngineArgs engineArgs;

    @Mixin
    SamplingArgs sampling;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Path modelPath = model != null ? model : BenchModels.randomCheckpoint(shape, cacheDir, System.err);
        try (ModelPackage pkg = ModelPackages.open(modelPath);
             CaptionEngine engine = CaptionEngines.open(pkg, engineArgs.toOptions())) {
            run(engine, requests(warmup, "warmup"));
            List<CaptionRequest> timed = requests(images, "img");
            Map<String, Double> before = engine.stats();
            Map<String, long[]> gcBefore = collections();
            long start = System.nanoTime();
            List<CaptionResult> results = run(engine, timed);
            double wall = (System.nanoTime() - start) / 1e9;
            report(out, pkg.name(), engine.describe(), results, wall, before, engine.stats());
            gcRows(out, gcBefore, collections());
            out.flush();
        }
        return 0;
    }

    private static final List<String> MIX_SIZES = List.of("512x512", "640x480", "1024x768", "640x480");
    private static final int MIX_MIN_TOKENS = 16, MIX_MAX_TOKENS = 128;

    private List<String> sizes() { return mix ? MIX_SIZES : sizes; }

    /**
     * The requests of a run, images already in memory (decoded): made before the clock starts, so that a run
     * times preprocessing and the model, not the making of synthetic pictures (about 2 ms per 512x512).
     */
    private List<CaptionRequest> requests(int n, String prefix) {
        List<CaptionRequest> requests = new ArrayList<>(n);
        SplittableRandom lengths = new SplittableRandom(n);
        SamplingParams params = sampling.toParams();
        for (int i = 0; i < n; i++) {
            List<String> all = sizes();
            String[] wh = all.get(i % all.size()).toLowerCase(Locale.ROOT).split("x");
            RgbImage image = syntheticImage(Integer.parseInt(wh[0].trim()), Integer.parseInt(wh[1].trim()), i);
            int tokens = mix ? lengths.nextInt(MIX_MIN_TOKENS, MIX_MAX_TOKENS + 1) : newTokens;
            requests.add(new CaptionRequest(prefix + i, ImageInput.of(prefix + i, image), prompt, params, tokens, true));
        }
        return requests;
    }

    private static List<CaptionResult> run(CaptionEngine engine, List<CaptionRequest> requests) {
        List<CompletableFuture<CaptionResult>> futures = new ArrayList<>();
        for (CaptionRequest r : requests) futures.add(engine.submit(r));
        List<CaptionResult> results = new ArrayList<>();
        for (CompletableFuture<CaptionResult> f : futures) results.add(f.join());
        return results;
    }

    private void report(PrintWriter out, String modelName, String device, List<CaptionResult> results, double wall,
                        Map<String, Double> before, Map<String, Double> after) {
        long pre = 0, vision = 0, prefill = 0, decode = 0, queued = 0;
        long promptTokens = 0, imageTokens = 0, generated = 0, decodeSteps = 0;
        for (CaptionResult r : results) {
            pre += r.timings().preprocessNanos();
            vision += r.timings().visionNanos();
            prefill += r.timings().prefillNanos();
            decode += r.timings().decodeNanos();
            queued += r.timings().queuedNanos();
            promptTokens += r.promptTokens();
            imageTokens += r.imageTokens();
            generated += r.generatedTokens();
            decodeSteps += Math.max(0, r.generatedTokens() - 1);
        }
        int n = results.size();
        Runtime rt = Runtime.getRuntime();
        long heapMb = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() >> 20;
        SamplingParams p = sampling.toParams();
        out.printf(Locale.ROOT, "model %s | %s | sizes %s | %d images | %s new tokens | max batch %d | %s%n",
                modelName, device, String.join(",", sizes()), n, mix ? MIX_MIN_TOKENS + "-" + MIX_MAX_TOKENS : String.valueOf(newTokens),
                engineArgs.maxBatch, p.greedy() ? "greedy" : String.format(Locale.ROOT, "sampled (temperature %s, top-p %s, min-p %s, "
                        + "repetition penalty %s, seed %d)", p.temperature(), p.topP(), p.minP(), p.repetitionPenalty(), p.seed()));
        out.println("| metric | value |");
        out.println("|---|---|");
        row(out, "images/s", n / wall);
        row(out, "wall s", wall);
        row(out, "s per image (wall / images)", wall / n);
        row(out, "prefill tok/s (prompt incl. image tokens / prefill time)", promptTokens / (prefill / 1e9));
        row(out, "decode tok/s per sequence (steps / decode time)", decodeSteps / (decode / 1e9));
        row(out, "generated tok/s (all sequences / wall)", generated / wall);
        row(out, "mean prompt tokens (image tokens)", (double) promptTokens / n, (double) imageTokens / n);
        row(out, "ms per image: preprocess", pre / 1e6 / n);
        row(out, "ms per image: queued", queued / 1e6 / n);
        row(out, "ms per image: vision", vision / 1e6 / n);
        row(out, "ms per image: prefill", prefill / 1e6 / n);
        row(out, "ms per image: decode", decode / 1e6 / n);
        row(out, "JVM heap used MiB (max " + (rt.maxMemory() >> 20) + ")", heapMb);
        deviceRows(out, before, after, wall);
        out.flush();
    }

    /**
     * The backend's counters over the timed run: device ms per phase (CUDA events; the rest of the wall is host
     * work and idle device) and idle between phases, per decode step, and memory as it stands.
     */
    private static void deviceRows(PrintWriter out, Map<String, Double> before, Map<String, Double> after, double wall) {
        if (after.isEmpty()) return;
        double busy = 0;
        for (Map.Entry<String, Double> e : after.entrySet()) {
            String k = e.getKey();
            if (k.startsWith("gpu ms") || k.startsWith("gpu idle ms") || k.equals("decode steps")) {
                double d = e.getValue() - before.getOrDefault(k, 0.0);
                row(out, k + " (timed run)", d);
                if (k.startsWith("gpu ms")) busy += d;
            } else {
                row(out, k, e.getValue());
            }
        }
        double steps = after.getOrDefault("decode steps", 0.0) - before.getOrDefault("decode steps", 0.0);
        double decodeMs = after.getOrDefault("gpu ms: decode", 0.0) - before.getOrDefault("gpu ms: decode", 0.0);
        if (steps > 0) row(out, "gpu ms per decode step", decodeMs / steps);
        row(out, "gpu ms busy / wall ms", busy, wall * 1e3);
    }

    /** Per garbage collector of this JVM: collections so far and their accumulated milliseconds. */
    private static Map<String, long[]> collections() {
        Map<String, long[]> m = new LinkedHashMap<>();
        for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans())
            m.put(b.getName(), new long[] {b.getCollectionCount(), b.getCollectionTime()});
        return m;
    }

    /**
     * The collectors' milliseconds (and collections) within the timed run: a collector that stops the application
     * (G1's young generation, for one) also stops the engine thread that feeds the device, so these sit beside the
     * device's idle rows.
     */
    private static void gcRows(PrintWriter out, Map<String, long[]> before, Map<String, long[]> after) {
        for (Map.Entry<String, long[]> e : after.entrySet()) {
            long[] b = before.getOrDefault(e.getKey(), new long[2]);
            row(out, "JVM GC ms (collections), timed run: " + e.getKey(), e.getValue()[1] - b[1], e.getValue()[0] - b[0]);
        }
    }

    private static void row(PrintWriter out, String name, double value) {
        out.printf(Locale.ROOT, "| %s | %.2f |%n", name, value);
    }

    private static void row(PrintWriter out, String name, double a, double b) {
        out.printf(Locale.ROOT, "| %s | %.1f (%.1f) |%n", name, a, b);
    }

    /** A deterministic picture with structure (gradients, a disc, noise) so the encoder sees varied patches. */
    static RgbImage syntheticImage(int width, int height, int seed) {
        byte[] px = new byte[width * height * 3];
        SplittableRandom random = new SplittableRandom(seed);
        int cx = width / 3 + seed * 7 % Math.max(1, width / 3), cy = height / 2, r2 = (Math.min(width, height) / 4) * (Math.min(width, height) / 4);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int i = (y * width + x) * 3;
                boolean disc = (x - cx) * (x - cx) + (y - cy) * (y - cy) < r2;
                px[i] = (byte) (disc ? 220 : 255 * x / width);
                px[i + 1] = (byte) (disc ? 40 : 255 * y / height);
                px[i + 2] = (byte) (96 + random.nextInt(64));
            }
        }
        return new RgbImage(width, height, px);
    }
}
