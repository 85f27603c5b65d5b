package io.lfmcap.cuda;

import java.util.Set;

/**
 * A failed call into CUDA (runtime, driver, cuBLAS, cuBLASLt, cuDNN or NVRTC), naming the operation, the library
 * and its status. {@link #breaksContext()} tells whether the device context is unusable afterwards (a
 * kernel fault): the backend then reports itself broken instead of running on.
 */
public final class CudaException extends RuntimeException {
    /** cudaError_t / CUresult codes after which the context stays in error ("sticky" errors). */
    private static final Set<Integer> STICKY = Set.of(700, 702, 710, 714, 715, 716, 717, 718, 719, 720, 999);

    private final String library;
    private final String operation;
    private final int status;

    CudaException(String library, String operation, int status, String statusName, String detail) {
        super(operation + " failed: " + library + " status " + status + " (" + statusName + ")"
                + (detail == null || detail.isBlank() ? "" : ": " + detail));
        this.library = library;
        this.operation = operation;
        this.status = status;
    }

    /** "cudart", "driver", "cublas", "cublasLt", "cudnn" or "nvrtc". */
    public String library() { return library; }

    /** What was being done, e.g. "cuLaunchKernel(rms_norm)" or "cudaMalloc(KV cache, 2.0 GiB)". */
    public String operation() { return operation; }

    public int status() { return status; }

    /** True for a kernel fault or similar: every later call in this process on that device fails too. */
    public boolean breaksContext() {
        return (library.equals("cudart") || library.equals("driver")) && STICKY.contains(status);
    }
}
