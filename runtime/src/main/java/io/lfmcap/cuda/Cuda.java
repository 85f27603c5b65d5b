package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * Status checks that turn CUDA error codes into {@link CudaException}s naming the operation, and raw
 * addresses as JavaCPP pointers. Device memory is handled as {@code long} addresses (JavaCPP's
 * {@code position()} on a {@code void*} parameter counts bytes whatever the pointer class, so offsets are
 * added by hand, once, here).
 */
final class Cuda {
    static final int BF16 = CUDA_R_16BF;
    static final int F32 = CUDA_R_32F;

    private Cuda() {}

    static void check(int status, String operation) {
        if (status != 0) throw new CudaException("cudart", operation, status, runtimeName(status), runtimeText(status));
    }

    static void checkDriver(int status, String operation) {
        if (status == 0) return;
        BytePointer name = new BytePointer(); // filled with the address of a static string
        String n = cuGetErrorName(status, name) == 0 && !name.isNull() ? name.getString() : "CUresult " + status;
        throw new CudaException("driver", operation, status, n, null);
    }

    static void checkCublas(int status, String operation) {
        if (status != 0) throw new CudaException("cublas", operation, status, cublas.cublasGetStatusString(status).getString(), null);
    }

    static void checkNvrtc(int status, String operation, String log) {
        if (status != 0) throw new CudaException("nvrtc", operation, status, nvrtc.nvrtcGetErrorString(status).getString(), log);
    }

    private static String runtimeName(int status) {
        BytePointer p = cudaGetErrorName(status);
        return p == null ? "cudaError " + status : p.getString();
    }

    private static String runtimeText(int status) {
        BytePointer p = cudaGetErrorString(status);
        return p == null ? null : p.getString();
    }

    /** A pointer to {@code address} (device or host) for a JavaCPP call; no ownership. */
    static Pointer at(long address) { return new Address(address); }

    private static final class Address extends Pointer {
        Address(long address) { this.address = address; }
    }

    static String mib(long bytes) { return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0); }
}
