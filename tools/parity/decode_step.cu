// decode_bench's experiment (third session, docs/PERF_NOTES.md v8): the whole decode step of a few sequences as one
// persistent kernel. Not part of the runtime: it measured at par with the per-kernel path (450M one row: ~700 us per
// step against 597; 1.6B: 1,399 against 1,327, H100) and its trace shows why: every phase is bound by latency and
// instruction issue (16 warps per SM, team barriers per column group, the attention phase on 8 SMs), not by HBM. It
// stays here with its trace (STEP_TRACE) as the starting point of the next attempt. Compiled after kernels.cu and
// decode.cu, whose device functions it runs (so its logits are bit-equal to the per-kernel path's).
//
// The decode step of a few sequences as one kernel (decode_step_rN): every layer, the final norm and lm_head.
// At a few rows a step is ~80 small matrix-vector products; launched one by one each pays its ramp-up and drain
// (decode_bench: 2-20 us kernels at 0.9-1.5 TB/s against ~3 TB/s). Here one block per SM stays resident for the
// whole step, the phases meet at grid barriers, and the weights arrive as one stream: every thread copies its
// chunks of the next STEP_RING(R) rounds into shared memory (cp.async) ahead of their use, through group, phase and
// barrier boundaries, so HBM never idles while the blocks synchronise. Per layer:
//   in-projection (RMSNorm + GEMV) | attention layers: q/k norm, RoPE, K/V store + decode attention per (kv head, row)
//   | out-projection + residual (conv layers: the conv step computed while staging its input) | RMSNorm + gate/up +
//   SiLU-mul (the conv state shifts here, once every block has read it) | down-projection + residual
// then RMSNorm + lm_head. The arithmetic is the per-kernel path's (same device functions, same order), so the logits
// are bit-equal to it (decode_bench checks it). Activations written within the launch are read through L2 (ldcg).
// Launch: cooperatively (all blocks resident), grid = SMs, block STEP_THREADS, dynamic shared memory
// step_stage_bytes(R, ...) + STEP_RING_BYTES(R); *barrier zeroed before each launch.
// ---------------------------------------------------------------------------------------------------------------

#define STEP_TEAMS 4                                 // GEMV teams of GEMV_WARPS warps per block
#define STEP_THREADS (STEP_TEAMS * GEMV_WARPS * 32)  // 512 = DEC_WARPS x 32: the attention phase uses the whole block
#define STEP_RING(R) (((R) >= 8 ? 8 : (R) == 1 ? 16 : 12) / GEMV_COLS(R))  // weight rounds in flight per thread (GEMV_COLS(R) x 16 B each)
#define STEP_ATTENTION_BYTES ((DEC_GROUP * 128 + DEC_WARPS * DEC_BUF + 2 * DEC_WARPS * DEC_GROUP) * 4)
#define STEP_RING_BYTES(R) (STEP_RING(R) * GEMV_COLS(R) * STEP_THREADS * 16)

// Dynamic shared memory of decode_step_rN: the staged input of the widest projection input (or, in the attention
// phase, its scratch), then the weight ring.
__host__ __device__ inline int step_stage_bytes(int r, int H, int ffn, int qWidth) {
    int stage = r * H * 2;
    if (r * ffn * 2 > stage) stage = r * ffn * 2;
    if (r * qWidth * 2 > stage) stage = r * qWidth * 2;
    if (STEP_ATTENTION_BYTES > stage) stage = STEP_ATTENTION_BYTES;
    return (stage + 15) / 16 * 16;
}

// One decoder layer as a decoder would upload it (14 x 8 bytes): weights, and the caches it reads and writes.
struct StepLayer {
    const float* opNorm;
    const bf16* mix;  // in-projection [mixRows, H]: conv B|C|X, or attention q|k|v
    long mixRows;
    const bf16* out;  // out-projection [H, outCols]
    long outCols;
    const float* ffnNorm;
    const bf16* gateUp;  // [2 ffn, H]: w1 rows, then w3 rows
    const bf16* down;    // [H, ffn]
    const float* convTaps;  // conv layers (else null): [H, L]
    float* convState;       //   [slot][L - 1][H]
    const float* qNorm;     // attention layers (else null)
    const float* kNorm;
    bf16* keys;             //   KV pools [page][kvHead][PAGE_TOKENS][hd]
    bf16* values;
};

#ifdef STEP_TRACE  // decode_bench's trace variant: %globaltimer at each block's arrival and at block 0's departure
#define STEP_TRACE_MAX 128
__device__ unsigned long long stepArrive[STEP_TRACE_MAX][256], stepLeave[STEP_TRACE_MAX];
__device__ __forceinline__ unsigned long long global_ns() {
    unsigned long long t;
    asm volatile("mov.u64 %0, %globaltimer;" : "=l"(t));
    return t;
}
#endif

// All blocks of the launch meet; every block's writes before it are visible to every block after it. The k-th
// barrier of a launch waits until the arrival counter reaches k x gridDim.x (the counter starts at 0).
struct GridBarrier {
    unsigned long long* counter;
    unsigned long long target;
    __device__ __forceinline__ void sync() {
        __syncthreads();
        target += gridDim.x;
        if (threadIdx.x == 0) {
#ifdef STEP_TRACE
            const int k = (int)(target / gridDim.x) - 1;
            if (k < STEP_TRACE_MAX && blockIdx.x < 256) stepArrive[k][blockIdx.x] = global_ns();
#endif
            __threadfence();
            atomicAdd(counter, 1ull);
            unsigned long long seen;
            do {
                asm volatile("ld.acquire.gpu.global.u64 %0, [%1];" : "=l"(seen) : "l"(counter) : "memory");
            } while (seen < target);
#ifdef STEP_TRACE
            if (k < STEP_TRACE_MAX && blockIdx.x == 0) stepLeave[k] = global_ns();
#endif
        }
        __syncthreads();
    }
};

// A thread's weight stream through the step: every GEMV phase in order (per layer in-projection, out-projection,
// gate/up, down; then lm_head), per phase its team's column groups (index, index + count, ...), per group the rounds
// (chunks kk = kStart + round x STEP of the group's GEMV_COLS(R) rows; a thread whose kk is past k copies nothing).
// issue() copies the current position into a ring slot as one cp.async group (possibly empty) and moves on.
template <int R>
struct StepStream {
    static constexpr int STEP = GEMV_WARPS * 256;
    const StepLayer* layers;
    const bf16* lmHead;
    int numLayers, H, ffn, vocab;
    int kStart, teamIndex, teamCount;
    int phase, group, round;            // position
    const bf16* w;                      // the phase's weights (null: past the last phase)
    int nOut, k, outs, groups, rounds;  // and shape
    bool silu;

    __device__ __forceinline__ void enterPhase() {  // the first position at or after phase `phase` with work for the team
        for (;; phase++) {
            if (phase > numLayers * 4) {
                w = nullptr;
                return;
            }
            silu = false;
            if (phase == numLayers * 4) {
                w = lmHead, nOut = vocab, k = H;
            } else {
                const StepLayer& L = layers[phase >> 2];
                switch (phase & 3) {
                    case 0: w = L.mix, nOut = (int)L.mixRows, k = H; break;
                    case 1: w = L.out, nOut = H, k = (int)L.outCols; break;
                    case 2: w = L.gateUp, nOut = ffn, k = H, silu = true; break;
                    default: w = L.down, nOut = H, k = ffn; break;
                }
            }
            outs = silu ? GEMV_COLS(R) / 2 : GEMV_COLS(R);
            groups = (nOut + outs - 1) / outs;
            rounds = (k + STEP - 1) / STEP;
            group = teamIndex;
            round = 0;
            if (group < groups) return;
        }
    }

    __device__ __forceinline__ void issue(unsigned char* ring, int slot) {
        if (w) {
            const int kk = kStart + round * STEP;
            if (kk < k)
#pragma unroll
                for (int j = 0; j < GEMV_COLS(R); j++)
                    cp_async16((u32)__cvta_generic_to_shared(ring + ((slot * GEMV_COLS(R) + j) * STEP_THREADS + threadIdx.x) * 16),
                               w + gemv_weight_row(group, j, outs, nOut) * k + kk, 16);
            if (++round == rounds) {
                round = 0;
                group += teamCount;
                if (group >= groups) {
                    phase++;
                    enterPhase();
                }
            }
        }
        cp_async_commit();
    }
};

template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }

__device__ __forceinline__ Vec16 ldcg16(const void* p) {
    Vec16 v;
    asm volatile("ld.global.cg.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    return v;
}

// short_conv_step's value and state shift (the runtime's small-batch step runs them in gemv_rms_conv) from the stored
// in-projection cv.bcx
__device__ __forceinline__ float short_conv_value(const ConvInput& cv, int H, int c, int s) {
    const float* row = cv.bcx + (long)s * 3 * H;
    ConvChannel ch;
    ch.load(cv, H, c, s);
    return ldcg(row + H + c) * ch.sum(cv.L, ldcg(row + c) * ldcg(row + 2 * H + c));
}

__device__ __forceinline__ void short_conv_shift(const ConvInput& cv, int H, int c, int s) {
    const float* row = cv.bcx + (long)s * 3 * H;
    ConvChannel ch;
    ch.load(cv, H, c, s);
    ch.push(cv.L, H, ldcg(row + c) * ldcg(row + 2 * H + c));
}

// The step kernel's staging: every GEMV input goes to shared memory as bf16 [R, k] (RMS: gemv_stage_rms; the
// out-projection of a conv layer: the conv step's output, computed by every block; else a bf16 input copied).
enum StepInput { STEP_IN_RMS, STEP_IN_BF16, STEP_IN_CONV };

template <int R, StepInput IN>
__device__ __forceinline__ void step_stage(const void* in, int rows, const float* __restrict__ normW, float eps, int k, bf16* stage,
                                           float* invRms, const ConvInput& cv) {
    if constexpr (IN == STEP_IN_RMS) {
        gemv_stage_rms<R, true>((const float*)in, rows, normW, eps, k, stage, invRms);
        return;
    } else if constexpr (IN == STEP_IN_CONV) {  // bf16 as short_conv_step stores it
        for (int idx = threadIdx.x; idx < R * k; idx += blockDim.x) {
            const int r = idx / k;
            stage[idx] = r < rows ? f2bf(short_conv_value(cv, k, idx - r * k, r)) : (bf16)0;
        }
    } else {
        for (int idx = threadIdx.x * 8; idx < R * k; idx += blockDim.x * 8) {
            const int r = idx / k;
            Vec16 v = {0u, 0u, 0u, 0u};
            if (r < rows) v = ldcg16((const bf16*)in + idx);
            *(Vec16*)(stage + idx) = v;
        }
    }
    __syncthreads();
}

// A GEMV phase of the step kernel, after its grid barrier: stage the input, then the team's column groups with the
// weights from the ring (the stream's positions in the same order). `slot` is the ring slot of the next round.
template <int R, StepInput IN, GemvOutput OUT>
__device__ __forceinline__ void gemv_streamed(const void* in, int rows, const float* __restrict__ normW, float eps, int nOut, int k,
                                              void* out, int ldo, const GemvTeam& t, bf16* stage, float* invRms,
                                              float (*partial)[GEMV_COLS(R)][R], const ConvInput& cv, StepStream<R>& stream,
                                              unsigned char* ring, int& slot) {
    constexpr int OUTS = OUT == GEMV_OUT_SILU ? GEMV_COLS(R) / 2 : GEMV_COLS(R);
    constexpr int STEP = GEMV_WARPS * 256;
    step_stage<R, IN>(in, rows, normW, eps, k, stage, invRms, cv);
    const int groups = (nOut + OUTS - 1) / OUTS, rounds = (k + STEP - 1) / STEP;
    const int kStart = t.tid * 8;
    for (int group = t.index; group < groups; group += t.count) {
        float acc[GEMV_COLS(R)][R];
#pragma unroll
        for (int j = 0; j < GEMV_COLS(R); j++)
#pragma unroll
            for (int r = 0; r < R; r++) acc[j][r] = 0.f;
        for (int round = 0; round < rounds; round++) {
            const int kk = kStart + round * STEP;
            cp_async_wait<STEP_RING(R) - 1>();  // this round's copies are in
            if (kk < k) {
                Vec16 wv[GEMV_COLS(R)];
#pragma unroll
                for (int j = 0; j < GEMV_COLS(R); j++)
                    wv[j] = *(const Vec16*)(ring + ((slot * GEMV_COLS(R) + j) * STEP_THREADS + threadIdx.x) * 16);
                gemv_round<R, true>(wv, stage, rows, k, kk, acc);
            }
            stream.issue(ring, slot);  // the slot, read, takes the round STEP_RING(R) ahead
            slot = slot + 1 == STEP_RING(R) ? 0 : slot + 1;
        }
        gemv_group_out<R, OUT>(acc, t, partial + ((group - t.index) / t.count & 1) * GEMV_WARPS, group * OUTS, nOut, rows, out, ldo);
    }
}

// The attention phase of one layer: block b takes (kv head g, row s) = (b % kvHeads, b / kvHeads), b += gridDim.x.
// It runs attention_decode's two halves (decode.cu attention_decode_front, then the attention body) for each.
// Not inlined: its registers are allocated apart from the GEMV phases'.
__device__ __noinline__ void step_attention(const StepLayer& L, const float* big, int rows, int heads, int kvHeads, int hd,
        float eps, float scale, const int* __restrict__ rowPos, const int* __restrict__ segSlot, const int* __restrict__ segKeys,
        const int* __restrict__ pageTable, int maxPages, const float* __restrict__ invFreq, bf16* mixed, unsigned char* smem) {
    float (*sq)[128] = (float (*)[128])smem;
    float* sBuf = (float*)smem + DEC_GROUP * 128;
    float (*sMax)[DEC_GROUP] = (float (*)[DEC_GROUP])(sBuf + DEC_WARPS * DEC_BUF);
    float (*sSum)[DEC_GROUP] = sMax + DEC_WARPS;
    const int group = heads / kvHeads, width = (heads + 2 * kvHeads) * hd;
    for (int b = blockIdx.x; b < kvHeads * rows; b += gridDim.x) {
        const int g = b % kvHeads, s = b / kvHeads;
        const int pos = rowPos[s], slot = segSlot[s];
        const float* row = big + (long)s * width;
        attention_decode_front(row, g, pos, slot, heads, kvHeads, hd, L.qNorm, L.kNorm, eps, invFreq, L.keys, L.values, pageTable,
                               maxPages, sq);
        __syncthreads();
        const int keys = segKeys[s];
        const int* pages = pageTable + (long)slot * maxPages;
        if (hd <= 64)
            attention_decode_heads<64>(g, s, L.keys, L.values, mixed, heads * hd, kvHeads, hd, group, scale, keys, pages, sq, sBuf, sMax, sSum);
        else
            attention_decode_heads<128>(g, s, L.keys, L.values, mixed, heads * hd, kvHeads, hd, group, scale, keys, pages, sq, sBuf, sMax, sSum);
    }
}

#define STEP_ARGS const StepLayer* __restrict__ layers, int numLayers, int rows, int H, int heads, int kvHeads, int hd, int ffn, \
    int convL, long convSlotStride, float eps, float scale, float* x, float* big, bf16* mixed, bf16* act, \
    const int* __restrict__ rowPos, const int* __restrict__ segSlot, const int* __restrict__ segKeys, \
    const int* __restrict__ pageTable, int maxPages, const float* __restrict__ invFreq, const float* __restrict__ finalNorm, \
    const bf16* __restrict__ lmHead, int vocab, float* logits, unsigned long long* barrier
#define STEP_PASS layers, numLayers, rows, H, heads, kvHeads, hd, ffn, convL, convSlotStride, eps, scale, x, big, mixed, act, rowPos, \
    segSlot, segKeys, pageTable, maxPages, invFreq, finalNorm, lmHead, vocab, logits, barrier

// rows (<= R) sequences of one new row each; x fp32 [rows, H] holds their embedded tokens, logits fp32 [rows, vocab] get
// the result; big, mixed and act are TextDecoder's workspaces (fp32 [rows, mixRows], bf16 [rows, heads hd], bf16
// [rows, ffn]).
template <int R>
__device__ __forceinline__ void decode_step(STEP_ARGS) {
    extern __shared__ __align__(16) unsigned char stepShared[];
    __shared__ float invRms[R];
    __shared__ float partial[STEP_TEAMS][2 * GEMV_WARPS][GEMV_COLS(R)][R];
    const int team = threadIdx.x >> 7;
    // teams interleaved over the blocks (team j of block b: index j x gridDim.x + b), so that a phase with fewer column
    // groups than teams still spreads over every SM
    const GemvTeam t = {team * (int)gridDim.x + (int)blockIdx.x, (int)gridDim.x * STEP_TEAMS, (int)threadIdx.x & 127, 1 + team};
    bf16* stage = (bf16*)stepShared;
    unsigned char* ring = stepShared + step_stage_bytes(R, H, ffn, heads * hd);
    StepStream<R> stream = {layers, lmHead, numLayers, H, ffn, vocab, t.tid * 8, t.index, t.count, 0, 0, 0};
    stream.enterPhase();
    for (int i = 0; i < STEP_RING(R); i++) stream.issue(ring, i);
    int slot = 0;
    GridBarrier bar = {barrier, 0ull};
    const ConvInput none = {};
    for (int l = 0; l < numLayers; l++) {
        const StepLayer& L = layers[l];
        const bool attention = L.keys != nullptr;
        const ConvInput cv = {big, L.convTaps, convL, L.convState, convSlotStride, segSlot};
        if (l > 0) bar.sync();  // layer 0: x is the launch's input
        gemv_streamed<R, STEP_IN_RMS, GEMV_OUT_STORE>(x, rows, L.opNorm, eps, (int)L.mixRows, H, big, (int)L.mixRows, t, stage, invRms,
                                                      partial[team], none, stream, ring, slot);
        bar.sync();
        if (attention) {
            step_attention(L, big, rows, heads, kvHeads, hd, eps, scale, rowPos, segSlot, segKeys, pageTable, maxPages, invFreq, mixed,
                           stepShared);
            bar.sync();
            gemv_streamed<R, STEP_IN_BF16, GEMV_OUT_ADD>(mixed, rows, nullptr, 0.f, H, (int)L.outCols, x, H, t, stage, invRms,
                                                         partial[team], none, stream, ring, slot);
        } else {
            gemv_streamed<R, STEP_IN_CONV, GEMV_OUT_ADD>(nullptr, rows, nullptr, 0.f, H, H, x, H, t, stage, invRms, partial[team], cv,
                                                         stream, ring, slot);
        }
        bar.sync();
        if (!attention && blockIdx.x == gridDim.x - 1)  // every block has read the conv state
            for (int i = threadIdx.x; i < H * rows; i += blockDim.x) short_conv_shift(cv, H, i % H, i / H);
        gemv_streamed<R, STEP_IN_RMS, GEMV_OUT_SILU>(x, rows, L.ffnNorm, eps, ffn, H, act, ffn, t, stage, invRms, partial[team], none,
                                                     stream, ring, slot);
        bar.sync();
        gemv_streamed<R, STEP_IN_BF16, GEMV_OUT_ADD>(act, rows, nullptr, 0.f, H, ffn, x, H, t, stage, invRms, partial[team], none,
                                                     stream, ring, slot);
    }
    bar.sync();
    gemv_streamed<R, STEP_IN_RMS, GEMV_OUT_STORE>(x, rows, finalNorm, eps, vocab, H, logits, vocab, t, stage, invRms, partial[team],
                                                  none, stream, ring, slot);
    cp_async_wait<0>();
}

extern "C" __global__ void __launch_bounds__(STEP_THREADS, 1) decode_step_r1(STEP_ARGS) { decode_step<1>(STEP_PASS); }
extern "C" __global__ void __launch_bounds__(STEP_THREADS, 1) decode_step_r2(STEP_ARGS) { decode_step<2>(STEP_PASS); }
extern "C" __global__ void __launch_bounds__(STEP_THREADS, 1) decode_step_r4(STEP_ARGS) { decode_step<4>(STEP_PASS); }
extern "C" __global__ void __launch_bounds__(STEP_THREADS, 1) decode_step_r8(STEP_ARGS) { decode_step<8>(STEP_PASS); }
