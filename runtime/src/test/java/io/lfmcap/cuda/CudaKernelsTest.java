package io.lfmcap.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lfmcap.engine.CandidateSelection;
import io.lfmcap.engine.ModelBackend.Candidates;
import io.lfmcap.engine.ModelBackend.Pick;
import io.lfmcap.engine.ModelBackend.SparseLogits;
import io.lfmcap.image.PatchGrid;
import io.lfmcap.model.FloatFormats;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Each kernel of kernels.cu (and the GEMM paths) against a plain Java reference on random inputs of several
 * shapes. Tolerances follow what the output type allows: bf16 outputs within 1 bf16 ulp (2^-8 relative) of
 * the reference plus a small absolute floor; fp32 outputs within 1e-5 relative; attention (bf16 P in the
 * tensor-core kernel) within 1e-2 of the reference in the 2-norm.
 */
@Tag("gpu")
class CudaKernelsTest {
    private static GpuBench gpu;
    private final Random random = new Random(7);

    @BeforeAll
    static void open() {
        assumeTrue(CudaDevices.count() > 0, "no CUDA device: " + CudaDevices.unavailableReason());
        gpu = new GpuBench(CudaOptions.defaults());
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
    }

    @BeforeEach
    void freshScratch() { if (gpu != null) gpu.reset(); }

    private float[] randn(int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (random.nextGaussian() * scale);
        return v;
    }

    private static float bf(float v) { return FloatFormats.bf16ToFloat(FloatFormats.floatToBf16(v)); }

    private static float[] bf(float[] v) {
        float[] o = new float[v.length];
        for (int i = 0; i < v.length; i++) o[i] = bf(v[i]);
        return o;
    }

    /** Each element within one bf16 ulp of the reference (plus an absolute floor). */
    private static void assertBf16Close(double[] ref, float[] got, double floor, String what) {
        assertEquals(ref.length, got.length);
        for (int i = 0; i < ref.length; i++) {
            double tol = Math.abs(ref[i]) * (1.0 / 256) + floor;
            assertTrue(Math.abs(ref[i] - got[i]) <= tol, what + " [" + i + "]: expected " + ref[i] + ", got " + got[i]);
        }
    }

    private static void assertF32Close(double[] ref, float[] got, double rel, String what) {
        assertEquals(ref.length, got.length);
        for (int i = 0; i < ref.length; i++) {
            double tol = rel * (1 + Math.abs(ref[i]));
            assertTrue(Math.abs(ref[i] - got[i]) <= tol, what + " [" + i + "]: expected " + ref[i] + ", got " + got[i]);
        }
    }

    private static double relativeError(double[] ref, float[] got) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            num += (ref[i] - got[i]) * (ref[i] - got[i]);
            den += ref[i] * ref[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-30));
    }

    // ------------------------------------------------------------------------------------------ norms

    @Test
    void rmsNormMatchesTheReferenceForSeveralWidthsAndRowSelections() {
        for (int n : new int[] {64, 100, 1024, 2048, 2080}) { // rows held in registers up to 2,048 values, read twice past it
            for (int rows : new int[] {1, 7, 33, 1027}) { // 1,027: blocks of 2 warps, the last with one row (Kernels.normRows)
                float[] x = randn(rows * n, 3);
                float[] w = randn(n, 0.1);
                for (int i = 0; i < n; i++) w[i] += 1;
                int[] pick = new int[rows];
                for (int r = 0; r < rows; r++) pick[r] = rows - 1 - r;
                float[] got = gpu.run(() -> {
                    long dx = gpu.f32(x), dw = gpu.f32(w), dPick = gpu.i32(pick), out = gpu.poisoned(2L * rows * n);
                    Kernels.rmsNorm(gpu.ctx, Kernels.normRows(rows), dx, n, dPick, dw, out, n, n, 1e-5f, rows);
                    return gpu.readBf16(out, rows * n);
                });
                double[] ref = new double[rows * n];
                for (int r = 0; r < rows; r++) {
                    int src = pick[r];
                    double ss = 0;
                    for (int i = 0; i < n; i++) ss += (double) x[src * n + i] * x[src * n + i];
                    double inv = 1 / Math.sqrt(ss / n + 1e-5);
                    for (int i = 0; i < n; i++) ref[r * n + i] = w[i] * (x[src * n + i] * inv);
                }
                assertBf16Close(ref, got, 1e-6, "rms_norm n=" + n + " rows=" + rows);
            }
        }
    }

    @Test
    void layerNormMatchesTheReferenceInBf16AndFp32() {
        for (int n : new int[] {32, 768, 1152, 4608}) { // rows held in registers up to 1,024 values, read three times past it
            for (int rows : new int[] {13, 1027}) { // 1,027: blocks of 2 warps, the last with one row (Kernels.normRows)
                float[] x = randn(rows * n, 2);
                for (int i = 0; i < x.length; i++) x[i] = bf(x[i] + 0.7f); // the bf16 residual stream it reads
                float[] w = randn(n, 0.2), b = randn(n, 0.2);
                float[][] got = gpu.run(() -> {
                    long dx = gpu.bf16(x), dw = gpu.f32(w), db = gpu.f32(b);
                    long outBf = gpu.poisoned(2L * rows * n), outF = gpu.poisoned(4L * rows * n);
                    Kernels.layerNorm(gpu.ctx, Kernels.normRows(rows), dx, n, dw, db, outBf, 0, n, n, 1e-6f, rows);
                    Kernels.layerNorm(gpu.ctx, Kernels.normRows(rows), dx, n, dw, db, outF, 1, n, n, 1e-6f, rows);
                    return new float[][] {gpu.readBf16(outBf, rows * n), gpu.readF32(outF, rows * n)};
                });
                double[] ref = new double[rows * n];
                for (int r = 0; r < rows; r++) {
                    double mean = 0, var = 0;
                    for (int i = 0; i < n; i++) mean += x[r * n + i];
                    mean /= n;
                    for (int i = 0; i < n; i++) var += (x[r * n + i] - mean) * (x[r * n + i] - mean);
                    var /= n;
                    for (int i = 0; i < n; i++) ref[r * n + i] = (x[r * n + i] - mean) / Math.sqrt(var + 1e-6) * w[i] + b[i];
                }
                assertBf16Close(ref, got[0], 1e-5, "layer_norm bf16 n=" + n + " rows=" + rows);
                assertF32Close(ref, got[1], 2e-5, "layer_norm fp32 n=" + n + " rows=" + rows);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ decoder stages

    @Test
    void qkNormRopeWritesQueriesAndCachePagesAtEachRowsPosition() {
        for (int hd : new int[] {16, 64}) {
            int heads = 4, kvHeads = 2, rows = 6, slots = 2, maxPages = 4, pages = 8;
            int width = (heads + 2 * kvHeads) * hd;
            float[] qkv = randn(rows * width, 1.5);
            float[] qw = randn(hd, 0.1), kw = randn(hd, 0.1);
            for (int i = 0; i < hd; i++) { qw[i] += 1; kw[i] += 1; }
            int[] pos = {0, 1, 63, 64, 200, 5}, slot = {0, 0, 1, 1, 1, 0};
            int[] table = {3, 1, 0, 0, 5, 2, 7, 6}; // slot 0: pages 3,1,..; slot 1: pages 5,2,7,6
            float[] inv = new float[hd / 2];
            for (int j = 0; j < inv.length; j++) inv[j] = 1f / (float) Math.pow(1_000_000f, (float) (2 * j) / (float) hd);
            long pageElems = (long) kvHeads * KvCachePool.PAGE_TOKENS * hd;
            float[][] got = gpu.run(() -> {
                long dQkv = gpu.f32(qkv), dqw = gpu.f32(qw), dkw = gpu.f32(kw), dPos = gpu.i32(pos), dSlot = gpu.i32(slot);
                long dTable = gpu.i32(table), dInv = gpu.f32(inv);
                long q = gpu.poisoned(2L * rows * heads * hd), k = gpu.poisoned(2L * pages * pageElems), v = gpu.poisoned(2L * pages * pageElems);
                Kernels.qkNormRopeStore(gpu.ctx, rows, dQkv, heads, kvHeads, hd,
                        dqw, dkw, 1e-5f, dPos, dSlot, dTable, maxPages, dInv, q, k, v);
                return new float[][] {gpu.readBf16(q, rows * heads * hd), gpu.readBf16(k, (int) (pages * pageElems)),
                        gpu.readBf16(v, (int) (pages * pageElems))};
            });
            for (int r = 0; r < rows; r++) {
                int page = table[slot[r] * maxPages + pos[r] / 64];
                for (int h = 0; h < heads + 2 * kvHeads; h++) {
                    double[] ref = new double[hd];
                    float[] gotRow = new float[hd];
                    boolean isV = h >= heads + kvHeads;
                    if (isV) {
                        for (int i = 0; i < hd; i++) ref[i] = qkv[r * width + h * hd + i];
                    } else {
                        float[] w = h < heads ? qw : kw;
                        double ss = 0;
                        for (int i = 0; i < hd; i++) ss += (double) qkv[r * width + h * hd + i] * qkv[r * width + h * hd + i];
                        double invRms = 1 / Math.sqrt(ss / hd + 1e-5);
                        double[] n = new double[hd];
                        for (int i = 0; i < hd; i++) n[i] = w[i] * (qkv[r * width + h * hd + i] * invRms);
                        for (int j = 0; j < hd / 2; j++) {
                            float angle = (float) pos[r] * inv[j];
                            ref[j] = n[j] * Math.cos(angle) - n[j + hd / 2] * Math.sin(angle);
                            ref[j + hd / 2] = n[j + hd / 2] * Math.cos(angle) + n[j] * Math.sin(angle);
                        }
                    }
                    if (h < heads) {
                        System.arraycopy(got[0], (r * heads + h) * hd, gotRow, 0, hd);
                    } else {
                        int g = isV ? h - heads - kvHeads : h - heads;
                        int at = (int) (page * pageElems + ((long) g * KvCachePool.PAGE_TOKENS + pos[r] % 64) * hd);
                        System.arraycopy(isV ? got[2] : got[1], at, gotRow, 0, hd);
                    }
                    assertBf16Close(ref, gotRow, 1e-5, "hd " + hd + " row " + r + " head " + h);
                }
            }
        }
    }

    @Test
    void shortConvGatesAndCarriesTheStateAcrossChunks() {
        int hidden = 96, kernel = 3, history = kernel - 1;
        // four sequences in one pass: slot 1 with 5 rows (a prefill chunk), slot 0 with 1 row (a decode step), slot 2
        // with 11 rows, slot 3 with the rest; the pass is long enough for short_conv to take 8 rows per thread, so the
        // boundaries fall inside and across its groups of rows
        int[] segFirst = {0, 5, 6, 17}, segRows = {5, 1, 11, 4083}, segSlot = {1, 0, 2, 3};
        int segments = segFirst.length, rows = 4100;
        float[] bcx = randn(rows * 3 * hidden, 1);
        float[] taps = randn(hidden * kernel, 0.5);
        float[] state = randn(segments * history * hidden, 1); // [slot][history][H], one conv layer
        int[] rowSegStart = new int[rows], rowSlot = new int[rows];
        for (int s = 0; s < segments; s++) {
            for (int r = segFirst[s]; r < segFirst[s] + segRows[s]; r++) {
                rowSegStart[r] = segFirst[s];
                rowSlot[r] = segSlot[s];
            }
        }
        float[][] got = gpu.run(() -> {
            long dBcx = gpu.f32(bcx), dTaps = gpu.f32(taps), dState = gpu.f32(state), y = gpu.poisoned(2L * rows * hidden);
            long dStart = gpu.i32(rowSegStart), dSlot = gpu.i32(rowSlot);
            Kernels.shortConv(gpu.ctx, dBcx, hidden, dTaps, kernel, dState,
                    (long) history * hidden, dStart, dSlot, y, rows);
            Kernels.shortConvState(gpu.ctx, new Kernels.Grid((hidden + 255) / 256, segments, 1, 256), dBcx, hidden, kernel, dState,
                    (long) history * hidden, gpu.i32(segFirst), gpu.i32(segRows), gpu.i32(segSlot));
            return new float[][] {gpu.readBf16(y, rows * hidden), gpu.readF32(dState, state.length)};
        });
        double[] refY = new double[rows * hidden];
        double[] refState = new double[state.length];
        for (int s = 0; s < segments; s++) {
            int first = segFirst[s], n = segRows[s], sl = segSlot[s];
            for (int c = 0; c < hidden; c++) {
                double[] u = new double[history + n]; // old state then the chunk
                for (int j = 0; j < history; j++) u[j] = state[(sl * history + j) * hidden + c];
                for (int t = 0; t < n; t++) u[history + t] = (double) bcx[(first + t) * 3 * hidden + c] * bcx[(first + t) * 3 * hidden + 2 * hidden + c];
                for (int t = 0; t < n; t++) {
                    double acc = 0;
                    for (int k = 0; k < kernel; k++) acc += taps[c * kernel + k] * u[t + k];
                    refY[(first + t) * hidden + c] = bcx[(first + t) * 3 * hidden + hidden + c] * acc;
                }
                for (int j = 0; j < history; j++) refState[(sl * history + j) * hidden + c] = u[n + j];
            }
        }
        assertBf16Close(refY, got[0], 1e-5, "short_conv y");
        assertF32Close(refState, got[1], 1e-6, "short_conv_state");
    }

    @Test
    void convInProjectionWithItsStepEqualsTheGemvAndTheGeneralConvKernelsBitForBit() {
        // a decode step's conv layer (row r is segment r): decode.cu's gemv_rms_conv_rN against gemv_rms_rN into B | C | X,
        // then short_conv and short_conv_state (the general path's kernels, checked against the reference above): y and
        // the conv state bit for bit; 1 row (two channels a column group), 3 (blocks of 4 rows, one masked) and 8; grids
        // smaller than the column groups, so that blocks walk several
        int hidden = 264, kernel = 3, history = kernel - 1, slots = 8;
        float eps = 1e-5f;
        int[] slotOf = {5, 2, 7, 0, 3, 6, 1, 4};
        float[] w = bf(randn(3 * hidden * hidden, 0.05));
        float[] norm = randn(hidden, 0.3);
        for (int i = 0; i < hidden; i++) norm[i] += 1;
        float[] taps = randn(hidden * kernel, 0.5);
        for (int rows : new int[] {1, 3, 8}) {
            int r = rows == 1 ? 1 : rows <= 4 ? 4 : 8;
            float[] x = randn(rows * hidden, 1);
            float[] state = randn(slots * history * hidden, 1);
            int[] segSlot = Arrays.copyOf(slotOf, rows), first = new int[rows], ones = new int[rows];
            for (int i = 0; i < rows; i++) {
                first[i] = i;
                ones[i] = 1;
            }
            float[][][] got = new float[2][][];
            for (int way = 0; way < 2; way++) {
                final boolean fused = way == 1;
                got[way] = gpu.run(() -> {
                    long dx = gpu.f32(x), dNorm = gpu.f32(norm), dW = gpu.bf16(w), dTaps = gpu.f32(taps), dState = gpu.f32(state);
                    long dSlot = gpu.i32(segSlot), y = gpu.poisoned(2L * rows * hidden);
                    if (fused) {
                        Kernels.gemvConv(gpu.ctx, "gemv_rms_conv_r" + r, new Kernels.Grid(5, 1, 1, 128), 2 * r * hidden, dx, rows, dNorm,
                                eps, dW, hidden, hidden, y, hidden, dTaps, kernel, dState, (long) history * hidden, dSlot);
                    } else {
                        long bcx = gpu.poisoned(4L * rows * 3 * hidden);
                        Kernels.gemv(gpu.ctx, "gemv_rms_r" + r, new Kernels.Grid(7, 1, 1, 128), 2 * r * hidden, dx, rows, dNorm, eps,
                                dW, 3 * hidden, hidden, bcx, 3 * hidden);
                        Kernels.shortConv(gpu.ctx, bcx, hidden, dTaps, kernel, dState, (long) history * hidden, gpu.i32(first), dSlot,
                                y, rows);
                        Kernels.shortConvState(gpu.ctx, new Kernels.Grid((hidden + 255) / 256, rows, 1, 256), bcx, hidden, kernel,
                                dState, (long) history * hidden, gpu.i32(first), gpu.i32(ones), dSlot);
                    }
                    return new float[][] {gpu.readBf16(y, rows * hidden), gpu.readF32(dState, state.length)};
                });
            }
            assertFalse(Float.isNaN(got[0][0][0]), "the general path wrote y");
            assertArrayEquals(got[0][0], got[1][0], rows + " rows: y of gemv_rms_conv against the general kernels");
            assertArrayEquals(got[0][1], got[1][1], rows + " rows: conv state of gemv_rms_conv against the general kernels");
            assertFalse(Arrays.equals(state, got[1][1]), "the conv state moved on");
        }
    }

    @Test
    void narrowOneRowGemvAddEqualsTheOneRowGemvAddBitForBit() {
        // gemv_add_narrow_r1 (4 weight rows a group, 4 chunks ahead) against gemv_add_r1 (8 rows, 3 ahead): per column the
        // same sums in the same order; k of 4 rounds and a part (4,680), and of less than one (264); an output count that is
        // no multiple of either group
        for (int k : new int[] {4680, 264}) {
            int nOut = 203;
            float[] in = bf(randn(k, 1)), w = bf(randn(nOut * k, 0.05)), out = randn(nOut, 1);
            float[][] got = new float[2][];
            for (int way = 0; way < 2; way++) {
                final boolean narrow = way == 1;
                got[way] = gpu.run(() -> {
                    long dOut = gpu.f32(out);
                    if (narrow) Kernels.gemv(gpu.ctx, TextDecoder.ADD_NARROW, new Kernels.Grid((nOut + 3) / 4, 1, 1, 128), 0, gpu.bf16(in), 1,
                            0L, 0f, gpu.bf16(w), nOut, k, dOut, nOut);
                    else Kernels.gemv(gpu.ctx, "gemv_add_r1", new Kernels.Grid((nOut + 7) / 8, 1, 1, 128), 0, gpu.bf16(in), 1, 0L, 0f,
                            gpu.bf16(w), nOut, k, dOut, nOut);
                    return gpu.readF32(dOut, nOut);
                });
            }
            assertFalse(Arrays.equals(out, got[0]), "gemv_add added");
            assertArrayEquals(got[0], got[1], "k " + k + ": gemv_add_narrow_r1 against gemv_add_r1");
        }
    }

    @Test
    void lmHeadPicksAreArgmaxOfItsLogitsWhichEqualTheGemvBitForBit() {
        // a small-batch step's lm_head (decode.cu gemv_rms_pick_rN) against gemv_rms_rN + argmax_rows: logits bit for bit,
        // picks equal; each row's weight vector along its normalised input sits at two ids (a tie: the lower one wins),
        // odd rows ban the lower one (the other wins); 1, 3 and 8 rows, a grid smaller than the column groups and one of a
        // block per group, launched twice (the last block resets the count of finished blocks)
        int hidden = 264, vocab = 3001;
        float eps = 1e-5f;
        float[] norm = randn(hidden, 0.3);
        for (int i = 0; i < hidden; i++) norm[i] += 1;
        for (int rows : new int[] {1, 3, 8}) {
            int r = rows == 1 ? 1 : rows <= 4 ? 4 : 8;
            float[] x = randn(rows * hidden, 1);
            float[] w = randn(vocab * hidden, 0.05);
            int[] banned = new int[rows], want = new int[rows];
            for (int row = 0; row < rows; row++) {
                int winner = 100 + 300 * row, twin = winner + 7;
                for (int i = 0; i < hidden; i++) {
                    float along = Math.signum(x[row * hidden + i] * norm[i]) * 0.05f;
                    w[winner * hidden + i] = along;
                    w[twin * hidden + i] = along;
                }
                banned[row] = row % 2 == 1 ? winner : -1;
                want[row] = row % 2 == 1 ? twin : winner;
            }
            float[] wb = bf(w);
            int groups = (vocab + 7) / (r == 1 ? 8 : 4);
            for (long blocks : new long[] {5, groups}) {
                Object[] got = gpu.run(() -> {
                    long dx = gpu.f32(x), dNorm = gpu.f32(norm), dW = gpu.bf16(wb), dBanned = gpu.i32(banned);
                    long logits = gpu.poisoned(4L * rows * vocab), reference = gpu.poisoned(4L * rows * vocab);
                    long picks = gpu.poisoned(4L * rows), copy = gpu.poisoned(4L * rows), argmax = gpu.poisoned(4L * rows);
                    long partial = gpu.poisoned(8L * r * blocks), done = gpu.i32(new int[] {0});
                    int[][] twice = new int[2][];
                    for (int launch = 0; launch < 2; launch++) {
                        gpu.ctx.zero(picks, 4L * rows);
                        Kernels.gemvPick(gpu.ctx, "gemv_rms_pick_r" + r, new Kernels.Grid(blocks, 1, 1, 128), 2 * r * hidden, dx, rows, dNorm,
                                eps, dW, vocab, hidden, logits, vocab, dBanned, picks, copy, partial, done);
                        twice[launch] = gpu.readI32(picks, rows);
                    }
                    Kernels.gemv(gpu.ctx, "gemv_rms_r" + r, new Kernels.Grid(7, 1, 1, 128), 2 * r * hidden, dx, rows, dNorm, eps, dW,
                            vocab, hidden, reference, vocab);
                    Kernels.argmaxRows(gpu.ctx, Kernels.Grid.of(rows, 1024), reference, vocab, dBanned, argmax, 0L);
                    return new Object[] {gpu.readF32(logits, rows * vocab), gpu.readF32(reference, rows * vocab), twice[0], twice[1],
                            gpu.readI32(copy, rows), gpu.readI32(argmax, rows), gpu.readI32(done, 1)};
                });
                String what = rows + " rows, " + blocks + " blocks: ";
                assertFalse(Float.isNaN(((float[]) got[1])[0]), "gemv_rms wrote the logits");
                assertArrayEquals((float[]) got[1], (float[]) got[0], what + "logits of gemv_rms_pick against gemv_rms");
                assertArrayEquals(want, (int[]) got[5], what + "argmax_rows over the logits");
                assertArrayEquals(want, (int[]) got[2], what + "picks, first launch");
                assertArrayEquals(want, (int[]) got[3], what + "picks, second launch");
                assertArrayEquals(want, (int[]) got[4], what + "picks in the copy");
                assertEquals(0, ((int[]) got[6])[0], what + "the count of finished blocks is reset");
            }
        }
    }

    @Test
    void siluMulGeluErfBiasActAndBf16ConversionMatchTheirFormulas() {
        int rows = 9, f = 300;
        float[] gu = randn(rows * 2 * f, 2);
        float[] x = randn(rows * f, 2);
        float[] bias = randn(f, 0.5);
        float[][] got = gpu.run(() -> {
            long dGu = gpu.bf16(gu), dX = gpu.f32(x), silu = gpu.poisoned(2L * rows * f), gelu = gpu.poisoned(2L * rows * f), conv = gpu.poisoned(2L * rows * f);
            Kernels.Grid few = Kernels.Grid.of(3, 256); // fewer threads than elements: the grid-stride loops
            Kernels.siluMul(gpu.ctx, few, dGu, rows, f, silu);
            Kernels.geluErf(gpu.ctx, few, dX, (long) rows * f, gelu);
            Kernels.f32ToBf16(gpu.ctx, few, dX, conv, (long) rows * f);
            long dF32 = gpu.f32(x), dBias = gpu.f32(bias);
            Kernels.biasAct(gpu.ctx, few, dF32, 0, dBias, rows, f, 1);
            long dBf = gpu.bf16(x), dBiasBf = gpu.bf16(bias);
            Kernels.biasAct(gpu.ctx, few, dBf, 1, dBiasBf, rows, f, 0);
            return new float[][] {gpu.readBf16(silu, rows * f), gpu.readBf16(gelu, rows * f), gpu.readBf16(conv, rows * f),
                    gpu.readF32(dF32, rows * f), gpu.readBf16(dBf, rows * f)};
        });
        double[] refSilu = new double[rows * f], refGelu = new double[rows * f], refConv = new double[rows * f];
        double[] refTanh = new double[rows * f], refBias = new double[rows * f];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < f; c++) {
                double g = bf(gu[r * 2 * f + c]), u = bf(gu[r * 2 * f + f + c]);  // gate/up arrive in bf16
                refSilu[r * f + c] = g / (1 + Math.exp(-g)) * u;
                double v = x[r * f + c];
                refGelu[r * f + c] = v * 0.5 * (1 + erf(v / Math.sqrt(2)));
                refConv[r * f + c] = bf(x[r * f + c]);
                double b = v + bias[c];
                refTanh[r * f + c] = 0.5 * b * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (b + 0.044715 * b * b * b)));
                refBias[r * f + c] = bf(x[r * f + c]) + bf(bias[c]);
            }
        }
        assertBf16Close(refSilu, got[0], 1e-5, "silu_mul");
        assertBf16Close(refGelu, got[1], 1e-5, "gelu_erf");
        assertBf16Close(refConv, got[2], 0, "f32_to_bf16 (exact)");
        assertF32Close(refTanh, got[3], 2e-6, "bias_act gelu_tanh fp32");
        assertBf16Close(refBias, got[4], 1e-6, "bias_act bf16");
    }

    @Test
    void siluMulTakesEightOutputsAtATimeWhenTheWidthAllows() {
        int rows = 5, f = 304;  // f % 8 == 0: the 16-byte path (the test above covers the one-by-one path)
        float[] gu = randn(rows * 2 * f, 2);
        float[] got = gpu.run(() -> {
            long dGu = gpu.bf16(gu), silu = gpu.poisoned(2L * rows * f);
            Kernels.siluMul(gpu.ctx, Kernels.Grid.of(2, 64), dGu, rows, f, silu);
            return gpu.readBf16(silu, rows * f);
        });
        double[] ref = new double[rows * f];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < f; c++) {
                double g = bf(gu[r * 2 * f + c]), u = bf(gu[r * 2 * f + f + c]);
                ref[r * f + c] = g / (1 + Math.exp(-g)) * u;
            }
        assertBf16Close(ref, got, 1e-5, "silu_mul, 8 at a time");
    }

    @Test
    void patchLevelsExpandToExactlyTheBf16OfTheFloatPatches() {
        double[] mean = {0.48145466, 0.4578275, 0.40821073}, std = {0.26862954, 0.26130258, 0.27577711};
        float[] table = new float[PatchGrid.LEVEL_TABLE_SIZE]; // io.lfmcap.image.Patchifier's table for these statistics
        for (int c = 0; c < 3; c++)
            for (int v = 0; v < 256; v++) table[c * 256 + v] = ((float) v - (float) mean[c] * 255f) / ((float) std[c] * 255f);
        // 7 patches of 12 values (84: a tail after the 8-value steps), 37 SigLIP patches; a short grid and a full one
        for (int[] shape : new int[][] {{7, 12}, {37, 768}}) {
            int n = shape[0] * shape[1];
            byte[] levels = new byte[n];
            for (int i = 0; i < n; i++) levels[i] = (byte) random.nextInt(256);
            PatchGrid grid = PatchGrid.ofLevels(1, shape[0], shape[1], levels, table);
            int[] packed = new int[(n + 3) / 4]; // little-endian bytes, uploaded as ints
            for (int i = 0; i < n; i++) packed[i >> 2] |= (levels[i] & 0xff) << (8 * (i & 3));
            for (Kernels.Grid g : new Kernels.Grid[] {Kernels.Grid.of(3, 256), Kernels.Grid.stride((n + 7) / 8)}) {
                float[][] got = gpu.run(() -> {
                    long expanded = gpu.poisoned(2L * n), converted = gpu.poisoned(2L * n);
                    Kernels.patchLevelsToBf16(gpu.ctx, g, gpu.i32(packed), gpu.f32(table), expanded, n);
                    Kernels.f32ToBf16(gpu.ctx, g, gpu.f32(grid.patches()), converted, n);
                    return new float[][] {gpu.readBf16(expanded, n), gpu.readBf16(converted, n)};
                });
                assertArrayEquals(bf(grid.patches()), got[1], "f32_to_bf16 of the float patches");
                assertArrayEquals(got[1], got[0], "patch_levels_to_bf16 vs f32_to_bf16, " + n + " values, " + g);
            }
        }
    }

    /** Abramowitz-Stegun 7.1.26 is too coarse for a reference; this series/continued fraction is double-accurate. */
    private static double erf(double x) {
        double t = Math.abs(x);
        double r;
        if (t < 2.5) {
            double sum = t, term = t, t2 = t * t;
            for (int n = 1; n < 100; n++) {
                term *= -t2 / n;
                sum += term / (2 * n + 1);
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            double f = 0;
            for (int n = 60; n >= 1; n--) f = n / 2.0 / (t + f);
            r = 1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
        }
        return x < 0 ? -r : r;
    }

    @Test
    void embedRowsTakesImageRowsAndTokenRowsInPromptOrder() {
        int hidden = 48, vocab = 20, imageRows = 3;
        float[] table = randn(vocab * hidden, 1);
        float[] image = randn(imageRows * hidden, 1);
        int[] gather = {-2, 0, 1, -20, 2, -1};
        float[] got = gpu.run(() -> {
            long x = gpu.poisoned(4L * gather.length * hidden);
            long dImage = gpu.f32(image);
            Kernels.embedRows(gpu.ctx, Kernels.Grid.of(gather.length, 256), gpu.i32(gather), 0L, 0L, gpu.bf16(table), dImage, hidden, x,
                    0L, 0L, 0);
            return gpu.readF32(x, gather.length * hidden);
        });
        for (int r = 0; r < gather.length; r++)
            for (int c = 0; c < hidden; c++) {
                float want = gather[r] >= 0 ? image[gather[r] * hidden + c] : bf(table[(-gather[r] - 1) * hidden + c]);
                assertEquals(want, got[r * hidden + c], 0f, "row " + r);
            }
    }

    @Test
    void embedRowsFeedsTheDevicePicksOfThePreviousStepWhereAskedAndCopiesAStepsPassArrays() {
        // a decode step's embed (TextDecoder.embedStep): gather and fromPrev read from their staging in mapped host memory,
        // and the pass's arrays (those two and one more, which no kernel here reads) copied to the device by block 0
        int hidden = 48, vocab = 20;
        float[] table = randn(vocab * hidden, 1);
        int[] gather = {-3, -1, -5, -1};      // token ids 2, (from the device), 4, (from the device)
        int[] fromPrev = {-1, 2, -1, 0};      // rows 1 and 3 take the previous step's picks in rows 2 and 0
        int[] prevPicks = {17, 9, 11};
        int[] more = new int[300];
        for (int i = 0; i < more.length; i++) more[i] = 7 * i - 50;
        Object[] got = gpu.run(() -> {
            try (PassUpload up = new PassUpload(gpu.ctx, 1024)) {
                long x = gpu.poisoned(4L * gather.length * hidden);
                up.reset();
                long dGather = up.ints(gather), dFromPrev = up.ints(fromPrev), dMore = up.ints(more);
                PassUpload.Staged staged = up.sendByKernel();
                Kernels.embedRows(gpu.ctx, Kernels.Grid.of(gather.length, 256), up.staging(dGather), up.staging(dFromPrev),
                        gpu.i32(prevPicks), gpu.bf16(table), 0L, hidden, x, staged.from(), staged.to(), staged.ints());
                return new Object[] {gpu.readF32(x, gather.length * hidden), gpu.readI32(dGather, gather.length),
                        gpu.readI32(dFromPrev, fromPrev.length), gpu.readI32(dMore, more.length)};
            }
        });
        int[] want = {2, 11, 4, 17};
        float[] x = (float[]) got[0];
        for (int r = 0; r < gather.length; r++)
            for (int c = 0; c < hidden; c++) assertEquals(bf(table[want[r] * hidden + c]), x[r * hidden + c], 0f, "row " + r);
        assertArrayEquals(gather, (int[]) got[1], "gather copied to the device");
        assertArrayEquals(fromPrev, (int[]) got[2], "fromPrev copied to the device");
        assertArrayEquals(more, (int[]) got[3], "the pass's other arrays copied to the device");
    }

    @Test
    void argmaxTakesTheLowestIdOnTiesAndNeverTheBannedOne() {
        int vocab = 65536, rows = 4;
        float[] logits = randn(rows * vocab, 1);
        logits[0 * vocab + 70000 % vocab] = 9f;
        logits[0 * vocab + 5] = 9f;                      // tie: 5 wins over 4464
        logits[1 * vocab + 7] = 20f;                     // banned in row 1
        logits[1 * vocab + 100] = 10f;
        logits[2 * vocab + 65535] = 11f;
        logits[3 * vocab] = 12f;
        int[] banned = {-1, 7, -1, 0};
        int[] got = gpu.run(() -> {
            long out = gpu.poisoned(4L * rows);
            Kernels.argmaxRows(gpu.ctx, Kernels.Grid.of(rows, 1024), gpu.f32(logits), vocab, gpu.i32(banned), out, 0L);
            return gpu.readI32(out, rows);
        });
        assertEquals(5, got[0]);
        assertEquals(100, got[1]);
        assertEquals(65535, got[2]);
        int best = 1;
        for (int i = 1; i < vocab; i++) if (logits[3 * vocab + i] > logits[3 * vocab + best]) best = i;
        assertEquals(best, got[3]);
    }

    // ------------------------------------------------------------------------------------------ vision stages

    @Test
    void positionEmbeddingResizeAddsTheAntialiasedBilinearTableForEachView() {
        for (int dim : new int[] {24, 26}) positionEmbeddingResizeAddsTheAntialiasedBilinearTableForEachView(dim); // 4 channels at a time, and 1
    }

    private void positionEmbeddingResizeAddsTheAntialiasedBilinearTableForEachView(int dim) {
        int side = 16;
        float[] table = randn(side * side * dim, 1);
        int[][] grids = {{32, 32}, {16, 16}, {10, 100}, {4, 6}};
        int patches = 0;
        for (int[] g : grids) patches += g[0] * g[1];
        float[] x = randn(patches * dim, 1);
        int[] desc = new int[6 * grids.length], patchView = new int[patches];
        java.util.List<PositionTaps.Axis> axes = new java.util.ArrayList<>();
        int p = 0, taps = 0, maxTaps = 1;
        for (int v = 0; v < grids.length; v++) {
            PositionTaps.Axis h = PositionTaps.axis(side, grids[v][0]), w = PositionTaps.axis(side, grids[v][1]);
            axes.add(h);
            axes.add(w);
            desc[6 * v] = p;
            desc[6 * v + 1] = grids[v][0];
            desc[6 * v + 2] = grids[v][1];
            desc[6 * v + 3] = taps;
            desc[6 * v + 4] = taps + grids[v][0];
            taps += grids[v][0] + grids[v][1];
            maxTaps = Math.max(maxTaps, Math.max(h.maxTaps(), w.maxTaps()));
            for (int k = 0; k < grids[v][0] * grids[v][1]; k++) patchView[p++] = v;
        }
        int[] first = new int[taps], count = new int[taps];
        float[] weights = new float[taps * maxTaps];
        int t = 0;
        for (PositionTaps.Axis a : axes)
            for (int o = 0; o < a.first().length; o++, t++) {
                first[t] = a.first()[o];
                count[t] = a.count()[o];
                System.arraycopy(a.weights(), o * a.maxTaps(), weights, t * maxTaps, a.count()[o]);
            }
        final int mt = maxTaps, total = patches;
        for (int i = 0; i < x.length; i++) x[i] = bf(x[i]); // the patch embeddings, bf16
        float[] got = gpu.run(() -> {
            long dx = gpu.bf16(x);
            Kernels.visionPositionAdd(gpu.ctx, total, dx, dim, gpu.f32(table), side, gpu.i32(patchView),
                    gpu.i32(desc), gpu.i32(first), gpu.i32(count), gpu.f32(weights), mt);
            return gpu.readBf16(dx, total * dim);
        });
        double[] ref = new double[patches * dim];
        p = 0;
        for (int v = 0; v < grids.length; v++) {
            PositionTaps.Axis h = axes.get(2 * v), w = axes.get(2 * v + 1);
            for (int r = 0; r < grids[v][0]; r++)
                for (int c = 0; c < grids[v][1]; c++, p++)
                    for (int ch = 0; ch < dim; ch++) { // fp32, each sum in tap order, as the kernel
                        float acc = 0;
                        for (int i = 0; i < h.count()[r]; i++) {
                            float row = 0;
                            for (int j = 0; j < w.count()[c]; j++)
                                row += table[((h.first()[r] + i) * side + w.first()[c] + j) * dim + ch] * w.weights()[c * w.maxTaps() + j];
                            acc += row * h.weights()[r * h.maxTaps() + i];
                        }
                        ref[p * dim + ch] = bf(x[p * dim + ch] + bf(acc)); // HF's bf16 model adds the table rounded to bf16
                    }
        }
        assertBf16Close(ref, got, 1e-5, "vision_position_add, dim " + dim);
    }

    @Test
    void pixelUnshuffleConcatenatesTwoByTwoNeighboursWithAndWithoutLayerNorm() {
        int dim = 20, factor = 2;
        int[][] grids = {{4, 6}, {2, 2}};
        int patches = 24 + 4, tokens = 6 + 1;
        float[] feat = randn(patches * dim, 1);
        int[] desc = {0, 4, 6, 0, 0, 0, 24, 2, 2, 0, 0, 6};
        int[] tokenView = {0, 0, 0, 0, 0, 0, 1};
        int width = dim * factor * factor;
        float[] lw = randn(width, 0.2), lb = randn(width, 0.2);
        float[][] got = gpu.run(() -> {
            long dFeat = gpu.f32(feat), dDesc = gpu.i32(desc), dTv = gpu.i32(tokenView);
            long plain = gpu.poisoned(2L * tokens * width), normed = gpu.poisoned(2L * tokens * width);
            Kernels.pixelUnshuffle(gpu.ctx, Kernels.Grid.of(tokens, 256), dFeat, dim, factor, dTv, dDesc, 0, 0, 1e-5f, plain);
            Kernels.pixelUnshuffle(gpu.ctx, Kernels.Grid.of(tokens, 256), dFeat, dim, factor, dTv, dDesc, gpu.f32(lw), gpu.f32(lb),
                    1e-5f, normed);
            return new float[][] {gpu.readBf16(plain, tokens * width), gpu.readBf16(normed, tokens * width)};
        });
        double[] refPlain = new double[tokens * width], refNorm = new double[tokens * width];
        int t = 0;
        for (int v = 0; v < grids.length; v++) {
            int gh = grids[v][0], gw = grids[v][1], first = desc[6 * v];
            for (int r = 0; r < gh / 2; r++)
                for (int c = 0; c < gw / 2; c++, t++) {
                    double[] u = new double[width];
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++)
                            for (int ch = 0; ch < dim; ch++)
                                u[(dy * 2 + dx) * dim + ch] = feat[(first + (2 * r + dy) * gw + 2 * c + dx) * dim + ch];
                    double mean = 0, var = 0;
                    for (double e : u) mean += e;
                    mean /= width;
                    for (double e : u) var += (e - mean) * (e - mean);
                    var /= width;
                    for (int k = 0; k < width; k++) {
                        refPlain[t * width + k] = u[k];
                        refNorm[t * width + k] = (u[k] - mean) / Math.sqrt(var + 1e-5) * lw[k] + lb[k];
                    }
                }
        }
        assertBf16Close(refPlain, got[0], 0, "pixel_unshuffle");
        assertBf16Close(refNorm, got[1], 1e-5, "pixel_unshuffle + layer_norm");
    }

    // ------------------------------------------------------------------------------------------ attention

    /** Reference attention of one (segment, query, head) in double. */
    private static double[] attend(float[] q, int qOff, float[][] keys, float[][] values, int count, double scale) {
        int hd = keys[0].length;
        double[] s = new double[count];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < count; j++) {
            double d = 0;
            for (int i = 0; i < hd; i++) d += (double) q[qOff + i] * keys[j][i];
            s[j] = d * scale;
            max = Math.max(max, s[j]);
        }
        double sum = 0;
        for (int j = 0; j < count; j++) sum += s[j] = Math.exp(s[j] - max);
        double[] o = new double[hd];
        for (int j = 0; j < count; j++) for (int i = 0; i < hd; i++) o[i] += s[j] / sum * values[j][i];
        return o;
    }

    @Test
    void visionAttentionOverPackedViewsOfDifferentSizesMatchesTheReference() {
        for (int hd : new int[] {16, 64, 72}) {
            int heads = 3, dim = heads * hd;
            int[] sizes = {1, 77, 300};
            int rows = 378;
            float[] qkv = bf(randn(rows * 3 * dim, 1.2));
            int[] segFirst = {0, 1, 78}, causal = {-1, -1, -1};
            float scale = (float) Math.pow(hd, -0.5);
            for (boolean simple : new boolean[] {false, true}) {
                float[] got = gpu.run(() -> {
                    long dQkv = gpu.bf16(qkv), out = gpu.poisoned(2L * rows * dim);
                    long dFirst = gpu.i32(segFirst), dSizes = gpu.i32(sizes), dCausal = gpu.i32(causal);
                    Attention.run(gpu.ctx, simple, hd, false, dQkv, 3 * dim, dQkv + 2L * dim, dQkv + 4L * dim, 3 * dim, out, dim,
                            heads, heads, scale, dFirst, dSizes, dFirst, dSizes, dCausal, 0, 0, 300, 3);
                    return gpu.readBf16(out, rows * dim);
                });
                double[] ref = new double[rows * dim];
                for (int s = 0; s < sizes.length; s++)
                    for (int h = 0; h < heads; h++) {
                        float[][] k = new float[sizes[s]][hd], v = new float[sizes[s]][hd];
                        for (int j = 0; j < sizes[s]; j++)
                            for (int i = 0; i < hd; i++) {
                                k[j][i] = qkv[(segFirst[s] + j) * 3 * dim + dim + h * hd + i];
                                v[j][i] = qkv[(segFirst[s] + j) * 3 * dim + 2 * dim + h * hd + i];
                            }
                        for (int i = 0; i < sizes[s]; i++) {
                            double[] o = attend(qkv, (segFirst[s] + i) * 3 * dim + h * hd, k, v, sizes[s], scale);
                            System.arraycopy(o, 0, ref, (segFirst[s] + i) * dim + h * hd, hd);
                        }
                    }
                double err = relativeError(ref, got);
                System.out.printf("vision attention hd=%d %s: relative error %.2e%n", hd, simple ? "simple" : "flash", err);
                assertTrue(err < (simple ? 4e-3 : 1e-2), "hd " + hd + (simple ? " simple" : " flash") + ": relative error " + err);
            }
        }
    }

    /**
     * cuDNN's fused attention (CudnnAttention) on runs of equal views of the packed q|k|v layout, against the double
     * reference, with the flash kernel's tolerance (both round P to bf16 before the second product). Skipped where cuDNN
     * 9 does not load or has no engine for the card.
     */
    @Test
    void cudnnAttentionOverRunsOfEqualViewsMatchesTheReference() {
        for (int[] shape : new int[][] {{64, 12, 4, 256}, {72, 16, 2, 196}, {16, 3, 3, 77}}) {
            int hd = shape[0], heads = shape[1], views = shape[2], size = shape[3], dim = heads * hd, rows = views * size;
            float[] qkv = bf(randn(rows * 3 * dim, 1.2));
            float scale = (float) Math.pow(hd, -0.5);
            CudnnAttention.Shape s = new CudnnAttention.Shape(views, size, heads, hd, 3 * dim, dim);
            String[] why = {""};
            float[] got = gpu.run(() -> {
                try (CudnnAttention cudnn = CudnnAttention.open(gpu.ctx, s, why)) {
                    if (cudnn == null) return null;
                    long dQkv = gpu.bf16(qkv), out = gpu.poisoned(2L * rows * dim);
                    assertTrue(cudnn.run(s, scale, dQkv, dQkv + 2L * dim, dQkv + 4L * dim, out), "cuDNN refused " + s);
                    return gpu.readBf16(out, rows * dim);
                }
            });
            assumeTrue(got != null, why[0]);
            double[] ref = new double[rows * dim];
            for (int view = 0; view < views; view++)
                for (int h = 0; h < heads; h++) {
                    float[][] k = new float[size][hd], v = new float[size][hd];
                    for (int j = 0; j < size; j++)
                        for (int i = 0; i < hd; i++) {
                            k[j][i] = qkv[(view * size + j) * 3 * dim + dim + h * hd + i];
                            v[j][i] = qkv[(view * size + j) * 3 * dim + 2 * dim + h * hd + i];
                        }
                    for (int i = 0; i < size; i++) {
                        double[] o = attend(qkv, (view * size + i) * 3 * dim + h * hd, k, v, size, scale);
                        System.arraycopy(o, 0, ref, (view * size + i) * dim + h * hd, hd);
                    }
                }
            double err = relativeError(ref, got);
            System.out.printf("cuDNN attention hd=%d heads=%d %d views x %d: relative error %.2e%n", hd, heads, views, size, err);
            assertTrue(err < 1e-2, s + ": relative error " + err);
        }
    }

    @Test
    void pagedCausalGroupedAttentionMatchesTheReferenceForPrefillContinuationAndDecode() {
        for (int hd : new int[] {16, 64}) {
            for (int group : new int[] {2, 4}) {
                int kvHeads = 2, heads = kvHeads * group, qWidth = heads * hd;
                int maxPages = 5, pages = 16, slots = 4;
                // segments: fresh prefill (0, 70 rows), continuation (position 100, 30 rows), decode rows at 5, 64 and 250
                // the last decode row reads slot 0's pages again, up to position 250
                int[] start = {0, 100, 5, 64, 250}, rowsPer = {70, 30, 1, 1, 1}, slot = {0, 1, 2, 3, 0};
                int segments = start.length, rows = 0;
                int[] segFirst = new int[segments], keyCount = new int[segments];
                for (int s = 0; s < segments; s++) {
                    segFirst[s] = rows;
                    rows += rowsPer[s];
                    keyCount[s] = start[s] + rowsPer[s];
                }
                int[] table = scatteredPageTable(slots * maxPages, pages);
                long pageElems = (long) kvHeads * KvCachePool.PAGE_TOKENS * hd;
                float[] kPool = bf(randn((int) (pages * pageElems), 1)), vPool = bf(randn((int) (pages * pageElems), 1));
                float[] q = bf(randn(rows * qWidth, 1.2));
                float scale = (float) Math.pow(hd, -0.5);
                final int totalRows = rows;
                for (boolean simple : new boolean[] {false, true}) {
                    float[] got = gpu.run(() -> {
                        long dq = gpu.bf16(q), dk = gpu.bf16(kPool), dv = gpu.bf16(vPool), out = gpu.poisoned(2L * totalRows * qWidth);
                        Attention.run(gpu.ctx, simple, hd, true, dq, qWidth, dk, dv, 0, out, qWidth, heads, kvHeads, scale,
                                gpu.i32(segFirst), gpu.i32(rowsPer), gpu.i32(slot), gpu.i32(keyCount), gpu.i32(start),
                                gpu.i32(table), maxPages, 70, segments);
                        return gpu.readBf16(out, totalRows * qWidth);
                    });
                    double[] ref = new double[rows * qWidth];
                    for (int s = 0; s < segments; s++)
                        for (int h = 0; h < heads; h++) {
                            int g = h / group;
                            float[][] k = pagedRows(kPool, table, slot[s] * maxPages, kvHeads, g, keyCount[s], hd);
                            float[][] v = pagedRows(vPool, table, slot[s] * maxPages, kvHeads, g, keyCount[s], hd);
                            for (int i = 0; i < rowsPer[s]; i++) {
                                double[] o = attend(q, (segFirst[s] + i) * qWidth + h * hd, k, v, start[s] + i + 1, scale);
                                System.arraycopy(o, 0, ref, (segFirst[s] + i) * qWidth + h * hd, hd);
                            }
                        }
                    double err = relativeError(ref, got);
                    System.out.printf("paged attention hd=%d group=%d %s: relative error %.2e%n", hd, group, simple ? "simple" : "flash", err);
                    assertTrue(err < (simple ? 4e-3 : 1e-2), "hd " + hd + " group " + group + (simple ? " simple" : " flash") + ": " + err);
                }
            }
        }
    }

    /**
     * Rows 0..count-1 of kv head g of one sequence, from a KV pool laid out as KvCachePool's
     * ([page][kvHead][PAGE_TOKENS][hd]) through that sequence's page-table entries starting at {@code tableStart}.
     */
    private static float[][] pagedRows(float[] pool, int[] table, int tableStart, int kvHeads, int g, int count, int hd) {
        long pageElems = (long) kvHeads * KvCachePool.PAGE_TOKENS * hd;
        float[][] rows = new float[count][hd];
        for (int j = 0; j < count; j++) {
            long at = table[tableStart + j / KvCachePool.PAGE_TOKENS] * pageElems
                    + ((long) g * KvCachePool.PAGE_TOKENS + j % KvCachePool.PAGE_TOKENS) * hd;
            for (int i = 0; i < hd; i++) rows[j][i] = pool[(int) (at + i)];
        }
        return rows;
    }

    /** A page table of {@code entries} slots' pages spread over a pool of {@code pages}, out of order. */
    private static int[] scatteredPageTable(int entries, int pages) {
        int[] table = new int[entries];
        for (int i = 0; i < entries; i++) table[i] = (i * 7 + 3) % pages;
        return table;
    }

    @Test
    void decodeStepAttentionMatchesTheReferenceAndEqualsThePagedKernelBitForBit() {
        // a decode step's pass (one row per segment): Attention.run takes attention_step_hd* (one warp a block); its values
        // must match the fp32 reference and be attention_paged_hd*'s (four warps a block) exactly, at both tile widths
        // (head dim 128: 32 keys)
        for (int hd : new int[] {16, 64, 128}) {
            for (int group : new int[] {2, 8}) {
                int kvHeads = 2, heads = kvHeads * group, qWidth = heads * hd, maxPages = 5, pages = 16, slots = 4;
                int[] start = {5, 64, 250, 0}, slot = {2, 3, 0, 1}, ones = {1, 1, 1, 1}, segFirst = {0, 1, 2, 3};
                int segments = start.length;
                int[] keyCount = new int[segments];
                for (int s = 0; s < segments; s++) keyCount[s] = start[s] + 1;
                int[] table = scatteredPageTable(slots * maxPages, pages);
                long pageElems = (long) kvHeads * KvCachePool.PAGE_TOKENS * hd;
                float[] kPool = bf(randn((int) (pages * pageElems), 1)), vPool = bf(randn((int) (pages * pageElems), 1));
                float[] q = bf(randn(segments * qWidth, 1.2));
                float scale = (float) Math.pow(hd, -0.5);
                float[][] got = new float[3][];  // Attention.run, attention_step_hd* and attention_paged_hd* launched directly
                for (int way = 0; way < 3; way++) {
                    final int launch = way;
                    got[way] = gpu.run(() -> {
                        long dq = gpu.bf16(q), dk = gpu.bf16(kPool), dv = gpu.bf16(vPool), out = gpu.poisoned(2L * segments * qWidth);
                        long dFirst = gpu.i32(segFirst), dRows = gpu.i32(ones), dSlot = gpu.i32(slot), dKeys = gpu.i32(keyCount),
                                dStart = gpu.i32(start), dTable = gpu.i32(table);
                        if (launch == 0)
                            Attention.run(gpu.ctx, false, hd, true, dq, qWidth, dk, dv, 0, out, qWidth, heads, kvHeads, scale,
                                    dFirst, dRows, dSlot, dKeys, dStart, dTable, maxPages, 1, segments);
                        else
                            Kernels.attentionFlash(gpu.ctx, (launch == 1 ? "attention_step_hd" : "attention_paged_hd") + hd,
                                    new Kernels.Grid(1, kvHeads, segments, 32 * (launch == 1 ? 1 : Attention.PAGED_WARPS)),
                                    dq, qWidth, dk, dv, 0, out, qWidth, heads, kvHeads, scale, dFirst, dRows, dSlot, dKeys, dStart, dTable, maxPages);
                        return gpu.readBf16(out, segments * qWidth);
                    });
                }
                double[] ref = new double[segments * qWidth];
                for (int s = 0; s < segments; s++)
                    for (int h = 0; h < heads; h++) {
                        int g = h / group;
                        float[][] k = pagedRows(kPool, table, slot[s] * maxPages, kvHeads, g, keyCount[s], hd);
                        float[][] v = pagedRows(vPool, table, slot[s] * maxPages, kvHeads, g, keyCount[s], hd);
                        double[] o = attend(q, s * qWidth + h * hd, k, v, keyCount[s], scale);
                        System.arraycopy(o, 0, ref, s * qWidth + h * hd, hd);
                    }
                double err = relativeError(ref, got[0]);
                assertTrue(err < 1e-2, "hd " + hd + " group " + group + ": " + err);
                assertArrayEquals(got[2], got[1], "hd " + hd + " group " + group + ": step kernel against the paged kernel");
            }
        }
    }

    // ------------------------------------------------------------------------------------------ GEMM

    @Test
    void linearLayersMatchAnFp32ReferenceWithAndWithoutFusedEpilogues() {
        int rows = 37, in = 256, out = 96;
        float[] x = bf(randn(rows * in, 1)), w = bf(randn(out * in, 0.1));
        float[] biasF = randn(out, 0.5), biasB = bf(randn(out, 0.5));
        float[] residual = randn(rows * out, 1);
        double[] plain = new double[rows * out];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++) {
                double d = 0;
                for (int i = 0; i < in; i++) d += (double) x[r * in + i] * w[o * in + i];
                plain[r * out + o] = d;
            }
        double[] refAcc = new double[rows * out], refBiasGelu = new double[rows * out], refBf = new double[rows * out];
        for (int i = 0; i < plain.length; i++) {
            refAcc[i] = residual[i] + plain[i] + biasF[i % out];
            double b = plain[i] + biasB[i % out];
            refBiasGelu[i] = 0.5 * b * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (b + 0.044715 * b * b * b)));
            refBf[i] = plain[i];
        }
        for (boolean fused : new boolean[] {true, false}) {
            float[][] got = gpu.run(() -> {
                Gemm gemm = new Gemm(gpu.ctx, fused, false);
                try {
                    DeviceMatrix m = new DeviceMatrix(gpu.bf16(w), out, in);
                    long dx = gpu.bf16(x), acc = gpu.f32(residual), gelu = gpu.poisoned(2L * rows * out), y = gpu.poisoned(2L * rows * out);
                    long bF = gpu.f32(biasF), bB = gpu.bf16(biasB);
                    gemm.linearBias(dx, rows, m, bF, acc, true, true, false);
                    gemm.linearBias(dx, rows, m, bB, gelu, false, false, true);
                    gemm.linear(dx, rows, m, y, false, false);
                    if (fused) System.out.println("cuBLASLt fused epilogues: bias+residual fp32 " + gemm.fusesEpilogue(rows, m, bF, true, true, false)
                            + ", bias+gelu bf16 " + gemm.fusesEpilogue(rows, m, bB, false, false, true));
                    return new float[][] {gpu.readF32(acc, rows * out), gpu.readBf16(gelu, rows * out), gpu.readBf16(y, rows * out)};
                } finally {
                    gemm.close();
                }
            });
            assertF32Close(refAcc, got[0], 1e-5, "linear + bias + residual (fused " + fused + ")");
            // unfused, the GEMM's bf16 output is rounded once more before the bias and GELU
            assertBf16Close(refBiasGelu, got[1], fused ? 1e-3 : 2e-2, "linear + bias + gelu_tanh (fused " + fused + ")");
            assertBf16Close(refBf, got[2], 1e-4, "linear to bf16");
        }
    }

    /**
     * Tuned algorithms (Gemm.tune at 2,048 rows, then a pass of 1,500) compute what cuBLAS's first choice computes:
     * the same fp32 reference tolerances, with a bias + residual epilogue, a bias + GELU epilogue and no epilogue.
     */
    @Test
    void tunedLinearLayersMatchAnFp32Reference() {
        int maxRows = 2048, rows = 1500, in = 256, out = 96;
        float[] x = bf(randn(rows * in, 1)), w = bf(randn(out * in, 0.1));
        float[] biasF = randn(out, 0.5), biasB = bf(randn(out, 0.5));
        float[] residual = randn(rows * out, 1);
        double[] refAcc = new double[rows * out], refBiasGelu = new double[rows * out], refBf = new double[rows * out];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++) {
                double d = 0;
                for (int i = 0; i < in; i++) d += (double) x[r * in + i] * w[o * in + i];
                int at = r * out + o;
                refAcc[at] = residual[at] + d + biasF[o];
                double b = d + biasB[o];
                refBiasGelu[at] = 0.5 * b * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (b + 0.044715 * b * b * b)));
                refBf[at] = d;
            }
        float[][] got = gpu.run(() -> {
            try (Gemm gemm = new Gemm(gpu.ctx, true, true)) {
                DeviceMatrix m = new DeviceMatrix(gpu.bf16(w), out, in);
                long scratchX = gpu.alloc(2L * maxRows * in), scratchY = gpu.alloc(4L * maxRows * out);
                long bF = gpu.f32(biasF), bB = gpu.bf16(biasB);
                gemm.tune(scratchX, maxRows, m, bF, scratchY, true, true, false);
                gemm.tune(scratchX, maxRows, m, bB, scratchY, false, false, true);
                gemm.tune(scratchX, maxRows, m, 0, scratchY, false, false, false);
                System.out.printf("tuned %d (shape, rows) pairs in %.1f ms%n", gemm.tunedShapes(), gemm.tuningMillis());
                assertTrue(gemm.runsTuned(rows, m, bF, true, true, false) && gemm.runsTuned(rows, m, bB, false, false, true)
                        && gemm.runsTuned(rows, m, 0, false, false, false), "every call takes its tuned algorithm");
                assertFalse(gemm.runsTuned(Gemm.TUNED_MIN_ROWS - 1, m, 0, false, false, false), "decode-sized calls keep cuBLAS's choice");
                long dx = gpu.bf16(x), acc = gpu.f32(residual), gelu = gpu.poisoned(2L * rows * out), y = gpu.poisoned(2L * rows * out);
                gemm.linearBias(dx, rows, m, bF, acc, true, true, false);
                gemm.linearBias(dx, rows, m, bB, gelu, false, false, true);
                gemm.linear(dx, rows, m, y, false, false);
                return new float[][] {gpu.readF32(acc, rows * out), gpu.readBf16(gelu, rows * out), gpu.readBf16(y, rows * out)};
            }
        });
        assertF32Close(refAcc, got[0], 1e-5, "tuned linear + bias + residual");
        assertBf16Close(refBiasGelu, got[1], 1e-3, "tuned linear + bias + gelu_tanh");
        assertBf16Close(refBf, got[2], 1e-4, "tuned linear to bf16");
    }

    // ------------------------------------------------------------------------------------------ phase clock

    /**
     * PhaseClock: the device time of each phase, and between one phase's end and the next one's start the time the
     * device waited (here a host sleep with the stream empty); a chain ended by endChain counts no gap.
     */
    @Test
    void phaseClockTimesPhasesAndTheGapsBetweenThem() {
        double[] got = gpu.run(() -> {
            try (PhaseClock clock = new PhaseClock(gpu.ctx)) {
                long n = 1L << 26;
                long buf = gpu.alloc(2 * n);
                java.util.function.Consumer<PhaseClock.Phase> phase = p -> { // some device work as phase p, waited for
                    clock.start(p);
                    Kernels.fillBf16Noise(gpu.ctx, Kernels.Grid.stride(n), buf, n, 7);
                    clock.stop();
                    gpu.ctx.sync("test");
                };
                phase.accept(PhaseClock.Phase.VISION);
                Thread.sleep(50);
                phase.accept(PhaseClock.Phase.PREFILL);
                clock.settle();
                clock.endChain();
                Thread.sleep(50);
                phase.accept(PhaseClock.Phase.DECODE);
                clock.settle();
                double between = 0, afterEnd = 0;
                for (PhaseClock.Phase p : PhaseClock.Phase.values()) {
                    afterEnd += clock.gapMillis(p, PhaseClock.Phase.DECODE);
                    if (p != PhaseClock.Phase.VISION) between += clock.gapMillis(p, PhaseClock.Phase.PREFILL);
                    between += clock.gapMillis(p, PhaseClock.Phase.VISION);
                }
                return new double[] {clock.millis(PhaseClock.Phase.VISION), clock.millis(PhaseClock.Phase.PREFILL),
                        between, clock.gapMillis(PhaseClock.Phase.VISION, PhaseClock.Phase.PREFILL), afterEnd};
            }
        });
        assertTrue(got[0] > 0 && got[1] > 0, "phases timed: " + Arrays.toString(got));
        assertEquals(0, got[2], "no other pair of phases met");
        assertTrue(got[3] >= 40, "the 50 ms host sleep between vision and prefill is their gap: " + got[3]);
        assertEquals(0, got[4], "after endChain the next phase starts a new chain");
    }

    // ------------------------------------------------------------------------------------------ logit candidates

    private static final int CAND_VOCAB = 5000, CAND_CAP = 64, CAND_SLOTS = 8;

    /**
     * logit_candidates and seen_reset through LogitCandidates, against the rule written plainly
     * (io.lfmcap.engine.CandidateSelection): the same ids and logits for a prefill-like pass (seen sets from the
     * prompts) and a decode-like pass after it (each row's fed token joins its set); rows with more candidates than
     * the cap come back as null (read whole); greedy and whole-row picks are left alone.
     */
    @Test
    void logitCandidatesSelectWhatTheRuleSelects() {
        Random seeded = new Random(5);
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
        for (int i = 0; i < n; i++) prompts.add(seeded.ints(0, CAND_VOCAB).distinct().limit(30).toArray());
        float[][] rows = new float[n][];
        for (int i = 0; i < n; i++) {
            rows[i] = new float[CAND_VOCAB];
            double scale = i == 5 ? 0.001 : 2;
            for (int v = 0; v < CAND_VOCAB; v++) rows[i][v] = (float) (seeded.nextGaussian() * scale);
            if (i != 5) for (int k = 0; k < 4; k++) rows[i][prompts.get(i)[k]] = 9f + k;  // seen tokens on top (row 5 stays flat)
        }
        boolean[][] seen = new boolean[n][CAND_VOCAB];
        for (int i = 0; i < n; i++) for (int id : prompts.get(i)) seen[i][id] = true;

        gpu.run(() -> {
            try (LogitCandidates candidates = new LogitCandidates(gpu.ctx, CAND_VOCAB, CAND_SLOTS, CAND_CAP);
                 PassUpload up = new PassUpload(gpu.ctx, 1 << 16)) {
                long dLogits = gpu.f32(flat(rows));
                up.reset();
                candidates.track(slots, prompts, picks, up);
                candidates.select(picks, slots, null, dLogits, up);
                gpu.ctx.sync("candidates");
                assertCandidates(candidates.read(n), picks, rows, seen, "prefill");

                int[] fed = new int[n];
                for (int i = 0; i < n; i++) {
                    fed[i] = seeded.nextInt(CAND_VOCAB);
                    if (i != 5) rows[i][fed[i]] = 10.5f;  // the fed token on top too: its penalty must apply
                    seen[i][fed[i]] = true;
                }
                dLogits = gpu.f32(flat(rows));
                up.reset();
                candidates.select(picks, slots, fed, dLogits, up);
                gpu.ctx.sync("candidates");
                assertCandidates(candidates.read(n), picks, rows, seen, "decode");
                assertEquals(8, candidates.rowsSelected());
                assertEquals(2, candidates.rowsReadWhole());
            }
            return null;
        });
    }

    private static void assertCandidates(SparseLogits[] got, List<Pick> picks, float[][] rows, boolean[][] seen, String pass) {
        for (int i = 0; i < picks.size(); i++) {
            Pick p = picks.get(i);
            if (p.candidates() == null) {
                assertNull(got[i], pass + " row " + i + " wants no candidates");
                continue;
            }
            SparseLogits want = CandidateSelection.select(rows[i], p.candidates(), seen[i], p.bannedToken());
            if (want.count() > CAND_CAP) {
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

    private static float[] flat(float[][] rows) {
        float[] all = new float[rows.length * CAND_VOCAB];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, all, i * CAND_VOCAB, CAND_VOCAB);
        return all;
    }
}
