package io.lfmcap.cuda;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether this machine can run the CUDA backend, found out cheaply and without ever throwing: no NVIDIA
 * driver files means no GPU and nothing native is loaded; otherwise JavaCPP loads the CUDA runtime and asks
 * for the device count (a missing or mismatched CUDA 13 runtime counts as no device). The answer is
 * computed once per process. System property {@value #DISABLE_PROPERTY}=true answers 0 without looking.
 */
public final class CudaDevices {
    public static final String DISABLE_PROPERTY = "lfmcap.cuda.disable";
    private static volatile Probe result;

    private record Probe(int count, String reason) {}

    private CudaDevices() {}

    /** Visible CUDA devices usable by this runtime, 0 when none (or CUDA cannot be loaded). */
    public static int count() { return probe().count; }

    /** Whether device {@code index} exists and CUDA loads. */
    public static boolean usable(int index) { return index >= 0 && index < count(); }

    /** Why {@link #count()} is 0 (for messages), or null when devices were found. */
    public static String unavailableReason() { return probe().reason; }

    private static Probe probe() {
        Probe p = result;
        if (p == null) {
            synchronized (CudaDevices.class) {
                if (result == null) result = look();
                p = result;
            }
        }
        return p;
    }

    private static Probe look() {
        if (Boolean.getBoolean(DISABLE_PROPERTY)) return new Probe(0, "disabled by -D" + DISABLE_PROPERTY + "=true");
        if (!Files.exists(Path.of("/dev/nvidiactl")) && !Files.exists(Path.of("/proc/driver/nvidia/version")))
            return new Probe(0, "no NVIDIA driver on this machine");
        try {
            int n = NativeProbe.count();
            return n > 0 ? new Probe(n, null) : new Probe(0, "the CUDA runtime reports no device");
        } catch (Throwable t) {
            return new Probe(0, "the CUDA 13 runtime could not be loaded (" + t + "); see docs/CUDA.md");
        }
    }

    /** Touches JavaCPP only when called (class initialisation loads the natives). */
    private static final class NativeProbe {
        static int count() {
            int[] n = {0};
            int status = org.bytedeco.cuda.global.cudart.cudaGetDeviceCount(n);
            return status == 0 ? n[0] : 0;
        }
    }
}
