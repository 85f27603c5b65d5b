package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudart.*;

import io.lfmcap.image.PatchGrid;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.List;
import org.bytedeco.cuda.cudart.CUevent_st;

/**
 * The host side of a vision pass's patches: two pinned buffers of one pass each, used in turn, so that the next
 * pass's uint8 levels can be written ({@link #fillAhead}) while the device still works on the previous pass and
 * before the host waits for it (CudaBackend fills the next prefill group's first pass before syncing the current
 * group). Each buffer's last copy is fenced by an event; a buffer is refilled only after its copy completed.
 * Float-form views go through buffer 0 in pieces ({@link #copyFloats}).
 */
final class PatchStaging implements AutoCloseable {
    private final GpuContext ctx;
    private final PinnedBuffer[] host = new PinnedBuffer[2];
    private final CUevent_st[] copied = {new CUevent_st(), new CUevent_st()};
    private int next;
    /** The views held by the buffer {@link #aheadBuffer} (same list instance), or null. */
    private List<PatchGrid> ahead;
    private int aheadBuffer;
    private int aheadBytes;
    private long passesFilledAhead;

    PatchStaging(GpuContext ctx, long bytesPerPass) {
        this.ctx = ctx;
        int made = 0;
        try {
            for (; made < 2; made++) {
                host[made] = new PinnedBuffer("vision patch staging " + made, bytesPerPass);
                Cuda.check(cudaEventCreateWithFlags(copied[made], cudaEventDisableTiming), "cudaEventCreateWithFlags");
            }
        } catch (RuntimeException e) {
            for (int i = 0; i <= made && i < 2; i++) {
                if (host[i] != null) host[i].close();
                cudaEventDestroy(copied[i]);
            }
            throw e;
        }
    }

    /** Writes the levels of a later pass's {@code views} (all in level form) now, into the buffer not in use. */
    void fillAhead(List<PatchGrid> views) {
        int b = next;
        aheadBytes = fill(b, views);
        aheadBuffer = b;
        ahead = views;
        next = 1 - b;
    }

    /**
     * Copies the levels of {@code views} (all in level form) to {@code deviceDst} on the stream: from the buffer
     * filled ahead for this very list, else through the next buffer now. Returns the bytes copied.
     */
    long copyLevels(List<PatchGrid> views, long deviceDst) {
        int b, bytes;
        if (ahead == views) {
            b = aheadBuffer;
            bytes = aheadBytes;
            passesFilledAhead++;
        } else {
            b = next;
            bytes = fill(b, views);
            next = 1 - b;
        }
        ahead = null;
        copy(b, deviceDst, bytes);
        return bytes;
    }

    /**
     * Float-form views: fp32 values through buffer 0 in pieces of at most its size; {@code piece} is called after
     * each piece's copy with (element offset, element count) so that the caller converts it on the stream.
     */
    void copyFloats(List<PatchGrid> views, long deviceDst, PieceConsumer piece) {
        ahead = null;
        FloatBuffer pinned = host[0].buffer().asFloatBuffer();
        int capacity = pinned.capacity();
        long done = 0;
        for (PatchGrid view : views) {
            float[] src = view.patches();
            for (int at = 0; at < src.length; at += capacity) {
                int n = Math.min(capacity, src.length - at);
                await(0);
                pinned.put(0, src, at, n);
                copy(0, deviceDst, 4L * n);
                piece.converted(done, n);
                done += n;
            }
        }
    }

    /** Passes whose levels were copied from a buffer filled ahead (so far). */
    long passesFilledAhead() { return passesFilledAhead; }

    interface PieceConsumer {
        void converted(long offset, int count);
    }

    private int fill(int b, List<PatchGrid> views) {
        await(b);
        ByteBuffer pinned = host[b].buffer();
        int fill = 0;
        for (PatchGrid view : views) {
            byte[] src = view.levels();
            pinned.put(fill, src, 0, src.length);
            fill += src.length;
        }
        return fill;
    }

    private void await(int b) {
        Cuda.check(cudaEventSynchronize(copied[b]), "waiting for an earlier vision patch copy");
    }

    private void copy(int b, long deviceDst, long bytes) {
        ctx.toDevice(deviceDst, host[b].address(), bytes);
        Cuda.check(cudaEventRecord(copied[b], ctx.stream), "cudaEventRecord(patch copy)");
    }

    @Override
    public void close() {
        for (int i = 0; i < 2; i++) {
            cudaEventDestroy(copied[i]);
            if (host[i] != null) host[i].close();
        }
    }
}
