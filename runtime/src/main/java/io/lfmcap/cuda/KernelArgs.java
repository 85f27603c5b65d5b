package io.lfmcap.cuda;

import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * The {@code void* kernelParams[]} of {@code cuLaunchKernel}, preallocated once per context: slot i holds
 * argument i's value (8 bytes; 4-byte ints and floats in the low half, little-endian) and params[i] points
 * at slot i. Filled per launch with {@link #begin()} then {@code ptr/i32/i64/f32} in the kernel's
 * parameter order; no allocation per launch. Passed as a {@link PointerPointer}: JavaCPP's {@code Pointer}
 * overload of cuLaunchKernel takes its {@code void**} parameters by pointer-to-pointer ({@code @ByPtrPtr}),
 * which would hand the driver the address of a temporary and a non-null {@code extra}
 * (CUDA_ERROR_INVALID_VALUE).
 */
final class KernelArgs {
    static final int MAX = 32;
    private final LongPointer slots = new LongPointer(MAX);
    private final LongPointer addresses = new LongPointer(MAX);
    private final PointerPointer<?> params;
    private int count;

    KernelArgs() {
        for (int i = 0; i < MAX; i++) addresses.put(i, slots.address() + 8L * i);
        params = new PointerPointer<>(addresses);
    }

    KernelArgs begin() {
        count = 0;
        return this;
    }

    /** A device address (a {@code T*} parameter); 0 passes a null pointer. */
    KernelArgs ptr(long address) { return put(address); }

    KernelArgs i32(int v) { return put(v & 0xffffffffL); }

    KernelArgs i64(long v) { return put(v); }

    KernelArgs f32(float v) { return put(Float.floatToRawIntBits(v) & 0xffffffffL); }

    private KernelArgs put(long v) {
        if (count == MAX) throw new IllegalStateException("more than " + MAX + " kernel arguments");
        slots.put(count++, v);
        return this;
    }

    /** The array to pass as {@code kernelParams}. */
    PointerPointer<?> params() { return params; }
}
