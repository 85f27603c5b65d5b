package io.lfmcap.jobs;

import io.lfmcap.engine.CaptionEngine;
import io.lfmcap.engine.CaptionEngines;
import io.lfmcap.engine.CaptionRequest;
import io.lfmcap.engine.CaptionResult;
import io.lfmcap.engine.EngineOptions;
import io.lfmcap.engine.ImageInput;
import io.lfmcap.engine.SamplingParams;
import io.lfmcap.image.ImageDecoder;
import io.lfmcap.image.ImageProcessor;
import io.lfmcap.image.ProcessedImage;
import io.lfmcap.image.RgbImage;
import io.lfmcap.model.ModelPackage;
import io.lfmcap.pte.ModelPackages;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.imageio.ImageIO;
import org.apache.spark.sql.SparkSession;

/**
 * The pipeline's benchmarks (docs/spark.md, docs/BENCHMARKS.md), on the tiny model and the CPU:
 * <ol>
 *   <li>decode + preprocess (what each Spark task thread and the engine's preprocessing do per image)
 *       of 512x512 JPEGs, images/s on one core and on all cores;</li>
 *   <li>the job's overhead over the bare engine on the same images: the engine fed directly with a
 *       bounded window, against CaptionJob in Spark local mode (warm: runs 2 and 3 of three, so the
 *       Spark session and the executor's engine exist, as in a long job; the better of two), both with
 *       the same engine options; the engine's time is the better of two runs after a warm-up.</li>
 * </ol>
 * Run: {@code mvn -q -pl jobs -am -Pbench -Dlfmcap.buildDir=target-bench process-test-classes}
 * (arguments: {@code -Dlfmcap.bench.args="IMAGES MAX_NEW_TOKENS"}, default 192 24).
 */
public final class PipelineBenchmark {
    private PipelineBenchmark() {}

    public static void main(String[] args) throws Exception {
        int images = args.length > 0 ? Integer.parseInt(args[0]) : 192;
        int maxNewTokens = args.length > 1 ? Integer.parseInt(args[1]) : 24;
        int cores = Runtime.getRuntime().availableProcessors();
        Path dir = Files.createTempDirectory("lfmcap-bench-");
        List<byte[]> jpegs = new ArrayList<>();
        Path imageDir = Files.createDirectories(dir.resolve("images"));
        for (int i = 0; i < images; i++) {
            byte[] jpeg = scene(512, 512, i);
            jpegs.add(jpeg);
            Files.write(imageDir.resolve(String.format(Locale.ROOT, "scene-%04d.jpg", i)), jpeg);
        }
        double meanKb = jpegs.stream().mapToInt(b -> b.length).average().orElse(0) / 1024;
        DemoInputs.Prepared demo = DemoInputs.prepare(dir.resolve("demo"));
        System.out.printf(Locale.ROOT, "machine: %d cores, %s; %d distinct 512x512 JPEGs (mean %.0f KB), tiny model, max new tokens %d%n",
                cores, System.getProperty("java.vm.name") + " " + System.getProperty("java.version"), images, meanKb, maxNewTokens);

        try (ModelPackage pkg = ModelPackages.open(demo.model())) {
            ImageDecoder decoder = new ImageDecoder();
            ImageProcessor processor = new ImageProcessor(pkg.processor());
            double one = preprocessRate(jpegs, decoder, processor, 1);
            double all = preprocessRate(jpegs, decoder, processor, cores);
            System.out.printf(Locale.ROOT, "decode + preprocess 512x512 JPEG: %.1f images/s on 1 thread; %.1f images/s on %d threads (%.1f per core)%n",
                    one, all, cores, all / cores);

            EngineOptions options = EngineOptions.defaults().withBackend(EngineOptions.Backend.CPU).withThreads(cores).withMaxBatch(8);
            double engineSeconds;
            try (CaptionEngine engine = CaptionEngines.open(pkg, options)) {
                runEngine(engine, jpegs.subList(0, Math.min(16, images)), maxNewTokens, 16); // warm-up
                engineSeconds = Math.min(runEngine(engine, jpegs, maxNewTokens, 16), runEngine(engine, jpegs, maxNewTokens, 16));
            }
            System.out.printf(Locale.ROOT, "bare engine: %d images in %.2f s (%.2f images/s)%n", images, engineSeconds, images / engineSeconds);

            SparkSession spark = SparkSession.builder().master("local[" + cores + "]").appName("lfmcap bench")
                    .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
            spark.sparkContext().setLogLevel("WARN");
            double[] job = new double[3];
            for (int run = 0; run < job.length; run++) {
                long start = System.nanoTime();
                int code = CaptionJob.run("--input", imageDir.toString(), "--output", dir.resolve("out-" + run).toString(),
                        "--model", demo.model().toString(), "--backend", "cpu", "--engine-threads", "" + cores, "--max-batch", "8",
                        "--in-flight", "8", "--max-new-tokens", "" + maxNewTokens, "--progress-interval", "600");
                job[run] = (System.nanoTime() - start) / 1e9;
                if (code != 0) throw new IllegalStateException("CaptionJob exited " + code);
            }
            spark.stop();
            double warm = Math.min(job[1], job[2]);
            System.out.printf(Locale.ROOT, "CaptionJob (local[%d]): first run %.2f s (Spark and engine start), warm run %.2f s (%.2f images/s)%n",
                    cores, job[0], warm, images / warm);
            System.out.printf(Locale.ROOT, "job overhead over the bare engine (warm): %+.1f%%%n", 100 * (warm / engineSeconds - 1));
        }
    }

    /** Decode + preprocess every image on {@code threads} threads, 3 timed passes after 1 warm-up; the best pass's rate. */
    private static double preprocessRate(List<byte[]> jpegs, ImageDecoder decoder, ImageProcessor processor, int threads) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            double best = 0;
            for (int pass = 0; pass < 4; pass++) {
                long start = System.nanoTime();
                List<Future<Integer>> parts = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int first = t;
                    parts.add(pool.submit(() -> {
                        int views = 0;
                        for (int i = first; i < jpegs.size(); i += threads) {
                            RgbImage img = decoder.decode(jpegs.get(i), "bench-" + i);
                            ProcessedImage p = processor.process(img);
                            views += p.views().size();
                        }
                        return views;
                    }));
                }
                for (Future<Integer> f : parts) f.get();
                double rate = jpegs.size() / ((System.nanoTime() - start) / 1e9);
                if (pass > 0) best = Math.max(best, rate);
            }
            return best;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Captions all images keeping {@code window} requests in flight, as the job's tasks do; seconds. */
    private static double runEngine(CaptionEngine engine, List<byte[]> jpegs, int maxNewTokens, int window) throws Exception {
        long start = System.nanoTime();
        ArrayDeque<CompletableFuture<CaptionResult>> pending = new ArrayDeque<>();
        for (int i = 0; i < jpegs.size(); i++) {
            if (pending.size() == window) pending.poll().get();
            String id = "bench-" + i;
            pending.add(engine.submit(new CaptionRequest(id, ImageInput.of(id, jpegs.get(i)), CaptionRequest.DEFAULT_PROMPT,
                    SamplingParams.GREEDY, maxNewTokens)));
        }
        for (CompletableFuture<CaptionResult> f : pending) f.get();
        return (System.nanoTime() - start) / 1e9;
    }

    /** A photo-like 512x512 scene: sky gradient, hills, shapes, some texture; different per seed. */
    static byte[] scene(int w, int h, int seed) throws Exception {
        Random r = new Random(seed);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setPaint(new GradientPaint(0, 0, new Color(r.nextInt(256), r.nextInt(256), 255), 0, h / 2f, new Color(255, 200, r.nextInt(256))));
        g.fillRect(0, 0, w, h);
        for (int k = 0; k < 3; k++) {
            g.setColor(new Color(r.nextInt(120), 80 + r.nextInt(120), r.nextInt(100)));
            int[] xs = {0, r.nextInt(w), w};
            int[] ys = {h, h / 3 + r.nextInt(h / 3), h};
            g.fillPolygon(xs, ys, 3);
        }
        g.setStroke(new BasicStroke(3));
        for (int k = 0; k < 12; k++) {
            g.setColor(new Color(r.nextInt(256), r.nextInt(256), r.nextInt(256)));
            int x = r.nextInt(w), y = r.nextInt(h), s = 10 + r.nextInt(80);
            if (k % 2 == 0) g.fillOval(x, y, s, s); else g.drawRect(x, y, s, s / 2);
        }
        g.dispose();
        int[] row = new int[w];
        for (int y = 0; y < h; y++) { // sensor-like noise, so the JPEG has realistic detail
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int n = r.nextInt(17) - 8;
                int c = row[x];
                row[x] = (clamp(((c >> 16) & 0xff) + n) << 16) | (clamp(((c >> 8) & 0xff) + n) << 8) | clamp((c & 0xff) + n);
            }
            img.setRGB(0, y, w, 1, row, 0, w);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "jpg", out);
        return out.toByteArray();
    }

    private static int clamp(int v) { return Math.max(0, Math.min(255, v)); }
}
