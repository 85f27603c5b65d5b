package io.lfmcap.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lfmcap.engine.CandidateSelection;
import io.lfmcap.engine.ModelBackend.Candidates;
import io.lfmcap.engine.ModelBackend.Pick;
import io.lfmcap.engine.ModelBackend.SparseLogits;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * kernels.cu's logit_candidates and seen_reset through LogitCandidates, against the rule written plainly
 * (io.lfmcap.engine.CandidateSelection): the same ids and logits for a prefill-like pass (seen sets from the prompts)
 * and a decode-like pass after it (each row's fed token joins its set); rows with more candidates than the cap come
 * back as null (read whole); greedy and whole-row picks are left alone.
 */
@Tag("gpu")
class LogitCandidatesTest {
    private static final int VOCAB = 5000, CAP = 64, SLOTS = 8;
    private static GpuBench gpu;

    @BeforeAll
    static void open() {
        assumeTrue(CudaDevices.count() > 0, "no CUDA device: " + CudaDevices.unavailableReason());
        gpu = new GpuBench(CudaOptions.defaults());
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
    }

    @Test
    void selectsWhatTheRuleSelects() {
        Random random = new Random(5);
        List<Pick> picks = List.of(
                Pick.candidates(7, new Candidates((float) (0.1 * Math.log(0.15)), true)),  // the recommended sampling
                Pick.candidates(-1, new Candidates(0f, true)),                            // greedy under a penalty
                Pick.greedy(-1),
                Pick.candidates(-1, new Candidates((float) Math.log(0.05), false)),       // min-p, no penalty
                Pick.HOST,
                Pick.candidates(7, new Candidates((float) Math.log(0.01), false)));      // flat row: over the cap
        int n = picks.size();
        int[] slots = {3, 0, 5, 1, 6, 2};
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < n; i++) prompts.add(random.ints(0, VOCAB).distinct().limit(30).toArray());
        float[][] rows = new float[n][];
        for (int i = 0; i < n; i++) {
            rows[i] = new float[VOCAB];
            double scale = i == 5 ? 0.001 : 2;
            for (int v = 0; v < VOCAB; v++) rows[i][v] = (float) (random.nextGaussian() * scale);
            if (i != 5) for (int k = 0; k < 4; k++) rows[i][prompts.get(i)[k]] = 9f + k;  // seen tokens on top (row 5 stays flat)
        }
        boolean[][] seen = new boolean[n][VOCAB];
        for (int i = 0; i < n; i++) for (int id : prompts.get(i)) seen[i][id] = true;

        gpu.run(() -> {
            try (LogitCandidates candidates = new LogitCandidates(gpu.ctx, VOCAB, SLOTS, CAP);
                 PassUpload up = new PassUpload(gpu.ctx, 1 << 16)) {
                long dLogits = gpu.f32(flatten(rows));
                up.reset();
                candidates.track(slots, prompts, picks, up);
                candidates.select(picks, slots, null, dLogits, up);
                gpu.ctx.sync("candidates");
                check(candidates.read(n), picks, rows, seen, "prefill");

                int[] fed = new int[n];
                for (int i = 0; i < n; i++) {
                    fed[i] = random.nextInt(VOCAB);
                    if (i != 5) rows[i][fed[i]] = 10.5f;  // the fed token on top too: its penalty must apply
                    seen[i][fed[i]] = true;
                }
                dLogits = gpu.f32(flatten(rows));
                up.reset();
                candidates.select(picks, slots, fed, dLogits, up);
                gpu.ctx.sync("candidates");
                check(candidates.read(n), picks, rows, seen, "decode");
                assertEquals(8, candidates.rowsSelected());
                assertEquals(2, candidates.rowsReadWhole());
            }
            return null;
        });
    }

    private static void check(SparseLogits[] got, List<Pick> picks, float[][] rows, boolean[][] seen, String pass) {
        for (int i = 0; i < picks.size(); i++) {
            Pick p = picks.get(i);
            if (p.candidates() == null) {
                assertNull(got[i], pass + " row " + i + " wants no candidates");
                continue;
            }
            SparseLogits want = CandidateSelection.select(rows[i], p.candidates(), seen[i], p.bannedToken());
            if (want.count() > CAP) {
                assertNull(got[i], pass + " row " + i + ": " + want.count() + " candidates are over the cap");
                continue;
            }
            assertNotNull(got[i], pass + " row " + i);
            assertArrayEquals(want.ids(), Arrays.copyOf(got[i].ids(), got[i].count()), pass + " row " + i + " ids");
            assertArrayEquals(want.logits(), Arrays.copyOf(got[i].logits(), got[i].count()), pass + " row " + i + " logits");
            assertTrue(want.count() >= (p.candidates().seen() ? 30 : 2), pass + " row " + i + ": " + want.count()
                    + " candidates (every seen id; else at least the tokens put on top within ln(min_p) of each other)");
        }
    }

    private static float[] flatten(float[][] rows) {
        float[] all = new float[rows.length * VOCAB];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, all, i * VOCAB, VOCAB);
        return all;
    }
}
