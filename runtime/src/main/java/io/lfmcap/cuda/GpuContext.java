package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import org.bytedeco.cuda.cudart.CUlaunchAttribute;
import org.bytedeco.cuda.cudart.CUlaunchConfig;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

import java.util.HashMap;
import java.util.Map;

/**
 * What one GPU worker thread owns on its device: a non-blocking stream, the compiled kernels, the cuBLAS
 * and cuBLASLt handles ({@link Gemm}) and the preallocated kernel-argument array. Every call must come from
 * the thread that opened it (see {@link GpuWorker}). Closing releases everything it created.
 */
final class GpuContext implements AutoCloseable {
    final int device;
    final String name;
    final int ccMajor;
    final int ccMinor;
    /** Streaming multiprocessors of the device. */
    final int sms;
    final CUstream_st stream;
    final KernelModule kernels;
    /** Set once in {@link #open}, right after the context exists (Gemm launches through it). */
    Gemm gemm;
    private final KernelArgs args = new KernelArgs();
    private final Map<String, Integer> residentBlocks = new HashMap<>();
    private final CUlaunchConfig dependentLaunch = new CUlaunchConfig();
    private final CUlaunchAttribute serialization = new CUlaunchAttribute();
    private boolean closed;

    private GpuContext(int device, String name, int ccMajor, int ccMinor, int sms, CUstream_st stream, KernelModule kernels) {
        this.device = device;
        this.name = name;
        this.ccMajor = ccMajor;
        this.ccMinor = ccMinor;
        this.sms = sms;
        this.stream = stream;
        this.kernels = kernels;
        serialization.id(CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION);
        serialization.value().programmaticStreamSerializationAllowed(1);
    }

    /** Makes {@code device} current on this thread and sets up a stream, kernels and BLAS handles on it. */
    static GpuContext open(int device, CudaOptions options) {
        int[] count = {0};
        Cuda.check(cudaGetDeviceCount(count), "cudaGetDeviceCount");
        if (device < 0 || device >= count[0])
            throw new IllegalArgumentException("CUDA device " + device + " does not exist: this node has " + count[0]
                    + " visible device(s) (CUDA_VISIBLE_DEVICES renumbers them from 0)");
        Cuda.check(cudaSetDevice(device), "cudaSetDevice(" + device + ")");
        Cuda.check(cudaFree(null), "cudaFree(0) (creating the device context)");
        cudaDeviceProp props = new cudaDeviceProp();
        Cuda.check(cudaGetDeviceProperties(props, device), "cudaGetDeviceProperties(" + device + ")");
        String name = props.name().getString();
        int major = props.major(), minor = props.minor();
        if (major < 8)
            throw new IllegalStateException("CUDA device " + device + " (" + name + ", compute capability " + major + "." + minor
                    + ") is too old: the bf16 tensor-core kernels need compute capability 8.0 or newer");
        CUstream_st stream = new CUstream_st();
        Cuda.check(cudaStreamCreateWithFlags(stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
        KernelModule kernels = null;
        try {
            kernels = KernelModule.load(major, minor, options.kernelCacheDir());
            GpuContext ctx = new GpuContext(device, name, major, minor, props.multiProcessorCount(), stream, kernels);
            ctx.gemm = new Gemm(ctx, options.fusedEpilogues(), options.gemmTuning());
            return ctx;
        } catch (RuntimeException | Error e) {
            if (kernels != null) kernels.close();
            cudaStreamDestroy(stream);
            throw e;
        }
    }

    /** The argument array for the next launch, emptied. */
    KernelArgs args() { return args.begin(); }

    /** Launches {@code kernel} on this context's stream with the arguments last filled through {@link #args()}. */
    void launch(String kernel, long gridX, int gridY, int gridZ, int block, int sharedBytes) {
        if (gridX <= 0 || gridY <= 0 || gridZ <= 0) return;
        if (gridX > Integer.MAX_VALUE) throw new IllegalArgumentException(kernel + ": grid of " + gridX + " blocks");
        Cuda.checkDriver(cuLaunchKernel(kernels.function(kernel), (int) gridX, gridY, gridZ, block, 1, 1, sharedBytes,
                stream, args.params(), (PointerPointer<?>) null), "cuLaunchKernel(" + kernel + ")");
    }

    /**
     * {@link #launch} as a programmatic dependent of the kernel before it on the stream (sm_90+: programmatic
     * stream serialization; elsewhere a plain launch): it may start while that kernel finishes, so it must wait
     * (griddepcontrol.wait, decode.cu pdl_wait) before touching anything the kernel before it writes. Works inside
     * stream capture (the graph gets a programmatic edge).
     */
    void launchDependent(String kernel, long gridX, int gridY, int gridZ, int block, int sharedBytes) {
        if (ccMajor < 9) {
            launch(kernel, gridX, gridY, gridZ, block, sharedBytes);
            return;
        }
        if (gridX <= 0 || gridY <= 0 || gridZ <= 0) return;
        if (gridX > Integer.MAX_VALUE) throw new IllegalArgumentException(kernel + ": grid of " + gridX + " blocks");
        dependentLaunch.gridDimX((int) gridX).gridDimY(gridY).gridDimZ(gridZ).blockDimX(block).blockDimY(1).blockDimZ(1)
                .sharedMemBytes(sharedBytes).hStream(stream).attrs(serialization).numAttrs(1);
        Cuda.checkDriver(cuLaunchKernelEx(dependentLaunch, kernels.function(kernel), args.params(), (PointerPointer<?>) null),
                "cuLaunchKernelEx(" + kernel + ", programmatic)");
    }

    /**
     * How many blocks of {@code kernel} ({@code block} threads, {@code sharedBytes} of dynamic shared memory) the device
     * holds at once: its SMs times the blocks per SM that the kernel's registers and shared memory allow.
     */
    int residentBlocks(String kernel, int block, int sharedBytes) {
        return residentBlocks.computeIfAbsent(kernel + "/" + block + "/" + sharedBytes, key -> {
            int[] perSm = {0};
            Cuda.checkDriver(cuOccupancyMaxActiveBlocksPerMultiprocessor(perSm, kernels.function(kernel), block, sharedBytes),
                    "cuOccupancyMaxActiveBlocksPerMultiprocessor(" + kernel + ")");
            return sms * Math.max(1, perSm[0]);
        });
    }

    /** Blocks until the stream's work is done; {@code after} names that work in errors. */
    void sync(String after) {
        Cuda.check(cudaStreamSynchronize(stream), "cudaStreamSynchronize after " + after);
    }

    void toDevice(long dst, long hostSrc, long bytes) {
        if (bytes > 0) Cuda.check(cudaMemcpyAsync(Cuda.at(dst), Cuda.at(hostSrc), bytes, cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync(host to device, " + bytes + " bytes)");
    }

    void toHost(long hostDst, long src, long bytes) {
        if (bytes > 0) Cuda.check(cudaMemcpyAsync(Cuda.at(hostDst), Cuda.at(src), bytes, cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync(device to host, " + bytes + " bytes)");
    }

    void zero(long dst, long bytes) {
        if (bytes > 0) Cuda.check(cudaMemsetAsync(Cuda.at(dst), 0, bytes, stream), "cudaMemsetAsync(" + bytes + " bytes)");
    }

    /** {free, total} device memory in bytes. */
    static long[] memoryInfo() {
        SizeTPointer free = new SizeTPointer(1), total = new SizeTPointer(1);
        Cuda.check(cudaMemGetInfo(free, total), "cudaMemGetInfo");
        return new long[] {free.get(), total.get()};
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            cudaStreamSynchronize(stream);
            if (gemm != null) gemm.close();
            kernels.close();
        } finally {
            cudaStreamDestroy(stream);
        }
    }
}
