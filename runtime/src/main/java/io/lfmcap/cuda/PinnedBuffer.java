package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudart.cudaFreeHost;
import static org.bytedeco.cuda.global.cudart.cudaHostGetDevicePointer;
import static org.bytedeco.cuda.global.cudart.cudaMallocHost;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * Page-locked host memory ({@code cudaMallocHost}) for asynchronous copies, seen from Java as a
 * little-endian {@link ByteBuffer}. Freed by {@link #close()}.
 */
final class PinnedBuffer implements AutoCloseable {
    private final String what;
    private final BytePointer pointer;
    private final ByteBuffer buffer;
    private boolean closed;

    PinnedBuffer(String what, long bytes) {
        if (bytes > Integer.MAX_VALUE) throw new IllegalArgumentException(what + ": pinned buffer of " + bytes + " bytes is over 2 GiB");
        this.what = what;
        BytePointer p = new BytePointer();
        Cuda.check(cudaMallocHost(p, bytes), "cudaMallocHost(" + what + ", " + Cuda.mib(bytes) + ")");
        p.capacity(bytes);
        this.pointer = p;
        this.buffer = p.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    long address() { return pointer.address(); }

    /** The buffer's address as kernels see it (cudaHostGetDevicePointer: mapped host memory, read and written over PCIe). */
    long deviceAddress() {
        PointerPointer<Pointer> onDevice = new PointerPointer<>(1);
        Cuda.check(cudaHostGetDevicePointer(onDevice, pointer, 0), "cudaHostGetDevicePointer(" + what + ")");
        return onDevice.get(0).address();
    }

    int bytes() { return buffer.capacity(); }

    /** The whole buffer; callers use absolute positions (duplicate() before relative operations). */
    ByteBuffer buffer() { return buffer; }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Cuda.check(cudaFreeHost(pointer), "cudaFreeHost(" + what + ")");
    }
}
