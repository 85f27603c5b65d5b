package io.lfmcap.pte;

import io.lfmcap.model.tiny.RandomCheckpoint;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One-off measurement for docs/BENCHMARKS.md ("Export"): writes a random checkpoint of the real
 * LFM2.5-VL-450M shape (about 0.9 GB of BF16 weights), exports it with the weights inside and as
 * .pte + .ptd, then opens and verifies the result, printing wall time and peak heap of each step.
 * Run it in a JVM with a small heap to show that memory does not grow with the model (about 3.6 GB of
 * disk in WORKDIR; the checkpoint is reused when WORKDIR already has one):
 *
 * <pre>
 * mvn -q -pl runtime -Dlfmcap.buildDir=target-bench test-compile exec:exec -Dexec.classpathScope=test \
 *     -Dexec.executable=java -Dexec.args="-Xmx256m -cp %classpath io.lfmcap.pte.ExportBenchmark /tmp/export-bench"
 * </pre>
 */
public final class ExportBenchmark {
    private ExportBenchmark() {}

    public static void main(String[] args) throws IOException {
        Path work = Path.of(args[0]);
        Path checkpoint = work.resolve("lfm2.5-vl-450m-random");
        HeapPeak heap = new HeapPeak();
        if (!Files.exists(checkpoint.resolve("model.safetensors"))) {
            String config;
            try (InputStream in = ExportBenchmark.class.getResourceAsStream("/io/lfmcap/model/lfm2.5-vl-450m.config.json")) {
                config = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            long t = System.nanoTime();
            RandomCheckpoint.write(checkpoint, config, 450);
            report("write random checkpoint", t, heap, Files.size(checkpoint.resolve("model.safetensors")));
        }
        for (boolean external : new boolean[] {false, true}) {
            Path out = work.resolve(external ? "external/model.pte" : "inside/model.pte");
            Files.createDirectories(out.getParent());
            heap.reset();
            long t = System.nanoTime();
            PteExporter.Result r = PteExporter.export(checkpoint, out, external, ProgressListener.NONE);
            report("export" + (external ? " --external-weights" : ""), t, heap, r.weightBytes());
            System.out.printf(Locale.ROOT, "  %s %s, %d tensors, file sha256 %s%n", r.identity().family(), r.identity().variant(), r.tensors(), r.fileSha256());

            heap.reset();
            t = System.nanoTime();
            try (PteModelPackage p = PteModelPackage.open(out)) {
                report("open (all structural checks)", t, heap, 0);
                heap.reset();
                t = System.nanoTime();
                PteModelPackage.Verification v = p.verify();
                report("verify checksums", t, heap, v.bytesHashed());
                t = System.nanoTime();
                p.verify();
                report("verify again (cached)", t, heap, 0);
            }
        }
        heap.stop();
    }

    private static void report(String step, long startNanos, HeapPeak heap, long bytes) {
        double s = (System.nanoTime() - startNanos) / 1e9;
        String rate = bytes > 0 ? String.format(Locale.ROOT, ", %.0f MB/s", bytes / 1e6 / s) : "";
        System.out.printf(Locale.ROOT, "%-34s %8.2f s%s, peak heap used %d MiB (max %d MiB)%n", step, s, rate,
                heap.peak() >> 20, Runtime.getRuntime().maxMemory() >> 20);
    }

    /** Samples used heap every 10 ms and also reads the pools' peak usage after each reset. */
    private static final class HeapPeak {
        private final AtomicLong peak = new AtomicLong();
        private final Thread sampler;
        private volatile boolean running = true;

        HeapPeak() {
            sampler = new Thread(() -> {
                while (running) {
                    long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
                    peak.accumulateAndGet(used, Math::max);
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "heap-sampler");
            sampler.setDaemon(true);
            sampler.start();
        }

        void reset() {
            System.gc();
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) if (pool.getType() == MemoryType.HEAP) pool.resetPeakUsage();
            peak.set(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }

        long peak() {
            long pools = 0;
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) if (pool.getType() == MemoryType.HEAP) pools += pool.getPeakUsage().getUsed();
            return Math.max(peak.get(), Math.min(pools, Runtime.getRuntime().maxMemory()));
        }

        void stop() { running = false; }
    }
}
