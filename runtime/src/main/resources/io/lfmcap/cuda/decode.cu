// Decode-step kernels for small batches (io.lfmcap.cuda.TextDecoder, SmallBatchDecode): at a few rows per
// pass every linear layer is a matrix-vector product bound by reading its weights once, and a decode step is
// bound by how many kernels it launches. These fuse what the general path runs as separate kernels:
//   gemv_rms_rN       out fp32  = RMSNorm(x) W^T          (rms_norm + GEMM)
//   gemv_rms_silu_rN  act bf16  = silu(g) * u, [g | u] = RMSNorm(x) W13^T   (rms_norm + GEMM + silu_mul)
//   gemv_rms_conv_rN  y bf16    = C * conv(B * X), [B | C | X] = RMSNorm(x) W^T  (rms_norm + GEMM + short_conv
//                               + short_conv_state for one new row per sequence)
//   gemv_add_rN       out fp32 += in W^T                   (GEMM with beta = 1: the residual add)
//   gemv_rms_pick_rN  out fp32  = RMSNorm(x) W^T, and each row's greedy pick   (rms_norm + lm_head GEMM + argmax_rows)
//   attention_decode  qk_norm_rope_store + decode attention: one new row per sequence against its KV pages
// with the general path's rounding points: the normalised input is rounded to bf16 exactly as rms_norm
// rounds it, products accumulate in fp32, silu_mul's formula. Compiled after kernels.cu as one NVRTC
// program (io.lfmcap.cuda.KernelModule): bf16, Vec16, f2bf, bf2f and PAGE_TOKENS come from there.
//
// Programmatic dependent launch: every kernel here requests its weights (which no kernel of the step writes)
// before griddepcontrol.wait and touches activations, caches and outputs only after it, then lets the next
// kernel start (griddepcontrol.launch_dependents). Launched plainly both instructions do nothing; launched with
// programmatic stream serialization the next kernel's launch and first weight loads overlap this one's tail.

#define DECODE_PDL 1  // the kernels of this file may be launched as programmatic dependents
#define GEMV_WARPS 4  // warps per block
// weight rows per column group (SiLU kernels: half gate rows, half their up rows): at one row, 8 halve the group ends
// per weight byte (decode_bench, H100: 450M step 652 -> 628 us); more rows per block need the registers for their sums
#define GEMV_COLS(R) ((R) == 1 ? 8 : 4)
// weight rows per column group of gemv_rms_conv_rN: the B, C and X rows of 2 channels, so that the group that makes a
// channel's values also runs its conv step and owns its conv state. One channel a group at more rows (twice the group
// ends): 1.6B eight-row step 1,846 -> 1,968 us (decode_bench conv3, H200, s11-4)
#define GEMV_CONV_COLS(R) 6
// chunks of weights in flight per thread, ahead of the one in use (RMS kernels; gemv_add): at one row 2 and 3
// (decode_bench, H100: 450M one-row step 523 -> 502 us with 2 and 4, s6-3; gemv_add 4 -> 3 once the RMS kernels'
// ring ran across groups: 482.5 -> 472.8 us, 450M down projection 5.6 -> 5.1 us, s7-4); at more rows 1
// (deeper cost registers and time: 8 rows 1,077 -> 1,421 us, s6-3; likewise on H100 and H200 in s2-10, s2-11)
#define GEMV_PF(R) ((R) == 1 ? 2 : 1)
#define GEMV_ADD_PF(R) ((R) == 1 ? 3 : 1)
// the RMS kernels' weight ring runs across column groups (gemv_team), so TextDecoder launches no more of their blocks
// than are resident at once (gemvRmsBlocks)
#define GEMV_RMS_ACROSS_GROUPS 1

#define GEMV_ARGS const void* __restrict__ in, int rows, const float* __restrict__ normW, float eps, \
    const bf16* __restrict__ w, int nOut, int k, void* __restrict__ out, int ldo
#define GEMV_PASS in, rows, normW, eps, w, nOut, k, out, ldo

enum GemvInput { GEMV_IN_RMS, GEMV_IN_BF16 };
enum GemvOutput { GEMV_OUT_STORE, GEMV_OUT_ADD, GEMV_OUT_SILU, GEMV_OUT_CONV, GEMV_OUT_PICK };

struct alignas(16) Floats4 { float x, y, z, w; };

// argmax_rows' choice (kernels.cu): the largest logit, the lowest id on ties, never the banned id, 0 if no logit qualifies
// (all banned, NaN or -inf). A candidate (v, i) replaces the best so far when larger, or equal with a lower id.
#define PICK_NONE 0x7fffffff
__device__ __forceinline__ void pick_merge(float& v, int& i, float ov, int oi) {
    if (ov > v || (ov == v && oi < i)) {
        v = ov;
        i = oi;
    }
}

// gemv_rms_pick_rN: a thread's best logit so far of one row (the thread's row in the group ends: ids only grow, so a strict >
// keeps the lowest id on ties), never the row's banned id.
struct GemvPick {
    float v;
    int i, ban;
    __device__ __forceinline__ void offer(float y, int c) {
        if (c != ban && y > v) {
            v = y;
            i = c;
        }
    }
};
struct alignas(8) U32x2 { u32 x, y; };

// A 16-byte load of weights through the read-only (non-coherent) path, not kept in L1 and marked evict-first in L2: a
// step reads each weight once and its 0.7-2.3 GB of weights do not fit the L2, so kept lines would only push out what
// the step reads again (the residual rows, the KV pages and conv states of the next step). decode_bench, H100 (s6-3):
// 450M one-row step 600 -> 523 us, 1.6B 1,322 -> 1,204 us, 4 and 8 rows 2-9% faster (L1::no_allocate: 1.6B a further
// 1%). Requesting the next GEMV's weights into L2 ahead (cp.async.bulk.prefetch.L2), with or without this, was slower
// (s6-1, s6-2).
__device__ __forceinline__ Vec16 load_nc16(const void* p) {
    Vec16 v;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm("{.reg .b64 pol; createpolicy.fractional.L2::evict_first.b64 pol, 1.0;"
        " ld.global.nc.L1::no_allocate.L2::cache_hint.v4.u32 {%0,%1,%2,%3}, [%4], pol;}"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
#else
    asm("ld.global.nc.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
#endif
    return v;
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ void unpack8(const Vec16& v, float* f) {
    const u32 p[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        f[2 * i] = __uint_as_float(p[i] << 16);
        f[2 * i + 1] = __uint_as_float(p[i] & 0xffff0000u);
    }
}

// Who computes a GEMV's column groups: a whole 128-thread block (the per-kernel launches), or one 128-thread team of
// decode_bench's persistent step kernel (tools/parity/decode_step.cu: 4 teams per block). Teams take column groups index,
// index + count, ... and meet at their own named barrier.
struct GemvTeam {
    int index, count;
    int tid;      // 0..127
    int barrier;  // bar.sync id of the team's 128 threads
};

__device__ __forceinline__ void team_sync(const GemvTeam& t) { asm volatile("bar.sync %0, 128;" ::"r"(t.barrier) : "memory"); }

// short_conv and short_conv_state of kernels.cu for channel c of the one new row of segment s (row s), with the
// same summation order: y = C * sum_k taps[c][k] * U[k] over (state ++ B*X), U = B*X of the new row; then the state
// drops its oldest U and takes the new one (short_conv_push; decode_bench's step kernel defers it until every block has
// read the state). bcx [rows, 3H]: B | C | X as stored by an in-projection (decode_bench's step kernel; gemv_rms_conv
// holds them in registers).
struct ConvInput {
    const float* bcx;
    const float* taps;  // [H, L]
    int L;
    float* state;       // [slot][L - 1][H]
    long slotStride;
    const int* segSlot;
};

// Channel c of segment s: its taps and conv state (the last L - 1 U), read before they are needed (gemv_rms_conv loads
// them before its group's sums meet, so that their memory latency overlaps the meeting).
struct ConvChannel {
    float tap[CONV_MAX_L], hist[CONV_MAX_L];
    float* st;  // the channel's state: st[j * H], j < L - 1

    __device__ __forceinline__ void load(const ConvInput& cv, int H, int c, int s) {
        st = cv.state + (long)cv.segSlot[s] * cv.slotStride + c;
#pragma unroll
        for (int k = 0; k < CONV_MAX_L; k++) {
            tap[k] = k < cv.L ? cv.taps[(long)c * cv.L + k] : 0.f;
            hist[k] = k < cv.L - 1 ? ldcg(st + (long)k * H) : 0.f;
        }
    }

    // sum_k taps[c][k] * U[k] over (state ++ u), u = B * X of the new row
    __device__ __forceinline__ float sum(int L, float u) const {
        float acc = 0.f;
#pragma unroll
        for (int k = 0; k < CONV_MAX_L; k++) {
            if (k >= L) break;
            const float term = __fmul_rn(tap[k], k < L - 1 ? hist[k] : u);
            acc = k == 0 ? term : __fadd_rn(acc, term);
        }
        return acc;
    }

    // the state drops its oldest U and takes u
    __device__ __forceinline__ void push(int L, int H, float u) const {
#pragma unroll
        for (int j = 0; j + 1 < CONV_MAX_L - 1; j++)
            if (j + 1 < L - 1) st[(long)j * H] = hist[j + 1];
        if (L > 1) st[(long)(L - 2) * H] = u;
    }
};


// The RMS kernels' input: x fp32 [rows, k] normalised by RMSNorm (HF Lfm2RMSNorm, rms_norm's formula), staged by the
// whole block into shared memory as bf16 [R, k] (rows past `rows` zero). x is read through L1, where the block's second
// pass and the other blocks on the SM find it (every block of a launch stages the same rows); L2_ONLY reads it through L2
// (ld.cg), for a kernel that stages an x which other blocks of the same launch wrote (decode_bench's step kernel).
template <int R, bool L2_ONLY = false>
__device__ __forceinline__ void gemv_stage_rms(const float* x, int rows, const float* __restrict__ normW, float eps, int k, bf16* stage,
                                               float* invRms) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int r = warp; r < R; r += warps) {
        float ss = 0.f;
        if (r < rows) {
            const float* xr = x + (long)r * k;
#pragma unroll 4
            for (int i = lane * 4; i < k; i += 128) {
                const float4 v = L2_ONLY ? ldcg4(xr + i) : *(const float4*)(xr + i);
                ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
            }
        }
        ss = warp_sum(ss);
        if (lane == 0) invRms[r] = 1.0f / sqrtf(ss / (float)k + eps);
    }
    __syncthreads();
    for (int idx = threadIdx.x * 2; idx < R * k; idx += blockDim.x * 2) {
        const int r = idx / k, i = idx - r * k;
        float2 v = {0.f, 0.f};
        if (r < rows) v = L2_ONLY ? ldcg2(x + (long)r * k + i) : *(const float2*)(x + (long)r * k + i);
        const float inv = invRms[r];
        *(u32*)(stage + idx) = (u32)f2bf(normW[i] * (v.x * inv)) | ((u32)f2bf(normW[i + 1] * (v.y * inv)) << 16);
    }
    __syncthreads();
}

// One round of a column group: this thread's 16-byte chunks at kk of the group's COLS weight rows against the
// same 8 values of each input row (src bf16 [R or rows, k]), accumulated in fp32 in a fixed order.
template <int R, bool STAGE, int COLS>
__device__ __forceinline__ void gemv_round(const Vec16 (&wv)[COLS], const bf16* src, int rows, int k, int kk, float (&acc)[COLS][R]) {
#pragma unroll
    for (int r = 0; r < R; r++) {
        Vec16 xv = {0u, 0u, 0u, 0u};
        if (STAGE || r < rows) xv = *(const Vec16*)(src + (long)r * k + kk);
        float xf[8];
        unpack8(xv, xf);
#pragma unroll
        for (int j = 0; j < COLS; j++) {
            float wf[8];
            unpack8(wv[j], wf);
#pragma unroll
            for (int e = 0; e < 8; e++) acc[j][r] = fmaf(wf[e], xf[e], acc[j][r]);
        }
    }
}

// Output columns per column group of COLS weight rows: SiLU groups hold gate and up rows, conv groups B, C and X rows.
template <GemvOutput OUT, int COLS>
__host__ __device__ constexpr int gemv_outs() { return OUT == GEMV_OUT_SILU ? COLS / 2 : OUT == GEMV_OUT_CONV ? COLS / 3 : COLS; }

// A column group's end: the warps' sums meet (shuffles, then across the team's warps in shared memory in a fixed
// order) and the group's columns c0.. are written: stored, added to the residual, as silu(g) * u, or (conv, row r =
// segment r) as y = C * conv(B * X) of channel c (short_conv's), whose conv state only this group touches. Consecutive
// groups alternate between two partial buffers, so that one team barrier per group suffices.
template <int R, GemvOutput OUT, int COLS>
__device__ __forceinline__ void gemv_group_out(float (&acc)[COLS][R], const GemvTeam& t, float (*partial)[COLS][R], int c0,
                                               int nOut, int rows, void* out, int ldo,  // partial: this group's buffer
                                               const ConvInput* conv = nullptr, GemvPick* pick = nullptr) {
    constexpr int OUTS = gemv_outs<OUT, COLS>();
    const int lane = t.tid & 31, warp = t.tid >> 5;
    ConvChannel ch;
    if constexpr (OUT == GEMV_OUT_CONV) {  // thread i < OUTS x R makes column i / R of row i % R (the loop below)
        static_assert(OUTS * R <= 128, "one conv output per thread");
        if (t.tid < OUTS * R && c0 + t.tid / R < nOut && t.tid % R < rows) ch.load(*conv, nOut, c0 + t.tid / R, t.tid % R);
    }
#pragma unroll
    for (int j = 0; j < COLS; j++)
#pragma unroll
        for (int r = 0; r < R; r++) {
            const float v = warp_sum(acc[j][r]);
            if (lane == 0) partial[warp][j][r] = v;
        }
    team_sync(t);
    for (int i = t.tid; i < OUTS * R; i += 128) {
        const int j = i / R, r = i % R, c = c0 + j;
        if (c >= nOut || r >= rows) continue;
        float y = 0.f, u = 0.f, x = 0.f;  // the column's parts: y alone; g, u (SiLU); B, C, X (conv)
#pragma unroll
        for (int wp = 0; wp < GEMV_WARPS; wp++) {
            y += partial[wp][j][r];
            if (OUT == GEMV_OUT_SILU || OUT == GEMV_OUT_CONV) u += partial[wp][j + OUTS][r];
            if (OUT == GEMV_OUT_CONV) x += partial[wp][j + 2 * OUTS][r];
        }
        const long at = (long)r * ldo + c;
        if constexpr (OUT == GEMV_OUT_STORE) {
            ((float*)out)[at] = y;
        } else if constexpr (OUT == GEMV_OUT_PICK) {  // thread i always holds row i % R (OUTS x R <= 128: one output a thread)
            static_assert(OUTS * R <= 128, "one output per thread");
            ((float*)out)[at] = y;
            pick->offer(y, c);
        } else if constexpr (OUT == GEMV_OUT_ADD) {
            ((float*)out)[at] = ldcg((const float*)out + at) + y;
        } else if constexpr (OUT == GEMV_OUT_SILU) {  // silu_mul: silu(g) * u, g = w1 x, u = w3 x
            ((bf16*)out)[at] = f2bf(y / (1.0f + expf(-y)) * u);
        } else {  // short_conv for the new row and short_conv_state, with B = y, C = u, X = x
            const float bx = y * x;
            ((bf16*)out)[at] = f2bf(u * ch.sum(conv->L, bx));
            ch.push(conv->L, nOut, bx);
        }
    }
}

// Weight row j of column group `group`, whose outs columns start at group * outs: its rows come in parts of outs, part p
// from W's rows p * nOut.. (SiLU: gate rows, then their up rows; conv: B, C, then X rows of the in-projection).
__device__ __forceinline__ long gemv_weight_row(int group, int j, int outs, int nOut) {
    const int c = min(group * outs + j % outs, nOut - 1);  // past the end: a valid row, result not stored
    return (long)(j / outs) * nOut + c;
}

// The per-kernel GEMVs: rows (<= R) of the input times COLS weight rows per column group (SiLU kernels: half gate rows,
// half their up rows; conv kernels: a third each of B, C and X rows), for the groups of team t (one block). Input: RMS
// kernels: bf16 [R, k] in shared memory, staged by the block (gemv_stage_rms); else bf16 [rows, k] read straight from
// global memory (L1-resident: a few rows). The team's warps split k (warp w takes the 8-value chunks w, w + 4, ...;
// 16-byte loads of weights and inputs), so that even a projection with few outputs and a long k (the MLP's down
// projection) keeps enough loads in flight; partial sums meet by shuffles, then across warps in shared memory. Each
// thread keeps PF chunks of weights in flight in registers; the first PF are requested before waiting for the previous
// kernel and before the staging, so that their memory latency overlaps both. Where the ring runs:
// - RMS kernels (in-projections, gate/up, lm_head: many column groups of a short k, TextDecoder launches only as many
//   blocks as are resident at once): across group ends. The team walks one sequence of chunks, its groups in turn, each
//   in `rounds` rounds of STEP values (a thread's chunk past k is skipped, so every thread meets the others at each
//   group's end); the next group's weights stream in while this group's sums meet, and most of a launch's weights are
//   requested before the wait. decode_bench s7-1, H100, one row: 450M gate/up 10.4 -> 8.4 us; four rows, 1.6B: gate/up
//   40.9 -> 32.8, lm_head 113.9 -> 98.5 (a block normalises its input once for all its groups).
// - gemv_add (out and down projections: few groups, down's k is the MLP width; a block per group): within each group.
//   Across group ends it took more registers and was slower (s7-1: 450M down 5.3 -> 5.8 us at one row; 1.6B eight rows
//   15.3 -> 23.4 us, three blocks per SM instead of four).
template <int R, GemvInput IN, GemvOutput OUT, int PF, int COLS>
__device__ __forceinline__ void gemv_team(const void* in, int rows, const float* __restrict__ normW, float eps,
                                          const bf16* __restrict__ w, int nOut, int k, void* out, int ldo, const GemvTeam& t,
                                          bf16* stage, float* invRms, float (*partial)[COLS][R], const ConvInput* conv,
                                          GemvPick* pick = nullptr) {
    constexpr int OUTS = gemv_outs<OUT, COLS>();  // output columns per group
    constexpr int STEP = GEMV_WARPS * 256;                                   // k per round of the whole team
    constexpr bool STAGE = IN == GEMV_IN_RMS, ACROSS_GROUPS = STAGE && GEMV_RMS_ACROSS_GROUPS;
    const int groups = (nOut + OUTS - 1) / OUTS, rounds = (k + STEP - 1) / STEP;
    const int kStart = t.tid * 8;
    auto weights = [&](int group, int j, int kk) {
        return w + gemv_weight_row(group, j, OUTS, nOut) * k + kk;
    };
    Vec16 wBuf[PF][COLS];  // chunk i of the ring's sequence sits in wBuf[i % PF] from its request until its round
    auto fetchFirst = [&](int group) {  // within groups: a group's first PF rounds
#pragma unroll
        for (int p = 0; p < PF; p++)
            if (kStart + p * STEP < k)
#pragma unroll
                for (int j = 0; j < COLS; j++) wBuf[p][j] = load_nc16(weights(group, j, kStart + p * STEP));
    };
    int fetchGroup = t.index, fetchRound = 0;  // across groups: the next chunk to request
    auto fetchNext = [&](Vec16 (&buf)[COLS]) {
        const int kk = kStart + fetchRound * STEP;
        if (fetchGroup < groups && kk < k)
#pragma unroll
            for (int j = 0; j < COLS; j++) buf[j] = load_nc16(weights(fetchGroup, j, kk));
        if (++fetchRound == rounds) {
            fetchRound = 0;
            fetchGroup += t.count;
        }
    };
    if constexpr (ACROSS_GROUPS) {
#pragma unroll
        for (int p = 0; p < PF; p++) fetchNext(wBuf[p]);
    } else if (t.index < groups) {
        fetchFirst(t.index);
    }
    pdl_wait();
    pdl_launch_dependents();
    if constexpr (STAGE) gemv_stage_rms<R>((const float*)in, rows, normW, eps, k, stage, invRms);
    const bf16* src = STAGE ? stage : (const bf16*)in;

    float acc[COLS][R];
    auto clear = [&]() {
#pragma unroll
        for (int j = 0; j < COLS; j++)
#pragma unroll
            for (int r = 0; r < R; r++) acc[j][r] = 0.f;
    };
    if constexpr (ACROSS_GROUPS) {
        const int chunks = t.index < groups ? ((groups - 1 - t.index) / t.count + 1) * rounds : 0;
        int group = t.index, round = 0, done = 0;  // the chunk in use: its group and round; groups done (partials alternate)
        clear();
        for (int i0 = 0; i0 < chunks; i0 += PF) {
#pragma unroll
            for (int p = 0; p < PF; p++) {
                if (i0 + p >= chunks) break;
                Vec16 wv[COLS];
#pragma unroll
                for (int j = 0; j < COLS; j++) wv[j] = wBuf[p][j];
                fetchNext(wBuf[p]);  // PF chunks ahead
                const int kk = kStart + round * STEP;
                if (kk < k) gemv_round<R, STAGE>(wv, src, rows, k, kk, acc);
                if (++round == rounds) {  // the group's end: the same chunk for every thread of the team
                    gemv_group_out<R, OUT>(acc, t, partial + (done & 1) * GEMV_WARPS, group * OUTS, nOut, rows, out, ldo, conv, pick);
                    clear();
                    round = 0;
                    group += t.count;
                    done++;
                }
            }
        }
    } else {
        for (int group = t.index; group < groups; group += t.count) {
            if (group != t.index) fetchFirst(group);
            clear();
            for (int kk0 = kStart; kk0 < k; kk0 += PF * STEP) {
#pragma unroll
                for (int p = 0; p < PF; p++) {
                    const int kk = kk0 + p * STEP;
                    if (kk >= k) break;
                    Vec16 wv[COLS];
#pragma unroll
                    for (int j = 0; j < COLS; j++) wv[j] = wBuf[p][j];
                    if (kk + PF * STEP < k)  // PF rounds ahead
#pragma unroll
                        for (int j = 0; j < COLS; j++) wBuf[p][j] = load_nc16(weights(group, j, kk + PF * STEP));
                    gemv_round<R, STAGE>(wv, src, rows, k, kk, acc);
                }
            }
            gemv_group_out<R, OUT>(acc, t, partial + ((group - t.index) / t.count & 1) * GEMV_WARPS, group * OUTS, nOut, rows, out, ldo,
                                   conv, pick);
        }
    }
}

// The per-kernel launches: one team per block, rows <= R.
template <int R, GemvInput IN, GemvOutput OUT, int PF, int COLS = GEMV_COLS(R)>
__device__ __forceinline__ void gemv(GEMV_ARGS, const ConvInput* conv = nullptr, GemvPick* pick = nullptr) {
    extern __shared__ __align__(16) unsigned char gemvStage[];
    __shared__ float invRms[R];
    __shared__ float partial[2 * GEMV_WARPS][COLS][R];
    const GemvTeam t = {(int)blockIdx.x, (int)gridDim.x, (int)threadIdx.x, 1};
    gemv_team<R, IN, OUT, PF, COLS>(in, rows, normW, eps, w, nOut, k, out, ldo, t, (bf16*)gemvStage, invRms, partial, conv, pick);
}

// A conv layer's in-projection and conv step in one launch (a decode step: row r is segment r): out = y bf16 [rows, H],
// nOut = H; w = the in-projection [3H, k] (B, C, X rows); the conv state [slot][L - 1][H] as kernels.cu's. Bit-equal
// to gemv_rms_rN into bcx, then short_conv and short_conv_state (a decode step before this kernel: 1.8 us a conv layer
// on the H200).
template <int R>
__device__ __forceinline__ void gemv_conv(GEMV_ARGS, const float* taps, int L, float* state, long slotStride, const int* segSlot) {
    const ConvInput conv = {nullptr, taps, L, state, slotStride, segSlot};
    gemv<R, GEMV_IN_RMS, GEMV_OUT_CONV, GEMV_PF(R), GEMV_CONV_COLS(R)>(GEMV_PASS, &conv);
}

// grid (column groups or fewer), block 128, rows <= N; dynamic shared memory N * k * 2 bytes (RMS kernels).
extern "C" __global__ void __launch_bounds__(128) gemv_rms_r1(GEMV_ARGS) { gemv<1, GEMV_IN_RMS, GEMV_OUT_STORE, GEMV_PF(1)>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_r2(GEMV_ARGS) { gemv<2, GEMV_IN_RMS, GEMV_OUT_STORE, GEMV_PF(2)>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_r4(GEMV_ARGS) { gemv<4, GEMV_IN_RMS, GEMV_OUT_STORE, GEMV_PF(4)>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_r8(GEMV_ARGS) { gemv<8, GEMV_IN_RMS, GEMV_OUT_STORE, GEMV_PF(8)>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_silu_r1(GEMV_ARGS) { gemv<1, GEMV_IN_RMS, GEMV_OUT_SILU, GEMV_PF(1)>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_silu_r2(GEMV_ARGS) { gemv<2, GEMV_IN_RMS, GEMV_OUT_SILU, GEMV_PF(2)>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_silu_r4(GEMV_ARGS) { gemv<4, GEMV_IN_RMS, GEMV_OUT_SILU, GEMV_PF(4)>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_silu_r8(GEMV_ARGS) { gemv<8, GEMV_IN_RMS, GEMV_OUT_SILU, GEMV_PF(8)>(GEMV_PASS); }
// lm_head and the greedy picks of a small-batch decode step in one launch (argmax_rows was a launch of its own after it:
// 3.9 us at one row, decode_bench H200 s12-2). The logits are stored as gemv_rms_rN stores them (the host reads them when a
// row samples). The threads that made a block's outputs (warp 0's first OUTS x R lanes, lane l holding row l % R) meet by
// shuffles, lane 0 leaves the block's best per row in partial (values [gridDim.x][R], then ids) and counts the block in
// *done; the last block to finish meets the blocks' bests (every thread loading its share at once) and writes row r's pick
// to picks[r] and, unless null, to copy[r] (LaunchedSteps' pinned slot), then resets *done for the next launch. The same
// choice as argmax_rows over the same logits: pick_merge is a strict order on (value, -id), so the meeting order is free.
#define GEMV_PICK_BLOCKS 1024  // blocks of a launch at most (TextDecoder.PICK_BLOCKS)
template <int R>
__device__ __forceinline__ void gemv_pick(GEMV_ARGS, const int* __restrict__ banned, int* __restrict__ picks, int* __restrict__ copy,
                                          float* __restrict__ partial, unsigned* __restrict__ done) {
    constexpr int OUTS = GEMV_COLS(R);
    static_assert(OUTS * R <= 32, "the outputs' threads are warp 0's");
    __shared__ float bestV[GEMV_WARPS][R];
    __shared__ int bestI[GEMV_WARPS][R];
    __shared__ bool last;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    GemvPick pick = {NEG_INF, PICK_NONE, tid % R < rows ? banned[tid % R] : -1};  // the pass arrays were uploaded before the step
    gemv<R, GEMV_IN_RMS, GEMV_OUT_PICK, GEMV_PF(R)>(GEMV_PASS, nullptr, &pick);
    float* partialV = partial;
    int* partialI = (int*)(partial + (long)gridDim.x * R);
    if (warp == 0) {
        float v = pick.v;
        int i = pick.i;
#pragma unroll
        for (int o = R; o < OUTS * R; o <<= 1) pick_merge(v, i, __shfl_xor_sync(0xffffffffu, v, o), __shfl_xor_sync(0xffffffffu, i, o));
#pragma unroll
        for (int r = 0; r < R; r++) {  // lane r holds row r's best: lane 0 writes them all, then counts the block
            const float rv = __shfl_sync(0xffffffffu, v, r);
            const int ri = __shfl_sync(0xffffffffu, i, r);
            if (lane == 0) {
                partialV[blockIdx.x * R + r] = rv;
                partialI[blockIdx.x * R + r] = ri;
            }
        }
        if (lane == 0) {
            __threadfence();
            last = atomicAdd(done, 1u) == gridDim.x - 1;
        }
    }
    __syncthreads();
    if (!last) return;
    __threadfence();
    // thread t meets row t % R of blocks t / R, t / R + 128 / R, ...: its loads are independent, so they are in flight together
    const int row = tid % R, blocks = gridDim.x;
    float v = NEG_INF;
    int i = PICK_NONE;
#pragma unroll 8
    for (int b = tid / R; b < blocks; b += 128 / R) pick_merge(v, i, __ldcg(partialV + b * R + row), __ldcg(partialI + b * R + row));
#pragma unroll
    for (int o = R; o < 32; o <<= 1) pick_merge(v, i, __shfl_xor_sync(0xffffffffu, v, o), __shfl_xor_sync(0xffffffffu, i, o));
    if (lane < R) {
        bestV[warp][lane] = v;
        bestI[warp][lane] = i;
    }
    __syncthreads();
    if (tid < R && tid < rows) {
        v = bestV[0][tid];
        i = bestI[0][tid];
#pragma unroll
        for (int w = 1; w < GEMV_WARPS; w++) pick_merge(v, i, bestV[w][tid], bestI[w][tid]);
        const int chosen = i == PICK_NONE ? 0 : i;
        picks[tid] = chosen;
        if (copy) copy[tid] = chosen;
    }
    if (tid == 0) *done = 0u;
}

#define GEMV_PICK 1  // lm_head makes the greedy picks (no argmax_rows launch in a small-batch step)
#define GEMV_PICK_ARGS GEMV_ARGS, const int* __restrict__ banned, int* __restrict__ picks, int* __restrict__ copy, \
    float* __restrict__ partial, unsigned* __restrict__ done
#define GEMV_PICK_PASS GEMV_PASS, banned, picks, copy, partial, done
extern "C" __global__ void __launch_bounds__(128) gemv_rms_pick_r1(GEMV_PICK_ARGS) { gemv_pick<1>(GEMV_PICK_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_pick_r2(GEMV_PICK_ARGS) { gemv_pick<2>(GEMV_PICK_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_pick_r4(GEMV_PICK_ARGS) { gemv_pick<4>(GEMV_PICK_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_pick_r8(GEMV_PICK_ARGS) { gemv_pick<8>(GEMV_PICK_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_add_r1(GEMV_ARGS) { gemv<1, GEMV_IN_BF16, GEMV_OUT_ADD, GEMV_ADD_PF(1)>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_add_r2(GEMV_ARGS) { gemv<2, GEMV_IN_BF16, GEMV_OUT_ADD, GEMV_ADD_PF(2)>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_add_r4(GEMV_ARGS) { gemv<4, GEMV_IN_BF16, GEMV_OUT_ADD, GEMV_ADD_PF(4)>(GEMV_PASS); }
// gemv_add at one row with 4 weight rows a group and 4 chunks ahead (136 registers: 3 blocks per SM), for a projection
// whose groups then fit one wave and whose rows are long (TextDecoder.gemvAdd): twice the blocks of gemv_add_r1, each
// with more of its weights in flight. decode_bench (H200, s12-7): 450M down projection (k 4,608, 256 blocks) 4.40 ->
// 4.12 us, one-row step 395.0 -> 389.9 us; at 1.6B (512 blocks: two waves) 9.7 -> 12.5 us, so not there; with 3
// chunks ahead 4.86 us. Per column the same arithmetic as gemv_add_r1: bit-equal.
#define GEMV_ADD_NARROW_COLS 4
#define GEMV_ADD_NARROW_PF 4
extern "C" __global__ void __launch_bounds__(128) gemv_add_narrow_r1(GEMV_ARGS) {
    gemv<1, GEMV_IN_BF16, GEMV_OUT_ADD, GEMV_ADD_NARROW_PF, GEMV_ADD_NARROW_COLS>(GEMV_PASS);
}
extern "C" __global__ void __launch_bounds__(128) gemv_add_r8(GEMV_ARGS) { gemv<8, GEMV_IN_BF16, GEMV_OUT_ADD, GEMV_ADD_PF(8)>(GEMV_PASS); }
#define GEMV_CONV_STEP 1  // the conv step runs in gemv_rms_conv_rN (no short_conv_step kernel)
#define GEMV_CONV_PASS GEMV_PASS, taps, L, state, slotStride, segSlot
// one row: compiled for 4 resident blocks per SM (128 registers, 8 bytes spilled; 132 unbounded leave 3): a block per
// column group at 450M, and the 450M one-row step 409.1 -> 399.2 us (decode_bench, H200, s11-5; 1.6B unchanged)
extern "C" __global__ void __launch_bounds__(128, 4) gemv_rms_conv_r1(GEMV_ARGS, const float* __restrict__ taps, int L,
        float* __restrict__ state, long slotStride, const int* __restrict__ segSlot) { gemv_conv<1>(GEMV_CONV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_conv_r2(GEMV_ARGS, const float* __restrict__ taps, int L,
        float* __restrict__ state, long slotStride, const int* __restrict__ segSlot) { gemv_conv<2>(GEMV_CONV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_conv_r4(GEMV_ARGS, const float* __restrict__ taps, int L,
        float* __restrict__ state, long slotStride, const int* __restrict__ segSlot) { gemv_conv<4>(GEMV_CONV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_conv_r8(GEMV_ARGS, const float* __restrict__ taps, int L,
        float* __restrict__ state, long slotStride, const int* __restrict__ segSlot) { gemv_conv<8>(GEMV_CONV_PASS); }

// Decode attention: query row s (one per segment) of the heads of kv head g against keys 0..segKeyCount[s]-1
// in the pages of slot segSlot[s] (KV pools [page][kvHead][PAGE_TOKENS][hd], kernels.cu). The block's warps take
// runs of 32 keys in turn (warp w: runs w, w + warps, ...; at DEC_WARPS = 16 one run each up to 512 keys). Per run
// every load is issued before any is used: lane = key for its K row (16-byte loads), lane = head dims for the
// run's V rows (hd <= 64: all 32 with K; hd <= 128: K 64 dims and V 16 rows at a time, to stay within the registers). Scores
// are fp32 dots of bf16 q and k; an online softmax per head keeps the warp's running max (warp-uniform) and each
// lane's share of the sum; p goes through shared memory to the lanes that own the head dims. The warps then meet
// at the block's max per head and add their rescaled outputs in a fixed order (deterministic), a pair of heads
// at a time. fp32 softmax and accumulation throughout (the paged flash kernel rounds p to bf16 before p v).
// hd <= 128 (a multiple of 8), heads / kvHeads <= 8. grid (kvHeads, segments), block up to DEC_WARPS x 32 threads.
#define DEC_WARPS 16  // at most; __launch_bounds__ of attention_decode below: DEC_WARPS x 32
#define DEC_GROUP 8
#define DEC_MERGE_HEADS 2  // heads merged per round (shared memory: DEC_WARPS x this x 128 floats)
// floats per warp of scratch: p of a run [DEC_GROUP][32] during the key loop, then the merge buffer [DEC_MERGE_HEADS][128]
#define DEC_BUF (DEC_GROUP * 32 > DEC_MERGE_HEADS * 128 ? DEC_GROUP * 32 : DEC_MERGE_HEADS * 128)

template <int HD, int GROUP>  // HD 64: hd <= 64 (a lane holds 2 dims); 128: hd <= 128 (4 dims); GROUP >= group (loop bounds)
__device__ __forceinline__ void attention_decode_body(int g, int s, const bf16* kPool, const bf16* vPool, bf16* out, int ldo,
        int kvHeads, int hd, int group, float scale, int keys, const int* __restrict__ pages, float (*sq)[128], float* sBuf,
        float (*sMax)[DEC_GROUP], float (*sSum)[DEC_GROUP]) {
    constexpr int DPL = HD / 32;  // head dims per lane in p v
    constexpr int VC = HD <= 64 ? 32 : 16;  // V rows loaded at once (registers: VC x DPL / 2)
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    float (*sp)[DEC_GROUP][32] = (float (*)[DEC_GROUP][32])sBuf;  // [warps][head][key of the run]
    const int d0 = lane * DPL;                                      // this lane's head dims in p v
    const bool dimLive = d0 < hd;                                   // hd % 8 == 0: all DPL dims or none

    float mx[GROUP], sum[GROUP], o[GROUP][DPL];
#pragma unroll
    for (int h = 0; h < GROUP; h++) {
        mx[h] = NEG_INF;
        sum[h] = 0.f;
#pragma unroll
        for (int e = 0; e < DPL; e++) o[h][e] = 0.f;
    }
    for (int base = warp * 32; base < keys; base += warps * 32) {
        const int key = base + lane, n = min(32, keys - base);
        const bool valid = key < keys;
        // runs of 32 keys never straddle a page (PAGE_TOKENS is a multiple of 32)
        const long pageBase = ((long)pages[base / PAGE_TOKENS] * kvHeads + g) * PAGE_TOKENS * hd;
        const bf16* vRun = vPool + pageBase + (long)(base % PAGE_TOKENS) * hd + d0;
        u32 vv[VC][DPL / 2];  // V rows j0 .. j0 + VC - 1 of the run, this lane's dims
        auto loadV = [&](int j0) {
#pragma unroll
            for (int j = 0; j < VC; j++) {
                const bool live = dimLive && j0 + j < n;
                if constexpr (DPL == 2) {
                    vv[j][0] = live ? *(const u32*)(vRun + (long)(j0 + j) * hd) : 0u;
                } else {
                    U32x2 t = {0u, 0u};
                    if (live) t = *(const U32x2*)(vRun + (long)(j0 + j) * hd);
                    vv[j][0] = t.x;
                    vv[j][1] = t.y;
                }
            }
        };
        auto accumulateV = [&](int j0) {  // o += p v over the chunk's keys (p of keys past the run's end are 0, V zeros)
#pragma unroll
            for (int j4 = 0; j4 < VC; j4 += 4) {
                float vf[4][DPL];
#pragma unroll
                for (int jj = 0; jj < 4; jj++)
#pragma unroll
                    for (int e = 0; e < DPL / 2; e++) {
                        vf[jj][2 * e] = __uint_as_float(vv[j4 + jj][e] << 16);
                        vf[jj][2 * e + 1] = __uint_as_float(vv[j4 + jj][e] & 0xffff0000u);
                    }
#pragma unroll
                for (int h = 0; h < GROUP; h++) {
                    if (h >= group) break;
                    const Floats4 p4 = *(const Floats4*)&sp[warp][h][j0 + j4];
                    const float pj[4] = {p4.x, p4.y, p4.z, p4.w};
#pragma unroll
                    for (int jj = 0; jj < 4; jj++)
#pragma unroll
                        for (int e = 0; e < DPL; e++) o[h][e] = fmaf(pj[jj], vf[jj][e], o[h][e]);
                }
            }
        };
        float sc[GROUP];
#pragma unroll
        for (int h = 0; h < GROUP; h++) sc[h] = 0.f;
        const bf16* kr = kPool + pageBase + (long)(key % PAGE_TOKENS) * hd;
#pragma unroll
        for (int d = 0; d < HD; d += 64) {  // this lane's K row, 64 dims (8 loads) at a time
            if (d >= hd) break;
            Vec16 kv[8];
#pragma unroll
            for (int c = 0; c < 8; c++)
                kv[c] = valid && d + c * 8 < hd ? *(const Vec16*)(kr + d + c * 8) : Vec16{0u, 0u, 0u, 0u};
            if (VC == 32 && d == 0) loadV(0);
#pragma unroll
            for (int c = 0; c < 8; c++) {
                if (d + c * 8 >= hd) break;
                float kf[8];
                unpack8(kv[c], kf);
#pragma unroll
                for (int h = 0; h < GROUP; h++) {
                    if (h >= group) break;
                    const Floats4 qa = *(const Floats4*)&sq[h][d + c * 8], qb = *(const Floats4*)&sq[h][d + c * 8 + 4];
                    sc[h] = fmaf(qa.x, kf[0], sc[h]);
                    sc[h] = fmaf(qa.y, kf[1], sc[h]);
                    sc[h] = fmaf(qa.z, kf[2], sc[h]);
                    sc[h] = fmaf(qa.w, kf[3], sc[h]);
                    sc[h] = fmaf(qb.x, kf[4], sc[h]);
                    sc[h] = fmaf(qb.y, kf[5], sc[h]);
                    sc[h] = fmaf(qb.z, kf[6], sc[h]);
                    sc[h] = fmaf(qb.w, kf[7], sc[h]);
                }
            }
        }
        if constexpr (VC < 32) loadV(0);
#pragma unroll
        for (int h = 0; h < GROUP; h++) {
            if (h >= group) break;
            const float v = valid ? sc[h] * scale : NEG_INF;
            const float nm = fmaxf(mx[h], warp_max(v));  // finite: the run's first key is valid
            const float corr = expf(mx[h] - nm);
            const float p = valid ? expf(v - nm) : 0.f;
            sum[h] = sum[h] * corr + p;  // this lane's share; the lanes' shares meet after the loop
#pragma unroll
            for (int e = 0; e < DPL; e++) o[h][e] *= corr;
            mx[h] = nm;
            sp[warp][h][lane] = p;
        }
        __syncwarp();
        accumulateV(0);
#pragma unroll
        for (int j0 = VC; j0 < 32; j0 += VC) {
            if (j0 >= n) break;
            loadV(j0);
            accumulateV(j0);
        }
        __syncwarp();
    }
#pragma unroll
    for (int h = 0; h < GROUP; h++) {
        if (h >= group) break;
        const float total = warp_sum(sum[h]);
        if (lane == 0) {
            sMax[warp][h] = mx[h];
            sSum[warp][h] = total;
        }
    }
    __syncthreads();  // the maxima are in; everyone is done with sp (the merge buffer overlays it)
    float (*sMerge)[DEC_MERGE_HEADS][128] = (float (*)[DEC_MERGE_HEADS][128])sBuf;
#pragma unroll
    for (int h0 = 0; h0 < GROUP; h0 += DEC_MERGE_HEADS) {
        if (h0 >= group) break;
#pragma unroll
        for (int hh = 0; hh < DEC_MERGE_HEADS; hh++) {
            const int h = h0 + hh;
            if (h >= group) break;
            float m = NEG_INF;
            for (int w = 0; w < warps; w++) m = fmaxf(m, sMax[w][h]);
            const float f = mx[h] == NEG_INF ? 0.f : expf(mx[h] - m);  // a warp that had no keys adds nothing
            if (dimLive)
#pragma unroll
                for (int e = 0; e < DPL; e++) sMerge[warp][hh][d0 + e] = o[h][e] * f;
        }
        __syncthreads();
        for (int i = threadIdx.x; i < DEC_MERGE_HEADS * hd; i += blockDim.x) {
            const int hh = i / hd, d = i % hd, h = h0 + hh;
            if (h >= group) break;
            float m = NEG_INF;
            for (int w = 0; w < warps; w++) m = fmaxf(m, sMax[w][h]);
            float total = 0.f, acc = 0.f;
            for (int w = 0; w < warps; w++) {
                if (sMax[w][h] == NEG_INF) continue;
                total += sSum[w][h] * expf(sMax[w][h] - m);
                acc += sMerge[w][hh][d];
            }
            out[(long)s * ldo + (long)(g * group + h) * hd + d] = f2bf(acc / total);
        }
        __syncthreads();
    }
}

// attention_decode_body for the group size (queries per kv head) at run time: the head loops are as long as the group,
// so that the code a block runs stays small (decode_bench's step kernel also runs it between its GEMV phases).
template <int HD>
__device__ __forceinline__ void attention_decode_heads(int g, int s, const bf16* kPool, const bf16* vPool, bf16* out, int ldo,
        int kvHeads, int hd, int group, float scale, int keys, const int* __restrict__ pages, float (*sq)[128], float* sBuf,
        float (*sMax)[DEC_GROUP], float (*sSum)[DEC_GROUP]) {
#define DEC_BODY(G) attention_decode_body<HD, G>(g, s, kPool, vPool, out, ldo, kvHeads, hd, group, scale, keys, pages, sq, sBuf, sMax, sSum)
    if (group == 1) DEC_BODY(1);
    else if (group == 2) DEC_BODY(2);
    else if (group <= 4) DEC_BODY(4);
    else DEC_BODY(DEC_GROUP);
#undef DEC_BODY
}

// qk_norm_rope_store's work for the heads of kv head g of one new row (position pos of the sequence in slot), by a block
// of at least (group + 2) warps (kernels.cu qk_norm_rope_head): warp h < group normalises and rotates q head g * group + h
// into sq as bf16 values, warp group its K head into the sequence's page, warp group + 1 copies its V head. row: the
// row's in-projection output, fp32 [(heads + 2 kvHeads) hd]. The caller meets its block before it attends.
__device__ __forceinline__ void attention_decode_front(const float* row, int g, int pos, int slot, int heads, int kvHeads, int hd,
        const float* __restrict__ qNormW, const float* __restrict__ kNormW, float eps, const float* __restrict__ invFreq,
        bf16* kPool, bf16* vPool, const int* __restrict__ pageTable, int maxPages, float (*sq)[128]) {
    const int group = heads / kvHeads, warp = threadIdx.x >> 5;
    if (warp < group) {
        qk_norm_rope_head(row + (long)(g * group + warp) * hd, hd, qNormW, eps, pos, invFreq, [&](int i, bf16 v) { sq[warp][i] = bf2f(v); });
    } else if (warp == group) {
        bf16* dst = kPool + kv_row(pageTable, maxPages, slot, pos, kvHeads, g, hd);
        qk_norm_rope_head(row + (long)(heads + g) * hd, hd, kNormW, eps, pos, invFreq, [&](int i, bf16 v) { dst[i] = v; });
    } else if (warp == group + 1) {
        bf16* dst = vPool + kv_row(pageTable, maxPages, slot, pos, kvHeads, g, hd);
        const float* src = row + (long)(heads + kvHeads + g) * hd;
        for (int i = threadIdx.x & 31; i < hd; i += 32) dst[i] = f2bf(ldcg(src + i));
    }
}

// A one-sequence step (batch 1): the K and V rows of each warp's first run of keys but the new one, written by earlier
// steps, requested into L1 before the block waits for the in-projection, so that their memory latency overlaps its tail.
// decode_bench (H200): s8-8 7.98 -> 7.48 us a launch at one row, but slower at 8 rows; s12-5 450M one-row step 397.7 -> 395.2 us.
__device__ __forceinline__ void attention_decode_prefetch(int g, int kvHeads, int hd, int keys, const int* pages, const bf16* kPool,
                                                          const bf16* vPool) {
    const int key = threadIdx.x;  // warp w's first run: keys 32 w .. 32 w + 31
    if (key >= keys - 1) return;
    const long row = (((long)pages[key / PAGE_TOKENS] * kvHeads + g) * PAGE_TOKENS + key % PAGE_TOKENS) * hd;
    for (int d = 0; d < hd; d += 64) {  // 128-byte lines
        asm volatile("prefetch.global.L1 [%0];" ::"l"(kPool + row + d));
        asm volatile("prefetch.global.L1 [%0];" ::"l"(vPool + row + d));
    }
}

#define ATTENTION_DECODE_FROM_QKV 1  // attention_decode takes the in-projection's output: a small-batch step has no qk_norm_rope_store
// An attention layer of a small-batch step after its in-projection: attention_decode_front, then decode attention of
// the new row (segment s, position keys - 1) over the sequence's keys, the new one included. qkv fp32 [segments,
// (heads + 2 kvHeads) hd]. grid (kvHeads, segments), block (group + 2) x 32 .. DEC_WARPS x 32 threads.
extern "C" __global__ void __launch_bounds__(512) attention_decode(const float* __restrict__ qkv, const float* __restrict__ qNormW,
        const float* __restrict__ kNormW, float eps, const float* __restrict__ invFreq, bf16* __restrict__ kPool,
        bf16* __restrict__ vPool, bf16* __restrict__ out, int ldo, int heads, int kvHeads, int hd, float scale,
        const int* __restrict__ segSlot, const int* __restrict__ segKeyCount, const int* __restrict__ pageTable, int maxPages) {
    __shared__ alignas(16) float sq[DEC_GROUP][128];
    __shared__ alignas(16) float sBuf[DEC_WARPS * DEC_BUF];
    __shared__ float sMax[DEC_WARPS][DEC_GROUP], sSum[DEC_WARPS][DEC_GROUP];
    const int g = blockIdx.x, s = blockIdx.y, group = heads / kvHeads;
    // the sequence's key count, slot and pages were uploaded before the step: read before waiting
    const int keys = segKeyCount[s], slot = segSlot[s];
    const int* pages = pageTable + (long)slot * maxPages;
    if (gridDim.y == 1) attention_decode_prefetch(g, kvHeads, hd, keys, pages, kPool, vPool);
    pdl_wait();
    pdl_launch_dependents();
    attention_decode_front(qkv + (long)s * (heads + 2 * kvHeads) * hd, g, keys - 1, slot, heads, kvHeads, hd, qNormW, kNormW, eps,
                           invFreq, kPool, vPool, pageTable, maxPages, sq);
    __syncthreads();  // q is staged, the new K and V rows are in their page
    if (hd <= 64)
        attention_decode_heads<64>(g, s, kPool, vPool, out, ldo, kvHeads, hd, group, scale, keys, pages, sq, sBuf, sMax, sSum);
    else
        attention_decode_heads<128>(g, s, kPool, vPool, out, ldo, kvHeads, hd, group, scale, keys, pages, sq, sBuf, sMax, sSum);
}
