package io.lfmcap.cuda;

import io.lfmcap.engine.ModelBackend.Candidates;
import io.lfmcap.engine.ModelBackend.Pick;
import io.lfmcap.engine.ModelBackend.SparseLogits;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Host picks that need only a few logits ({@link Candidates}: the recommended min-p sampling, greedy under a
 * repetition penalty) get only those: kernels.cu's logit_candidates selects them on the device, and a few
 * kilobytes per sequence come back instead of its whole row (256 KiB at LFM2's 65,536 tokens). The draw stays on the
 * host (TokenSampler), so it is the same token as from the whole row. Rows with more than {@link #CAP} candidates
 * (flat logits, a high temperature) are read whole.
 * <pre>
 *   seen sets   bits [slot][vocab / 32]: the prompt's ids at prefill (seen_reset), then each token a step is fed
 *               (logit_candidates adds it before selecting): the ids a repetition penalty moves
 *   per pass    count [row], ids / logits [row][CAP] of the candidate rows -> pinned buffer -> SparseLogits
 * </pre>
 * Used from the GPU worker thread only.
 */
final class LogitCandidates implements AutoCloseable {
    /** Candidates per row copied back by default; a row with more is read whole. */
    static final int CAP = 2048;

    private final GpuContext ctx;
    private final int vocab;
    private final int seenWords;
    private final int maxSequences;
    private final int cap;
    private final DeviceMemory memory;
    private final long seen, counts, ids, logits;
    private final PinnedBuffer host;
    /** Pass rows of the candidate picks of the last {@link #select} (in order), and how many there were. */
    private int[] rows = new int[0];
    private int selected;
    private long rowsSelected, rowsWhole;

    /** For passes of up to {@code maxSequences} rows (and as many sequence slots), {@code cap} candidates per row. */
    LogitCandidates(GpuContext ctx, int vocab, int maxSequences, int cap) {
        this.ctx = ctx;
        this.vocab = vocab;
        this.seenWords = (vocab + 31) / 32;
        this.maxSequences = maxSequences;
        this.cap = cap;
        this.memory = DeviceMemory.allocate("logit candidates",
                4L * seenWords * maxSequences + 4L * maxSequences + 8L * cap * maxSequences + 4 * DeviceMemory.ALIGNMENT);
        seen = memory.take(4L * seenWords * maxSequences);
        counts = memory.take(4L * maxSequences);
        ids = memory.take(4L * cap * maxSequences);
        logits = memory.take(4L * cap * maxSequences);
        host = new PinnedBuffer("logit candidates", DeviceMemory.align(4L * maxSequences) + 8L * cap * maxSequences);
    }

    /** Whether any of {@code picks} wants candidates. */
    static boolean wanted(List<Pick> picks) {
        for (Pick p : picks) if (p.candidates() != null) return true;
        return false;
    }

    /**
     * Gives the sequences (slot per pass row) whose picks track what they have seen the set of their prompt's ids
     * (before their first pick: a prefill pass).
     */
    void track(int[] slots, List<int[]> prompts, List<Pick> picks, PassUpload up) {
        List<Integer> tracked = new ArrayList<>();
        List<Integer> starts = new ArrayList<>();
        int total = 0;
        for (int i = 0; i < picks.size(); i++) {
            Candidates c = picks.get(i).candidates();
            if (c == null || !c.seen()) continue;
            tracked.add(slots[i]);
            starts.add(total);
            total += prompts.get(i).length;
        }
        if (tracked.isEmpty()) return;
        starts.add(total);
        int[] all = new int[total];
        int at = 0;
        for (int i = 0; i < picks.size(); i++) {
            Candidates c = picks.get(i).candidates();
            if (c == null || !c.seen()) continue;
            System.arraycopy(prompts.get(i), 0, all, at, prompts.get(i).length);
            at += prompts.get(i).length;
        }
        long dSlots = up.ints(ints(tracked)), dStarts = up.ints(ints(starts)), dIds = up.ints(all);
        up.send();
        Kernels.seenReset(ctx, Kernels.Grid.of(tracked.size(), 256), seen, seenWords, dSlots, dStarts, dIds);
    }

    /**
     * Selects the candidates of the candidate picks among {@code picks}, rows of the pass whose logits sit at
     * {@code passLogits} ({@code slots}: each row's sequence slot); {@code fed} (null at prefill) holds the token each
     * row's step was fed, which joins its seen set first. Enqueues the copy back; {@link #read} the results once the
     * stream is synchronised.
     */
    void select(List<Pick> picks, int[] slots, int[] fed, long passLogits, PassUpload up) {
        int n = picks.size();
        if (rows.length < n) rows = new int[n];
        selected = 0;
        for (int i = 0; i < n; i++) if (picks.get(i).candidates() != null) rows[selected++] = i;
        if (selected == 0) return;
        int[] logitRow = new int[selected], banned = new int[selected], offset = new int[selected], slot = new int[selected], newSeen = new int[selected];
        for (int j = 0; j < selected; j++) {
            int i = rows[j];
            Pick p = picks.get(i);
            logitRow[j] = i;
            banned[j] = p.bannedToken() >= 0 && p.bannedToken() < vocab ? p.bannedToken() : -1;
            offset[j] = Float.floatToRawIntBits(p.candidates().offset());
            slot[j] = p.candidates().seen() ? slots[i] : -1;
            newSeen[j] = p.candidates().seen() && fed != null ? fed[i] : -1;
        }
        long dRow = up.ints(logitRow), dBanned = up.ints(banned), dOffset = up.ints(offset), dSlot = up.ints(slot), dNew = up.ints(newSeen);
        up.send();
        Kernels.logitCandidates(ctx, Kernels.Grid.of(selected, 1024), passLogits, vocab, dRow, dBanned, dOffset, seen, seenWords, dSlot,
                dNew, cap, counts, ids, logits);
        ctx.toHost(host.address(), counts, 4L * selected);
        ctx.toHost(host.address() + idsAt(), ids, 4L * cap * selected);
        ctx.toHost(host.address() + logitsAt(), logits, 4L * cap * selected);
        rowsSelected += selected;
    }

    /**
     * After the stream is synchronised: the candidates of pass row {@code i} where its pick wanted them, each as
     * SparseLogits, or null where there were more than the cap (read that row whole) or none were wanted.
     */
    SparseLogits[] read(int n) {
        SparseLogits[] out = new SparseLogits[n];
        ByteBuffer b = host.buffer();
        for (int j = 0; j < selected; j++) {
            int count = b.getInt(4 * j);
            if (count > cap) {
                rowsWhole++;
                continue;
            }
            int[] rowIds = new int[count];
            float[] rowLogits = new float[count];
            long idBase = idsAt() + 4L * cap * j, logitBase = logitsAt() + 4L * cap * j;
            for (int k = 0; k < count; k++) {
                rowIds[k] = b.getInt((int) (idBase + 4L * k));
                rowLogits[k] = b.getFloat((int) (logitBase + 4L * k));
            }
            out[rows[j]] = new SparseLogits(rowIds, rowLogits, count);
        }
        return out;
    }

    /** Host picks served from candidates so far, and those of them read whole (too many candidates). */
    long rowsSelected() { return rowsSelected; }

    long rowsReadWhole() { return rowsWhole; }

    /** Where the host buffer holds the ids, then the logits, after the counts. */
    private long idsAt() { return DeviceMemory.align(4L * maxSequences); }

    private long logitsAt() { return idsAt() + 4L * cap * maxSequences; }

    private static int[] ints(List<Integer> values) {
        int[] a = new int[values.size()];
        for (int i = 0; i < a.length; i++) a[i] = values.get(i);
        return a;
    }

    @Override
    public void close() {
        try {
            memory.close();
        } finally {
            host.close();
        }
    }
}
