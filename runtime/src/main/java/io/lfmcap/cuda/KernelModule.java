package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudart.cuModuleGetFunction;
import static org.bytedeco.cuda.global.cudart.cuModuleLoadData;
import static org.bytedeco.cuda.global.cudart.cuModuleUnload;
import static org.bytedeco.cuda.global.nvrtc.*;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * The kernels of {@code kernels.cu} and {@code decode.cu} (resources next to this class, compiled as one
 * program, in that order: decode.cu uses kernels.cu's helpers), compiled once per process with NVRTC
 * for the device's architecture (sm_90a on compute capability 9.0, whose architecture-specific wgmma the vision
 * attention uses; kernels.cu guards that code) and loaded as a module. CUBINs are cached on disk under a name keyed by the
 * SHA-256 of (source, architecture, NVRTC version, options), so later processes skip the compile (a cached
 * file that fails to load is compiled again and replaced).
 */
final class KernelModule implements AutoCloseable {
    static final String SOURCE = "kernels.cu";
    private static final String[] SOURCES = {SOURCE, "decode.cu"};
    private static final String[] OPTIONS = {"--std=c++17"};

    private final CUmod_st module;
    private final Map<String, CUfunc_st> functions = new HashMap<>();
    private boolean closed;

    private KernelModule(CUmod_st module) {
        this.module = module;
    }

    /** Loads the module for compute capability {@code major.minor}, compiling it unless {@code cacheDir} has it. */
    static KernelModule load(int major, int minor, Path cacheDir) {
        String source = source();
        String arch = architecture(major, minor);
        int[] nvMajor = {0}, nvMinor = {0};
        Cuda.checkNvrtc(nvrtcVersion(nvMajor, nvMinor), "nvrtcVersion", null);
        String key = sha256(source + "\n" + arch + "\nnvrtc " + nvMajor[0] + "." + nvMinor[0] + "\n" + String.join(" ", OPTIONS));
        Path cached = cacheDir == null ? null : cacheDir.resolve("lfmcap-kernels-" + arch + "-" + key.substring(0, 32) + ".cubin");
        if (cached != null && Files.isRegularFile(cached)) {
            try {
                return new KernelModule(loadImage(Files.readAllBytes(cached)));
            } catch (IOException | CudaException e) {
                // a truncated or stale cache entry: compile again below and replace it
            }
        }
        byte[] cubin = compile(source, arch);
        if (cached != null) store(cached, cubin);
        return new KernelModule(loadImage(cubin));
    }

    /** The NVRTC architecture for compute capability {@code major.minor}: Hopper's features need the "a" target. */
    static String architecture(int major, int minor) {
        return "sm_" + major + minor + (hasWarpgroupMma(major, minor) ? "a" : "");
    }

    /** Whether the module has the wgmma kernels (attention_wg_hd*): compute capability 9.0 (H100, H200) only. */
    static boolean hasWarpgroupMma(int major, int minor) { return major == 9 && minor == 0; }

    CUfunc_st function(String name) {
        return functions.computeIfAbsent(name, n -> {
            CUfunc_st f = new CUfunc_st();
            Cuda.checkDriver(cuModuleGetFunction(f, module, n), "cuModuleGetFunction(" + n + ")");
            return f;
        });
    }

    private static CUmod_st loadImage(byte[] cubin) {
        CUmod_st m = new CUmod_st();
        Cuda.checkDriver(cuModuleLoadData(m, new BytePointer(cubin)), "cuModuleLoadData(" + SOURCE + ")");
        return m;
    }

    private static byte[] compile(String source, String arch) {
        _nvrtcProgram program = new _nvrtcProgram();
        Cuda.checkNvrtc(nvrtcCreateProgram(program, new BytePointer(source), new BytePointer(SOURCE), 0,
                (PointerPointer<?>) null, (PointerPointer<?>) null), "nvrtcCreateProgram(" + SOURCE + ")", null);
        try {
            String[] options = new String[OPTIONS.length + 1];
            options[0] = "--gpu-architecture=" + arch;
            System.arraycopy(OPTIONS, 0, options, 1, OPTIONS.length);
            int status = nvrtcCompileProgram(program, options.length, new PointerPointer<BytePointer>(options));
            Cuda.checkNvrtc(status, "nvrtcCompileProgram(" + SOURCE + ", " + arch + ")", log(program));
            SizeTPointer size = new SizeTPointer(1);
            Cuda.checkNvrtc(nvrtcGetCUBINSize(program, size), "nvrtcGetCUBINSize", null);
            byte[] cubin = new byte[(int) size.get()];
            Cuda.checkNvrtc(nvrtcGetCUBIN(program, cubin), "nvrtcGetCUBIN", null);
            if (cubin.length == 0) throw new IllegalStateException("NVRTC produced no CUBIN for " + arch);
            return cubin;
        } finally {
            nvrtcDestroyProgram(program);
        }
    }

    private static String log(_nvrtcProgram program) {
        SizeTPointer size = new SizeTPointer(1);
        if (nvrtcGetProgramLogSize(program, size) != 0 || size.get() <= 1) return null;
        byte[] text = new byte[(int) size.get()];
        nvrtcGetProgramLog(program, text);
        return new String(text, 0, text.length - 1, StandardCharsets.UTF_8);
    }

    /** Writes the cache entry atomically; a cache that cannot be written is only slower, never an error. */
    private static void store(Path file, byte[] cubin) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            Files.write(tmp, cubin);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | UnsupportedOperationException e) {
            System.err.println("lfmcap: could not cache compiled kernels in " + file.getParent() + ": " + e.getMessage());
        }
    }

    /** The program's source: every file of {@link #SOURCES}, in order. */
    static String source() {
        StringBuilder program = new StringBuilder();
        for (String file : SOURCES) {
            try (InputStream in = KernelModule.class.getResourceAsStream(file)) {
                if (in == null) throw new IllegalStateException(file + " is missing from the classpath next to " + KernelModule.class.getName());
                program.append("// ---- ").append(file).append('\n').append(new String(in.readAllBytes(), StandardCharsets.UTF_8)).append('\n');
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return program.toString();
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Cuda.checkDriver(cuModuleUnload(module), "cuModuleUnload(" + SOURCE + ")");
    }
}
