package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import java.nio.ByteBuffer;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUevent_st;

/**
 * The host side of passes whose greedy picks are read after the next pass is launched: overlapped decode steps
 * ({@link CudaBackend#launchDecode}) and the groups of a prefill. Each launched pass's argmax writes its picks into one
 * of two pinned slots itself ({@link #slot}; a copy back after a decode step's graph cost the step 8.5 us, decode_bench
 * s11-10), fenced by that slot's event, and read when its result is asked for; and which sequence sat in which
 * row of the last launched pass, since a later decode step may feed a sequence the pick the device left in that row
 * (TextDecoder.decodeStep's fromPrev). Passes are read in launch order with at most two outstanding: pass n is read
 * before pass n + 2 is launched, so a slot is never refilled unread.
 */
final class LaunchedSteps implements AutoCloseable {
    private final GpuContext ctx;
    private final int slotInts;
    private final PinnedBuffer picks;
    private final long slotsOnDevice;  // the pinned slots' address as kernels see it
    private final CUevent_st[] written = {new CUevent_st(), new CUevent_st()};
    private long launched;
    private long read;
    /** Rows of the last launched step whose picks are still in the device's pick buffer; null when overwritten. */
    private Map<CudaSequence, Integer> lastRows;

    LaunchedSteps(GpuContext ctx, int maxSequences) {
        this.ctx = ctx;
        this.slotInts = maxSequences;
        this.picks = new PinnedBuffer("decode step picks", 2 * 4L * maxSequences);
        int made = 0;
        try {
            slotsOnDevice = picks.deviceAddress();
            for (; made < 2; made++) Cuda.check(cudaEventCreateWithFlags(written[made], cudaEventDisableTiming), "cudaEventCreateWithFlags");
        } catch (RuntimeException e) {
            for (int i = 0; i < made; i++) cudaEventDestroy(written[i]);
            picks.close();
            throw e;
        }
    }

    /**
     * The device address of the slot the next recorded pass takes: its argmax writes the picks there. Asked before the
     * pass is launched, so that a slot is never written while its pass is unread.
     */
    long slot() {
        if (launched - read >= 2) throw new IllegalStateException("two decode steps are already outstanding: read the older one first");
        return slotsOnDevice + 4L * (launched % 2) * slotInts;
    }

    /** The row of {@code s} in the last launched step, whose pick is still on the device; -1 if none. */
    int lastRow(CudaSequence s) {
        Integer row = lastRows == null ? null : lastRows.get(s);
        return row == null ? -1 : row;
    }

    /** Whether every launched pass has been read. */
    boolean idle() { return read == launched; }

    /** The device's pick buffer was overwritten (a prefill, a synchronous step): no later step may feed from it. */
    void forget() { lastRows = null; }

    /**
     * After a step's launches on the stream, whose argmax wrote one pick per row of {@code rows} into {@link #slot}:
     * fences the slot. Returns the step's number, for {@link #read}.
     */
    long record(List<CudaSequence> rows) {
        if (launched - read >= 2) throw new IllegalStateException("two decode steps are already outstanding: read the older one first");
        int slot = (int) (launched % 2);
        Cuda.check(cudaEventRecord(written[slot], ctx.stream), "cudaEventRecord(decode step picks)");
        Map<CudaSequence, Integer> map = new IdentityHashMap<>(rows.size() * 2);
        for (int i = 0; i < rows.size(); i++) map.put(rows.get(i), i);
        lastRows = map;
        return launched++;
    }

    /** Waits for step {@code number}'s picks (steps are read in launch order) and returns its {@code n} of them. */
    int[] read(long number, int n) {
        if (number != read) throw new IllegalStateException("decode steps are read in launch order: step " + number + " asked before step " + read);
        int slot = (int) (number % 2);
        Cuda.check(cudaEventSynchronize(written[slot]), "waiting for a decode step's picks");
        ByteBuffer b = picks.buffer();
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = b.getInt(4 * (slot * slotInts + i));
        read++;
        return out;
    }

    /** After a failed call: steps launched but not read are dropped (their results are not wanted any more). */
    void abandon() {
        read = launched;
        lastRows = null;
    }

    @Override
    public void close() {
        for (CUevent_st e : written) cudaEventDestroy(e);
        picks.close();
    }
}
