// Standalone check and timing of the small-batch decode step (decode.cu, launched as io.lfmcap.cuda.TextDecoder
// .smallBatchLayers launches it) without Java; tools/parity/decode_bench.sh builds it. The kernels source is compiled
// into this file as the runtime's NVRTC program is (kernels.cu, then decode.cu); DECODE_KERNELS_SOURCE names another
// concatenation (the baseline from git HEAD, or a variant).
//
// usage: decode_bench [shape: 450m | 1.6b | all = all | batchattn] [graph replays = 200]
//   (batchattn: the checks, then a large-batch decode step's attention kernels timed at 2,048 and 512 sequences)
//   1. checks (exit 1 on a failure): every gemv kind for rows 1..8 against fp32 host dot products of the same bf16
//      inputs (RMS kernels: rms_norm's bf16 rounding of the normalised input), the conv step (gemv_rms_conv, or
//      short_conv_step in older kernels) against the host from gemv_rms's stored in-projection at 1, 2, 5 and 8 rows,
//      attention_decode against attention_simple_paged (fp32, one warp per (row, head); its q, K and V rows from
//      qk_norm_rope_store, whose K/V rows attention_decode's own must equal) over head dims 32/64/72/128,
//      groups 1/2/4/8, key counts 1..4096 and scattered pages; then per shape the whole step: batch invariance (row 0
//      of an 8-row step bit-equal to the 1-row step's), graph replay bit-equal to plain launches, and (when the kernels
//      support programmatic dependent launch, DECODE_PDL) the PDL graph bit-equal to the plain one
//   2. per shape (LFM2-350M text: hidden 1024, 16 q / 8 kv heads x 64, ffn 4608; 1.6B: hidden 2048, 32 / 8 x 64,
//      ffn 8192; vocab 65536, 16 layers of which 6 attention, each layer's weights allocated apart so that a step
//      streams 0.7 / 2.4 GB from HBM) and rows 1, 4, 8 (keys ~300 per sequence):
//      (a) each kernel kind alone: a CUDA graph of back-to-back launches cycling over the layers' weights, us per
//          launch and GB/s of weights (attention: of K and V) - plain, and as programmatic dependents (PDL)
//      (b) the whole step (embed, 16 layers, final norm + lm_head, argmax) in a CUDA graph: us per step, tokens/s;
//          and the same step as one persistent kernel (tools/parity/decode_step.cu, an experiment: not in the runtime),
//          checked bit-equal to the per-kernel step; the trace variant (decode_bench.sh) prints its time per phase;
//          and the step's graph replayed as the engine runs it (events, the pass arrays' upload, the picks' copy back)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <vector>
#include <string>
#include <algorithm>
#include <functional>
#include <cuda_runtime.h>
#include "cuda_check.h"

#ifdef DECODE_KERNELS_SOURCE
#include DECODE_KERNELS_SOURCE
#else
#include "../../runtime/src/main/resources/io/lfmcap/cuda/kernels.cu"
#include "../../runtime/src/main/resources/io/lfmcap/cuda/decode.cu"
#endif
#ifndef KERNELS_BASELINE  // the step kernel experiment runs the working tree's device functions (not the baseline's)
#include "decode_step.cu"
#endif

#ifdef DECODE_PDL
static const bool HAVE_PDL = true;
#else
static const bool HAVE_PDL = false;
#endif
#if defined(ARGMAX_LOADS) && !defined(GEMV_PICK)  // kernels where argmax_rows waits (pdl_wait): TextDecoder launches it as a dependent
static const bool SMALL_PDL = true;
#else
static const bool SMALL_PDL = false;
#endif
static const int ATTN_THREADS = DEC_WARPS * 32;  // TextDecoder: DECODE_ATTENTION_THREADS
#ifdef ARGMAX_COPY  // kernels whose argmax_rows also writes a host slot (none here)
#define ARGMAX_NO_COPY , (int*)nullptr
#else
#define ARGMAX_NO_COPY
#endif
#ifdef EMBED_COPIES_PASS  // kernels whose embed_rows can copy a step's pass arrays (here none: they are on the device)
#define EMBED_NO_PASS , (const int*)nullptr, (int*)nullptr, 0
#else
#define EMBED_NO_PASS
#endif
#ifdef ATTENTION_DECODE_FROM_QKV  // kernels where attention_decode does qk_norm_rope_store's work
#define FUSED_ATTENTION 1
#endif


static cudaStream_t stream;

// How a kernel is launched: plainly, as a programmatic dependent of the previous kernel (only kernels that
// griddepcontrol.wait), or cooperatively (all blocks resident: the step kernel's grid barriers).
enum LaunchKind { PLAIN = 0, PDL = 1, COOPERATIVE = 2 };

// A launch on `stream`; kind: a LaunchKind, or a bool (true: PDL).
template <typename... P, typename... A>
static void launch(void (*k)(P...), dim3 grid, int block, int shared, int kind, A... args) {
    cudaLaunchConfig_t c = {};
    c.gridDim = grid;
    c.blockDim = dim3(block);
    c.dynamicSmemBytes = shared;
    c.stream = stream;
    cudaLaunchAttribute at[1];
    if (kind == COOPERATIVE) {
        at[0].id = cudaLaunchAttributeCooperative;
        at[0].val.cooperative = 1;
    } else {
        at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
        at[0].val.programmaticStreamSerializationAllowed = 1;
    }
    c.attrs = at;
    c.numAttrs = kind == PLAIN ? 0 : 1;
    CK(cudaLaunchKernelEx(&c, k, ((P)args)...));
}

// ------------------------------------------------------------------------------------------- data

__global__ void fill_bf16(bf16* p, long n, unsigned seed, float scale) {  // uniform in [-scale, scale)
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        unsigned h = (unsigned)i * 0x9E3779B1u ^ (unsigned)(i >> 32) * 0x85EBCA77u ^ seed * 0xC2B2AE3Du;
        h ^= h >> 15; h *= 0x2C1B3C6Du; h ^= h >> 12; h *= 0x297A2D39u; h ^= h >> 15;
        p[i] = f2bf(((h >> 8) * (1.0f / 8388608.0f) - 1.0f) * scale);
    }
}
__global__ void fill_f32(float* p, long n, unsigned seed, float center, float scale) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        unsigned h = (unsigned)i * 0x9E3779B1u ^ seed * 0xC2B2AE3Du;
        h ^= h >> 15; h *= 0x2C1B3C6Du; h ^= h >> 12; h *= 0x297A2D39u; h ^= h >> 15;
        p[i] = center + ((h >> 8) * (1.0f / 8388608.0f) - 1.0f) * scale;
    }
}

static unsigned seedCounter = 1;
static bf16* randBf16(long n, float scale) {
    bf16* d;
    CK(cudaMalloc(&d, n * 2));
    fill_bf16<<<1024, 256>>>(d, n, seedCounter++, scale);
    CK(cudaGetLastError());
    return d;
}
static float* randF32(long n, float center, float scale) {
    float* d;
    CK(cudaMalloc(&d, n * 4));
    fill_f32<<<1024, 256>>>(d, n, seedCounter++, center, scale);
    CK(cudaGetLastError());
    return d;
}
template <typename T> static T* zeros(long n) {
    T* d;
    CK(cudaMalloc(&d, std::max<long>(1, n) * sizeof(T)));
    CK(cudaMemset(d, 0, std::max<long>(1, n) * sizeof(T)));
    return d;
}
static int* ints(const std::vector<int>& v) {
    int* d = zeros<int>((long)v.size());
    CK(cudaMemcpy(d, v.data(), v.size() * 4, cudaMemcpyHostToDevice));
    return d;
}
template <typename T> static std::vector<T> host(const T* d, long n) {
    std::vector<T> h(n);
    CK(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
}
static float hb(bf16 h) { unsigned u = (unsigned)h << 16; float f; memcpy(&f, &u, 4); return f; }
static bf16 hf2bf(float f) { unsigned u; memcpy(&u, &f, 4); u += 0x7fffu + ((u >> 16) & 1u); return (bf16)(u >> 16); }

// ------------------------------------------------------------------------------------------- launchers (TextDecoder's grids)

typedef void (*GemvKernel)(GEMV_ARGS);
static int rowsPerBlock(int rows) { return rows <= 1 ? 1 : rows <= 2 ? 2 : rows <= 4 ? 4 : 8; }
static GemvKernel gemvKernel(const char* kind, int r) {
    if (!strcmp(kind, "rms")) return r == 1 ? gemv_rms_r1 : r == 2 ? gemv_rms_r2 : r == 4 ? gemv_rms_r4 : gemv_rms_r8;
    if (!strcmp(kind, "silu")) return r == 1 ? gemv_rms_silu_r1 : r == 2 ? gemv_rms_silu_r2 : r == 4 ? gemv_rms_silu_r4 : gemv_rms_silu_r8;
    return r == 1 ? gemv_add_r1 : r == 2 ? gemv_add_r2 : r == 4 ? gemv_add_r4 : gemv_add_r8;
}
static int gemvCols(int r) { return GEMV_COLS(r); }  // TextDecoder.gemvOutputsPerBlock

// TextDecoder.gemvRmsBlocks: an RMS kernel's blocks for `groups` column groups: no more than are resident at once
// (kernels whose weight ring runs across groups), at one row as many groups for every block; else a block per group up
// to 4096 / rows per block.
template <typename K>
static long gemvRmsGrid(K k, int r, int shared, long groups) {
#if defined(GEMV_RMS_ACROSS_GROUPS) && GEMV_RMS_ACROSS_GROUPS
    static int sms = 0;
    if (!sms) CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    int perSm = 0;
    CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, k, 128, shared));
    // RMS_PER_SM (environment): fewer blocks per SM than fit, leaving room for the next kernel's blocks to start early
    static const int capPerSm = getenv("RMS_PER_SM") ? atoi(getenv("RMS_PER_SM")) : 0;
    if (capPerSm > 0) perSm = std::min(perSm, capPerSm);
    const long resident = (long)sms * std::max(1, perSm);
    if (groups <= resident) return groups;
    if (r > 1) return resident;
    const long each = (groups + resident - 1) / resident;
    return (groups + each - 1) / each;
#else
    return std::min<long>(4096 / r, groups);  // TextDecoder's GEMV_STAGED_ROWS before
#endif
}
// TextDecoder.gemvNormed: out = RMSNorm(x) W^T (silu: silu(g) u, nOut = half W's rows); W [nOut (x2), k]
static void gemvNormed(bool silu, const float* x, const float* norm, const bf16* w, int nOut, int k, void* out, int rows, bool pdl) {
    const int r = rowsPerBlock(rows), cols = gemvCols(r), per = silu ? cols / 2 : cols;
    const long blocks = gemvRmsGrid(gemvKernel(silu ? "silu" : "rms", r), r, 2 * r * k, (nOut + per - 1) / per);
    launch(gemvKernel(silu ? "silu" : "rms", r), dim3((unsigned)blocks), 128, 2 * r * k, pdl, (const void*)x, rows, norm, 1e-5f, w,
           nOut, k, out, nOut);
}
#ifdef GEMV_PICK  // kernels where lm_head makes the greedy picks (gemv_rms_pick_rN)
typedef void (*GemvPickKernel)(GEMV_PICK_ARGS);
static GemvPickKernel gemvPickKernel(int r) { return r == 1 ? gemv_rms_pick_r1 : r == 2 ? gemv_rms_pick_r2 : r == 4 ? gemv_rms_pick_r4 : gemv_rms_pick_r8; }
// TextDecoder.lmHeadPicks: logits [rows, V] = RMSNorm(x) W^T and the greedy picks; partial, done: the blocks' scratch
static void gemvPick(const float* x, const float* norm, const bf16* w, int V, int k, float* logits, int rows, bool pdl, const int* banned,
                     int* picks, float* partial, unsigned* done) {
    const int r = rowsPerBlock(rows);
    const long blocks = std::min(1024L, gemvRmsGrid(gemvPickKernel(r), r, 2 * r * k, (V + gemvCols(r) - 1) / gemvCols(r)));
    launch(gemvPickKernel(r), dim3((unsigned)blocks), 128, 2 * r * k, pdl, (const void*)x, rows, norm, 1e-5f, w, V, k, (void*)logits, V,
           banned, picks, (int*)nullptr, partial, done);
}
#endif
#ifdef GEMV_CONV_STEP  // kernels where a conv layer's in-projection runs its conv step (gemv_rms_conv_rN)
typedef void (*GemvConvKernel)(GEMV_ARGS, const float*, int, float*, long, const int*);
static GemvConvKernel gemvConvKernel(int r) { return r == 1 ? gemv_rms_conv_r1 : r == 2 ? gemv_rms_conv_r2 : r == 4 ? gemv_rms_conv_r4 : gemv_rms_conv_r8; }
// TextDecoder.gemvConv: y [rows, H] = C * conv(B * X), [B | C | X] = RMSNorm(x) W^T, W [3H, k]; state [slot][L - 1][H]
static void gemvConv(const float* x, const float* norm, const bf16* w, int H, int k, bf16* y, int rows, bool pdl, const float* taps,
                     int L, float* state, const int* segSlot) {
    const int r = rowsPerBlock(rows), per = GEMV_CONV_COLS(r) / 3;
    const GemvConvKernel kernel = gemvConvKernel(r);
    const long blocks = gemvRmsGrid(kernel, r, 2 * r * k, (H + per - 1) / per);
    launch(kernel, dim3((unsigned)blocks), 128, 2 * r * k, pdl, (const void*)x, rows, norm, 1e-5f, w, H, k, (void*)y, H, taps, L, state,
           (long)(L - 1) * H, segSlot);
}
#endif
#ifdef GEMV_ADD_NARROW_COLS
// TextDecoder.gemvAddNarrow: one row, the narrow kernel's groups in one wave of it, rows longer than two rounds of the team
static bool gemvAddNarrow(int rows, int nOut, int k) {
    static int sms = 0, perSm = 0;
    if (!sms) {
        CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
        CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, gemv_add_narrow_r1, 128, 0));
    }
    return rows == 1 && (nOut + GEMV_ADD_NARROW_COLS - 1) / GEMV_ADD_NARROW_COLS <= (long)sms * perSm && k > 2 * GEMV_WARPS * 256;
}
#endif
// TextDecoder.gemvAdd: out[rows, ldo] += in W^T, W [nOut, k]
static void gemvAdd(const bf16* in, const bf16* w, int nOut, int k, float* out, int ldo, int rows, bool pdl) {
    const int r = rowsPerBlock(rows);
#ifdef GEMV_ADD_NARROW_COLS
    if (gemvAddNarrow(rows, nOut, k)) {
        launch(gemv_add_narrow_r1, dim3((unsigned)((nOut + GEMV_ADD_NARROW_COLS - 1) / GEMV_ADD_NARROW_COLS)), 128, 0, pdl, (const void*)in,
               rows, (const float*)nullptr, 0.f, w, nOut, k, (void*)out, ldo);
        return;
    }
#endif
    launch(gemvKernel("add", r), dim3((unsigned)((nOut + gemvCols(r) - 1) / gemvCols(r))), 128, 0, pdl, (const void*)in, rows,
           (const float*)nullptr, 0.f, w, nOut, k, (void*)out, ldo);
}

#ifdef STEP_THREADS  // the step kernel (not in kernels older than it)
typedef void (*StepKernel)(STEP_ARGS);
static StepKernel stepKernelOf(int r) { return r == 1 ? decode_step_r1 : r == 2 ? decode_step_r2 : r == 4 ? decode_step_r4 : decode_step_r8; }
// TextDecoder: one block per SM, all resident (a cooperative launch checks it)
static int stepGrid(StepKernel k, int shared) {
    static int sms = 0;
    if (!sms) CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    CK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, shared));
    int perSm = 0;
    CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, k, STEP_THREADS, shared));
    if (perSm < 1) { fprintf(stderr, "decode step kernel does not fit an SM (%d bytes of shared memory)\n", shared); exit(1); }
    return sms;
}
#endif

// ------------------------------------------------------------------------------------------- model shapes

struct Shape {
    const char* name;
    int H, heads, kvHeads, hd, ffn, vocab, layers;
    bool attention(int l) const { return l == 2 || l == 5 || l == 8 || l == 10 || l == 12 || l == 14; }  // LFM2 full_attn_idxs
};

// qk_norm_rope_store's launch: a warp per head, QK_HEADS_PER_BLOCK heads per block (kernels before it: one per block)
#ifdef QK_HEADS_PER_BLOCK
static const int QK_BLOCK = 32 * QK_HEADS_PER_BLOCK;
#else
static const int QK_BLOCK = 32;
#endif
[[maybe_unused]] static dim3 qkGrid(int rows, const Shape& s) { return dim3(rows, (s.heads + 2 * s.kvHeads + QK_BLOCK / 32 - 1) / (QK_BLOCK / 32)); }
static const int CONV_L = 3, MAX_SEQ = 8;
#ifdef STEP_THREADS  // the step kernel (not in kernels older than it)
// TextDecoder: decode_step_rN's dynamic shared memory
static int stepSharedBytes(int r, const Shape& s) { return step_stage_bytes(r, s.H, s.ffn, s.heads * s.hd) + STEP_RING_BYTES(r); }
#endif

struct Layer { bf16 *mix, *out, *gateUp, *down; float *opNorm, *ffnNorm, *taps, *qNorm, *kNorm, *convState; bf16 *kPool, *vPool; int mixRows; };

struct Model {
    Shape sh;
    std::vector<Layer> L;
    bf16* lmHead;
    float *finalNorm, *invFreq;
    // step buffers
    float *x, *big, *logits;
    bf16 *q, *mixed, *act;
    int *tokens, *gather, *banned, *rowPos, *rowSlot, *segSlot, *segKeys, *pageTable;
    int maxPages, pages;
    long weightBytes = 0;
    float* pickPartial;  // gemv_rms_pick_rN's scratch
    unsigned* pickDone;
#ifdef STEP_THREADS  // the step kernel (not in kernels older than it)
    StepLayer* stepLayers;         // TextDecoder's step table for decode_step_rN
    unsigned long long* barrier;   // its grid barrier counter
#endif

    explicit Model(const Shape& s) : sh(s) {
        seedCounter = 1000;  // the same weights whatever the checks before drew (the logits checksum compares builds)
        const int H = s.H, qW = s.heads * s.hd;
        maxPages = 8;  // keys <= 512 per sequence in the step
        pages = MAX_SEQ * maxPages + 5;
        std::vector<int> pt;
        for (int i = 0; i < MAX_SEQ * maxPages; i++) pt.push_back((i * 13 + 5) % pages);  // scattered, slot 0 not at page 0
        pageTable = ints(pt);
        const long pool = (long)pages * s.kvHeads * PAGE_TOKENS * s.hd;
        for (int l = 0; l < s.layers; l++) {
            Layer y = {};
            const bool at = s.attention(l);
            y.mixRows = at ? (s.heads + 2 * s.kvHeads) * s.hd : 3 * H;
            const int outK = at ? qW : H;
            y.mix = randBf16((long)y.mixRows * H, 1.7f / sqrtf((float)H));
            y.out = randBf16((long)H * outK, 1.7f / sqrtf((float)outK));
            y.gateUp = randBf16(2L * s.ffn * H, 1.7f / sqrtf((float)H));
            y.down = randBf16((long)H * s.ffn, 1.7f / sqrtf((float)s.ffn));
            weightBytes += 2L * ((long)y.mixRows * H + (long)H * outK + 3L * s.ffn * H);
            y.opNorm = randF32(H, 1.f, 0.2f);
            y.ffnNorm = randF32(H, 1.f, 0.2f);
            if (at) {
                y.qNorm = randF32(s.hd, 1.f, 0.2f);
                y.kNorm = randF32(s.hd, 1.f, 0.2f);
                y.kPool = randBf16(pool, 1.f);
                y.vPool = randBf16(pool, 1.f);
            } else {
                y.taps = randF32((long)H * CONV_L, 0.f, 0.6f);
                y.convState = randF32((long)MAX_SEQ * (CONV_L - 1) * H, 0.f, 1.f);
            }
            L.push_back(y);
        }
        lmHead = randBf16((long)s.vocab * H, 1.7f / sqrtf((float)H));
        weightBytes += 2L * s.vocab * H;
        finalNorm = randF32(H, 1.f, 0.2f);
        std::vector<float> inv(s.hd / 2);
        for (int j = 0; j < s.hd / 2; j++) inv[j] = (float)pow(1000000.0, -2.0 * j / s.hd);
        CK(cudaMalloc(&invFreq, inv.size() * 4));
        CK(cudaMemcpy(invFreq, inv.data(), inv.size() * 4, cudaMemcpyHostToDevice));
        const int bigW = std::max(std::max(3 * H, (s.heads + 2 * s.kvHeads) * s.hd), 2 * s.ffn);
        x = zeros<float>((long)MAX_SEQ * H);
        big = zeros<float>((long)MAX_SEQ * bigW);
        logits = zeros<float>((long)MAX_SEQ * s.vocab);
        q = zeros<bf16>((long)MAX_SEQ * qW);
        mixed = zeros<bf16>((long)MAX_SEQ * std::max(H, qW));
        act = zeros<bf16>((long)MAX_SEQ * s.ffn);
        tokens = zeros<int>(MAX_SEQ);
        pickPartial = zeros<float>(2L * 8 * 1024);
        pickDone = zeros<unsigned>(1);
        std::vector<int> g, b, pos, slot, keys;
        for (int i = 0; i < MAX_SEQ; i++) {
            g.push_back(-(1000 + 7919 * i) % s.vocab - 1);  // token ids
            b.push_back(i % 2 ? 7 : -1);
            pos.push_back(290 + 5 * i);  // the new token's position: keys 291.., the last page partly filled
            slot.push_back(i);
            keys.push_back(291 + 5 * i);
        }
        gather = ints(g); banned = ints(b); rowPos = ints(pos); rowSlot = ints(slot); segSlot = ints(slot); segKeys = ints(keys);
#ifdef STEP_THREADS
        std::vector<StepLayer> table;
        for (const Layer& y : L)
            table.push_back({y.opNorm, y.mix, y.mixRows, y.out, s.attention((int)table.size()) ? qW : H, y.ffnNorm, y.gateUp, y.down,
                             y.taps, y.convState, y.qNorm, y.kNorm, y.kPool, y.vPool});
        CK(cudaMalloc(&stepLayers, table.size() * sizeof(StepLayer)));
        CK(cudaMemcpy(stepLayers, table.data(), table.size() * sizeof(StepLayer), cudaMemcpyHostToDevice));
        barrier = zeros<unsigned long long>(1);
#endif
    }

#ifdef STEP_THREADS
    // TextDecoder.decodeStep's graph body with the step kernel: embed, barrier reset, decode_step_rN, argmax
    void stepKernel(int rows) {
        const Shape& s = sh;
        const int H = s.H;
        launch(embed_rows, dim3(rows), 256, 0, false, gather, (const int*)nullptr, (const int*)nullptr, lmHead, (const float*)nullptr, H, x EMBED_NO_PASS);
        CK(cudaMemsetAsync(barrier, 0, 8, stream));
        const int r = rowsPerBlock(rows);
        const StepKernel k = stepKernelOf(r);
        const int shared = stepSharedBytes(r, s);
        launch(k, dim3(stepGrid(k, shared)), STEP_THREADS, shared, COOPERATIVE, (const StepLayer*)stepLayers, s.layers, rows, H, s.heads,
               s.kvHeads, s.hd, s.ffn, CONV_L, (long)(CONV_L - 1) * H, 1e-5f, 1.0f / sqrtf((float)s.hd), x, big, mixed, act,
               (const int*)rowPos, (const int*)segSlot, (const int*)segKeys, (const int*)pageTable, maxPages, (const float*)invFreq,
               (const float*)finalNorm, (const bf16*)lmHead, s.vocab, logits, barrier);
        launch(argmax_rows, dim3(rows), 1024, 0, false, logits, s.vocab, banned, tokens ARGMAX_NO_COPY);
    }
#endif

    // an attention layer after its in-projection (big): q/k norm, RoPE, K/V store and decode attention into mixed
    void attention(const Layer& y, int rows, bool pdl) {
        const Shape& s = sh;
        const int qW = s.heads * s.hd;
#ifdef FUSED_ATTENTION
        launch(attention_decode, dim3(s.kvHeads, rows), ATTN_THREADS, 0, pdl, (const float*)big, (const float*)y.qNorm,
               (const float*)y.kNorm, 1e-5f, (const float*)invFreq, y.kPool, y.vPool, mixed, qW, s.heads, s.kvHeads, s.hd,
               1.0f / sqrtf((float)s.hd), (const int*)segSlot, (const int*)segKeys, (const int*)pageTable, maxPages);
#else
        launch(qk_norm_rope_store, qkGrid(rows, s), QK_BLOCK, 0, pdl && SMALL_PDL, big, s.heads, s.kvHeads, s.hd, y.qNorm,
               y.kNorm, 1e-5f, rowPos, rowSlot, pageTable, maxPages, invFreq, q, y.kPool, y.vPool);
        launch(attention_decode, dim3(s.kvHeads, rows), ATTN_THREADS, 0, pdl, q, qW, y.kPool, y.vPool, mixed, qW, s.heads,
               s.kvHeads, s.hd, 1.0f / sqrtf((float)s.hd), segSlot, segKeys, pageTable, maxPages);
#endif
    }

    // TextDecoder.decodeStep's graph body with smallBatchLayers: embed, layers, final norm + lm_head, argmax
    void step(int rows, bool pdl) {
        const Shape& s = sh;
        const int H = s.H, qW = s.heads * s.hd;
        launch(embed_rows, dim3(rows), 256, 0, false, gather, (const int*)nullptr, (const int*)nullptr, lmHead, (const float*)nullptr, H, x EMBED_NO_PASS);
        for (int l = 0; l < s.layers; l++) {
            const Layer& y = L[l];
#ifdef GEMV_CONV_STEP
            if (s.attention(l)) gemvNormed(false, x, y.opNorm, y.mix, y.mixRows, H, big, rows, pdl);
#else
            gemvNormed(false, x, y.opNorm, y.mix, y.mixRows, H, big, rows, pdl);
#endif
            if (s.attention(l)) {
                attention(y, rows, pdl);
                gemvAdd(mixed, y.out, H, qW, x, H, rows, pdl);
            } else {
#ifdef GEMV_CONV_STEP
                gemvConv(x, y.opNorm, y.mix, H, H, mixed, rows, pdl, y.taps, CONV_L, y.convState, segSlot);
#else
                launch(short_conv_step, dim3((H + 255) / 256, rows), 256, 0, pdl, big, H, y.taps, CONV_L, y.convState,
                       (long)(CONV_L - 1) * H, segSlot, mixed);
#endif
                gemvAdd(mixed, y.out, H, H, x, H, rows, pdl);
            }
            gemvNormed(true, x, y.ffnNorm, y.gateUp, s.ffn, H, act, rows, pdl);
            gemvAdd(act, y.down, H, s.ffn, x, H, rows, pdl);
        }
#ifdef GEMV_PICK
        gemvPick(x, finalNorm, lmHead, s.vocab, H, logits, rows, pdl, banned, tokens, pickPartial, pickDone);
#else
        gemvNormed(false, x, finalNorm, lmHead, s.vocab, H, logits, rows, pdl);
        launch(argmax_rows, dim3(rows), 1024, 0, pdl && SMALL_PDL, logits, s.vocab, banned, tokens ARGMAX_NO_COPY);
#endif
    }

    std::vector<std::vector<float>> saveConv() {
        std::vector<std::vector<float>> v;
        for (auto& y : L) if (y.convState) v.push_back(host(y.convState, (long)MAX_SEQ * (CONV_L - 1) * sh.H));
        return v;
    }
    void restoreConv(const std::vector<std::vector<float>>& v) {
        size_t i = 0;
        for (auto& y : L)
            if (y.convState) { CK(cudaMemcpy(y.convState, v[i].data(), v[i].size() * 4, cudaMemcpyHostToDevice)); i++; }
    }
};

static cudaGraphExec_t capture(const std::function<void()>& body) {
    cudaGraph_t g;
    CK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
    body();
    CK(cudaStreamEndCapture(stream, &g));
    cudaGraphExec_t e;
    CK(cudaGraphInstantiate(&e, g, 0));
    CK(cudaGraphDestroy(g));
    return e;
}

static double timeGraph(cudaGraphExec_t e, int replays) {
    for (int i = 0; i < 3; i++) CK(cudaGraphLaunch(e, stream));
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    CK(cudaEventRecord(a, stream));
    for (int i = 0; i < replays; i++) CK(cudaGraphLaunch(e, stream));
    CK(cudaEventRecord(b, stream));
    CK(cudaEventSynchronize(b));
    float ms;
    CK(cudaEventElapsedTime(&ms, a, b));
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return ms * 1000.0 / replays;
}

// The pass arrays read by the graph's first kernel from mapped pinned host memory (instead of a copy before the graph).
__global__ void fetch_pass(const int* __restrict__ src, int* __restrict__ dst, int n) {
    for (int i = threadIdx.x; i < n; i += blockDim.x) dst[i] = src[i];
}

// How the host drives a step's graph on the stream (CudaBackend.launchDecode), one step ahead of the host, which waits
// for launch i - 1's last event after enqueueing launch i. Per launch: PhaseClock's start event (clockStart), the pass
// arrays' upload (PassUpload.send: pinned host -> device), the graph (stepsPerLaunch decode steps), the picks' copy back
// (copyBack: LaunchedSteps before argmax wrote them itself), then `marks` events at the same point (PhaseClock's stop,
// LaunchedSteps' fence, PassUpload's release). us per decode step.
struct StreamShape { const char* name; bool clockStart, upload, copyBack; int marks; };

static double timeStream(cudaGraphExec_t e, int stepsPerLaunch, int rows, int replays, const StreamShape& sh) {
    const int passInts = 12 * rows + 16;  // TextDecoder.decodeStep's pass arrays at one row per sequence, and alignment
    int *hostPass, *hostPicks, *devPass, *devPicks;
    CK(cudaMallocHost(&hostPass, passInts * 4));
    CK(cudaMallocHost(&hostPicks, 2 * 8 * 4));
    CK(cudaMalloc(&devPass, passInts * 4));
    CK(cudaMalloc(&devPicks, 8 * 4));
    cudaEvent_t begin[2], mark[2][3], a, b;
    for (int i = 0; i < 2; i++) {
        CK(cudaEventCreate(&begin[i]));
        CK(cudaEventCreate(&mark[i][0]));
        for (int j = 1; j < 3; j++) CK(cudaEventCreateWithFlags(&mark[i][j], cudaEventDisableTiming));
    }
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    auto step = [&](int i) {
        if (sh.clockStart) CK(cudaEventRecord(begin[i % 2], stream));
        if (sh.upload) CK(cudaMemcpyAsync(devPass, hostPass, passInts * 4, cudaMemcpyHostToDevice, stream));
        CK(cudaGraphLaunch(e, stream));
        if (sh.copyBack) CK(cudaMemcpyAsync(hostPicks + 8 * (i % 2), devPicks, rows * 4, cudaMemcpyDeviceToHost, stream));
        for (int j = 0; j < sh.marks; j++) CK(cudaEventRecord(mark[i % 2][j], stream));
    };
    const int launches = std::max(2, replays / stepsPerLaunch);
    for (int i = 0; i < 3; i++) step(i);
    CK(cudaStreamSynchronize(stream));
    CK(cudaEventRecord(a, stream));
    for (int i = 0; i < launches; i++) {
        step(i);
        if (i > 0) CK(cudaEventSynchronize(mark[(i - 1) % 2][0]));
    }
    CK(cudaEventRecord(b, stream));
    CK(cudaEventSynchronize(b));
    float ms;
    CK(cudaEventElapsedTime(&ms, a, b));
    for (int i = 0; i < 2; i++) {
        cudaEventDestroy(begin[i]);
        for (int j = 0; j < 3; j++) cudaEventDestroy(mark[i][j]);
    }
    cudaEventDestroy(a); cudaEventDestroy(b);
    cudaFreeHost(hostPass); cudaFreeHost(hostPicks); cudaFree(devPass); cudaFree(devPicks);
    return ms * 1000.0 / ((double)launches * stepsPerLaunch);
}

// The step's graph under the stream shapes the engine has had and could have: one and two steps a graph, the pass arrays
// uploaded before the graph or fetched by its first kernel from mapped host memory.
static void timeStreamShapes(Model& m, int rows, int replays, bool pdl) {
    const int passInts = 12 * rows + 16;
    int *hostPass, *devPass, *hostPassOnDevice;
    CK(cudaHostAlloc(&hostPass, passInts * 4, cudaHostAllocMapped));
    CK(cudaHostGetDevicePointer((void**)&hostPassOnDevice, hostPass, 0));
    CK(cudaMalloc(&devPass, passInts * 4));
    auto graphOf = [&](int steps, bool fetch) {
        return capture([&] {
            for (int i = 0; i < steps; i++) {
                if (fetch) launch(fetch_pass, dim3(1), 128, 0, false, (const int*)hostPassOnDevice, devPass, passInts);
                m.step(rows, pdl);
            }
        });
    };
    const StreamShape s11 = {"s11 engine: start, upload, graph, copy back, 3 marks", true, true, true, 3},
                      now = {"s12 engine: start, upload, graph, 3 marks", true, true, false, 3},
                      oneMark = {"upload, graph, 1 mark", false, true, false, 1},
                      bare = {"graph, 1 mark", false, false, false, 1};
    struct Case { int steps; bool fetch; const StreamShape& shape; };
    const Case cases[] = {{1, false, s11}, {1, false, now}, {1, false, oneMark}, {1, false, bare}, {1, true, bare},
                          {2, false, oneMark}, {2, false, bare}, {2, true, bare}};
    printf("  stream shapes, rows %d, %s (us per step):\n", rows, pdl ? "PDL" : "plain");
    for (const Case& c : cases) {
        cudaGraphExec_t e = graphOf(c.steps, c.fetch);
        printf("    %d step(s) a graph%-22s %-52s %8.1f\n", c.steps, c.fetch ? ", arrays fetched in it" : "", c.shape.name,
               timeStream(e, c.steps, rows, replays, c.shape));
        CK(cudaGraphExecDestroy(e));
    }
    cudaFreeHost(hostPass); cudaFree(devPass);
}

// ------------------------------------------------------------------------------------------- checks

static int failures = 0;
static void verdict(const char* what, double err, double ref, double tol, bool finite = true) {
    const bool ok = finite && err <= tol * std::max(ref, 1e-30);
    if (!ok) failures++;
    printf("  %-72s max|err| %.3e (max|ref| %.3g, %.1e of it)  %s\n", what, err, ref, err / std::max(ref, 1e-30),
           ok ? "ok" : finite ? "FAIL" : "FAIL (non-finite)");
}

static void checkGemv() {
    struct Case { const char* kind; int nOut, k; };
    const Case cases[] = {{"rms", 1000, 1024}, {"rms", 3072, 2048}, {"silu", 998, 1024}, {"add", 1024, 4608}, {"add", 1000, 1024},
                          // more column groups than resident blocks (RMS kernels: blocks walk several groups)
                          {"silu", 4600, 1024}, {"rms", 8200, 1024}, {"add", 4100, 4608}};
    for (const Case& c : cases) {
        const bool silu = !strcmp(c.kind, "silu"), add = !strcmp(c.kind, "add");
        const int wRows = silu ? 2 * c.nOut : c.nOut;
        bf16* w = randBf16((long)wRows * c.k, 0.05f);
        float* norm = randF32(c.k, 1.f, 0.3f);
        float* xf = randF32(8L * c.k, 0.2f, 2.f);
        bf16* xb = randBf16(8L * c.k, 1.f);
        std::vector<bf16> hw = host(w, (long)wRows * c.k), hxb = host(xb, 8L * c.k);
        std::vector<float> hn = host(norm, c.k), hxf = host(xf, 8L * c.k);
        double worst = 0, ref = 0;
        bool finite = true;
        for (int rows = 1; rows <= 8; rows++) {
            float* out = zeros<float>(8L * c.nOut);
            std::vector<float> base(8L * c.nOut);
            for (size_t i = 0; i < base.size(); i++) base[i] = (float)((i * 37) % 11) - 5.f;  // add: out += ...
            CK(cudaMemcpy(out, base.data(), base.size() * 4, cudaMemcpyHostToDevice));
            if (add) gemvAdd(xb, w, c.nOut, c.k, out, c.nOut, rows, false);
            else gemvNormed(silu, xf, norm, w, c.nOut, c.k, out, rows, false);
            CK(cudaStreamSynchronize(stream));
            CK(cudaGetLastError());
            std::vector<float> got(8L * c.nOut);
            if (silu) {
                std::vector<bf16> g = host((bf16*)out, 8L * c.nOut);
                for (size_t i = 0; i < g.size(); i++) got[i] = hb(g[i]);
            } else {
                got = host(out, 8L * c.nOut);
            }
            for (int r = 0; r < rows; r++) {
                std::vector<float> in(c.k);
                if (add) {
                    for (int i = 0; i < c.k; i++) in[i] = hb(hxb[(long)r * c.k + i]);
                } else {  // rms_norm: fp32 statistics, bf16(w * (x * inv))
                    double ss = 0;
                    for (int i = 0; i < c.k; i++) ss += (double)hxf[(long)r * c.k + i] * hxf[(long)r * c.k + i];
                    const float inv = 1.0f / sqrtf((float)(ss / c.k) + 1e-5f);
                    for (int i = 0; i < c.k; i++) in[i] = hb(hf2bf(hn[i] * (hxf[(long)r * c.k + i] * inv)));
                }
                for (int o = 0; o < c.nOut; o++) {
                    double y = 0, u = 0;
                    for (int i = 0; i < c.k; i++) y += (double)hb(hw[(long)o * c.k + i]) * in[i];
                    if (silu) for (int i = 0; i < c.k; i++) u += (double)hb(hw[(long)(c.nOut + o) * c.k + i]) * in[i];
                    const double want = silu ? y / (1 + exp(-y)) * u : add ? base[(long)r * c.nOut + o] + y : y;
                    const double g = got[(long)r * c.nOut + o];
                    if (!std::isfinite(g)) finite = false;
                    worst = std::max(worst, fabs(g - want));
                    ref = std::max(ref, fabs(want));
                }
            }
            cudaFree(out);
        }
        char what[160];
        snprintf(what, sizeof what, "gemv %s %d x %d, rows 1..8", c.kind, c.nOut, c.k);
        verdict(what, worst, ref, silu ? 1e-2 : add ? 1e-4 : 2e-3, finite);  // rms: a bf16 input may round the other way
        cudaFree(w); cudaFree(norm); cudaFree(xf); cudaFree(xb);
    }
}

// The conv step of a decode step against the host (short_conv's arithmetic) from the in-projection's stored output bcx:
// short_conv_step after gemv_rms (older kernels), or gemv_rms_conv (in-projection and conv step in one launch; its bcx
// from gemv_rms, whose products it shares bit for bit).
static void checkConv() {
    const int H = 1000, k = 512;
    float* taps = randF32((long)H * CONV_L, 0.f, 0.6f);
    bf16* w = randBf16(3L * H * k, 0.05f);
    float* norm = randF32(k, 1.f, 0.3f);
    float* x = randF32(8L * k, 0.2f, 2.f);
    const std::vector<int> slots = {3, 0, 7, 1, 5, 2, 6, 4};
    int* dSlots = ints(slots);
    for (int rows : {1, 2, 5, 8}) {
        float* st = randF32(8L * (CONV_L - 1) * H, 0.f, 1.f);
        float* bcx = zeros<float>(8L * 3 * H);
        bf16* y = zeros<bf16>(8L * H);
        CK(cudaDeviceSynchronize());  // the fills ran on the legacy stream, the kernels run on `stream`
        gemvNormed(false, x, norm, w, 3 * H, k, bcx, rows, false);
        CK(cudaStreamSynchronize(stream));
        std::vector<float> hb3 = host(bcx, 8L * 3 * H), ht = host(taps, (long)H * CONV_L), hs = host(st, 8L * (CONV_L - 1) * H);
#ifdef GEMV_CONV_STEP
        gemvConv(x, norm, w, H, k, y, rows, false, taps, CONV_L, st, dSlots);
#else
        launch(short_conv_step, dim3((H + 255) / 256, rows), 256, 0, false, (const float*)bcx, H, (const float*)taps, CONV_L, st,
               (long)(CONV_L - 1) * H, (const int*)dSlots, y);
#endif
        CK(cudaStreamSynchronize(stream));
        CK(cudaGetLastError());
        std::vector<bf16> gy = host(y, 8L * H);
        std::vector<float> gs = host(st, 8L * (CONV_L - 1) * H);
        double err = 0, ref = 0;
        for (int s = 0; s < rows; s++)
            for (int c = 0; c < H; c++) {
                const float* row = &hb3[(long)s * 3 * H];
                const float u = row[c] * row[2 * H + c];
                float* hst = &hs[(long)slots[s] * (CONV_L - 1) * H];
                float acc = 0;
                for (int kk = 0; kk < CONV_L; kk++) {
                    const float uk = kk < CONV_L - 1 ? hst[(long)kk * H + c] : u;
                    acc = kk == 0 ? ht[(long)c * CONV_L + kk] * uk : acc + ht[(long)c * CONV_L + kk] * uk;
                }
                const float want = hb(hf2bf(row[H + c] * acc));
                err = std::max(err, (double)fabs(hb(gy[(long)s * H + c]) - want));
                ref = std::max(ref, (double)fabs(want));
                for (int j = 0; j + 1 < CONV_L - 1; j++) hst[(long)j * H + c] = hst[(long)(j + 1) * H + c];
                hst[(long)(CONV_L - 2) * H + c] = u;
            }
        double stErr = 0;
        for (size_t i = 0; i < gs.size(); i++) stErr = std::max(stErr, (double)fabs(gs[i] - hs[i]));
        char what[160];
        snprintf(what, sizeof what, "conv step H %d, %d sequence(s) (output)", H, rows);
        verdict(what, err, ref, 1e-6);
        snprintf(what, sizeof what, "conv step H %d, %d sequence(s) (conv state after)", H, rows);
        verdict(what, stErr, 1.0, 0.0);
        cudaFree(st); cudaFree(bcx); cudaFree(y);
    }
    cudaFree(taps); cudaFree(w); cudaFree(norm); cudaFree(x); cudaFree(dSlots);
}

static void checkAttention() {
    struct Case { int hd, group, kvHeads; std::vector<int> keys; };
    const Case cases[] = {
        {64, 2, 8, {300}}, {64, 2, 8, {1, 31, 32, 33, 64, 65, 300, 517}}, {64, 4, 8, {300, 1, 4096, 129}},
        {64, 8, 2, {2, 300, 511, 512, 513}}, {64, 1, 4, {7, 300, 1000}}, {128, 2, 4, {1, 33, 300, 4096}},
        {128, 8, 2, {300, 64, 1}}, {72, 4, 2, {300, 5, 97}}, {32, 2, 4, {300, 31, 1}}, {16, 8, 1, {300, 33}}};
    for (const Case& c : cases) {
        const int rows = (int)c.keys.size(), heads = c.group * c.kvHeads, maxKeys = *std::max_element(c.keys.begin(), c.keys.end());
        const int maxPages = (maxKeys + PAGE_TOKENS - 1) / PAGE_TOKENS, pages = rows * maxPages + 3;
        std::vector<int> pt, slot, qRow, one, causal;
        for (int i = 0; i < rows * maxPages; i++) pt.push_back((int)(((long)i * 7 + 3) % pages));
        for (int s = 0; s < rows; s++) { slot.push_back(rows - 1 - s); qRow.push_back(s); one.push_back(1); causal.push_back(c.keys[s] - 1); }
        const long pool = (long)pages * c.kvHeads * PAGE_TOKENS * c.hd;
        bf16 *k = randBf16(pool, 1.f), *v = randBf16(pool, 1.f), *q = randBf16((long)rows * heads * c.hd, 1.5f);
        int *dPt = ints(pt), *dSlot = ints(slot), *dQRow = ints(qRow), *dOne = ints(one), *dCausal = ints(causal), *dKeys = ints(c.keys);
        bf16 *a = zeros<bf16>((long)rows * heads * c.hd), *b = zeros<bf16>((long)rows * heads * c.hd);
        CK(cudaMemset(a, 0xff, (long)rows * heads * c.hd * 2));  // NaN: what the kernel forgets stays NaN
        const int ld = heads * c.hd;
        const float scale = 1.0f / sqrtf((float)c.hd);
#ifdef FUSED_ATTENTION
        // attention_decode from the in-projection's output against qk_norm_rope_store, then the reference attention; the
        // new rows it stores in its own copy of the pools must equal qk_norm_rope_store's
        const int width = (heads + 2 * c.kvHeads) * c.hd;
        float *qkv = randF32((long)rows * width, 0.f, 2.f), *qNorm = randF32(c.hd, 1.f, 0.2f), *kNorm = randF32(c.hd, 1.f, 0.2f);
        std::vector<float> inv(c.hd / 2);
        for (int j = 0; j < c.hd / 2; j++) inv[j] = (float)pow(1000000.0, -2.0 * j / c.hd);
        float* invFreq = randF32(c.hd / 2, 0.f, 0.f);
        CK(cudaMemcpy(invFreq, inv.data(), inv.size() * 4, cudaMemcpyHostToDevice));
        bf16 *k2, *v2;
        CK(cudaMalloc(&k2, pool * 2));
        CK(cudaMalloc(&v2, pool * 2));
        CK(cudaMemcpy(k2, k, pool * 2, cudaMemcpyDeviceToDevice));
        CK(cudaMemcpy(v2, v, pool * 2, cudaMemcpyDeviceToDevice));
        CK(cudaDeviceSynchronize());  // the fills and copies ran on the legacy stream, the kernels run on `stream`
        launch(attention_decode, dim3(c.kvHeads, rows), ATTN_THREADS, 0, false, (const float*)qkv, (const float*)qNorm,
               (const float*)kNorm, 1e-5f, (const float*)invFreq, k2, v2, a, ld, heads, c.kvHeads, c.hd, scale, (const int*)dSlot,
               (const int*)dKeys, (const int*)dPt, maxPages);
        launch(qk_norm_rope_store, dim3(rows, (heads + 2 * c.kvHeads + QK_BLOCK / 32 - 1) / (QK_BLOCK / 32)), QK_BLOCK, 0, false,
               (const float*)qkv, heads, c.kvHeads, c.hd, (const float*)qNorm, (const float*)kNorm, 1e-5f, (const int*)dCausal,
               (const int*)dSlot, (const int*)dPt, maxPages, (const float*)invFreq, q, k, v);
        CK(cudaStreamSynchronize(stream));
        long poolDiff = 0;
        {
            std::vector<bf16> ka = host(k, pool), kb = host(k2, pool), va = host(v, pool), vb = host(v2, pool);
            for (long i = 0; i < pool; i++) poolDiff += (ka[i] != kb[i]) + (va[i] != vb[i]);
        }
        cudaFree(qkv); cudaFree(qNorm); cudaFree(kNorm); cudaFree(invFreq); cudaFree(k2); cudaFree(v2);
#else
        launch(attention_decode, dim3(c.kvHeads, rows), ATTN_THREADS, 0, false, (const bf16*)q, ld, (const bf16*)k, (const bf16*)v, a,
               ld, heads, c.kvHeads, c.hd, scale, (const int*)dSlot, (const int*)dKeys, (const int*)dPt, maxPages);
#endif
        launch(attention_simple_paged, dim3(c.group, c.kvHeads, rows), 32, 0, false, (const bf16*)q, ld, (const bf16*)k, (const bf16*)v,
               0, b, ld, heads, c.kvHeads, scale, (const int*)dQRow, (const int*)dOne, (const int*)dSlot, (const int*)dKeys,
               (const int*)dCausal, (const int*)dPt, maxPages, c.hd);
        CK(cudaStreamSynchronize(stream));
        CK(cudaGetLastError());
        std::vector<bf16> ga = host(a, (long)rows * ld), gb = host(b, (long)rows * ld);
        double err = 0, ref = 0;
        bool finite = true;
        for (size_t i = 0; i < ga.size(); i++) {
            if (!std::isfinite(hb(ga[i]))) finite = false;
            err = std::max(err, (double)fabs(hb(ga[i]) - hb(gb[i])));
            ref = std::max(ref, (double)fabs(hb(gb[i])));
        }
        std::string keys;
        for (int kc : c.keys) keys += (keys.empty() ? "" : "/") + std::to_string(kc);
        char what[200];
        snprintf(what, sizeof what, "attention_decode hd %d, group %d, %d kv heads, keys %s", c.hd, c.group, c.kvHeads, keys.c_str());
        verdict(what, err, ref, 2e-2, finite);
#ifdef FUSED_ATTENTION
        snprintf(what, sizeof what, "attention_decode hd %d, group %d: new K/V rows vs qk_norm_rope_store (values differing)", c.hd, c.group);
        verdict(what, (double)poolDiff, 1.0, 0.0);
#endif
        cudaFree(k); cudaFree(v); cudaFree(q); cudaFree(a); cudaFree(b);
        cudaFree(dPt); cudaFree(dSlot); cudaFree(dQRow); cudaFree(dOne); cudaFree(dCausal); cudaFree(dKeys);
    }
}

// Whole-step checks: batch invariance, graph = plain launches, PDL graph = plain graph (bit for bit).
static void checkStep(Model& m) {
    const auto conv = m.saveConv();
    const long V = m.sh.vocab;
    auto run = [&](int rows, int how) {  // 0 plain launches, 1 graph, 2 PDL graph, 3 step kernel, 4 step kernel graph
        m.restoreConv(conv);
        if (how == 0) m.step(rows, false);
#ifdef STEP_THREADS
        else if (how == 3) m.stepKernel(rows);
#endif
        else {
            cudaGraphExec_t e = capture([&] {
#ifdef STEP_THREADS
                if (how == 4) { m.stepKernel(rows); return; }
#endif
                m.step(rows, how == 2);
            });
            CK(cudaGraphLaunch(e, stream));
            CK(cudaGraphExecDestroy(e));
        }
        CK(cudaStreamSynchronize(stream));
        CK(cudaGetLastError());
        std::vector<float> l = host(m.logits, rows * V);
        std::vector<int> t = host(m.tokens, rows);
        l.insert(l.end(), t.begin(), t.end());  // tokens as floats at the end (small ints)
        return l;
    };
    auto same = [&](const std::vector<float>& a, const std::vector<float>& b, long n) {
        long diff = 0;
        for (long i = 0; i < n; i++) diff += memcmp(&a[i], &b[i], 4) != 0;
        return diff;
    };
    std::vector<float> one = run(1, 0), eight = run(8, 0);
    unsigned long long fnv = 1469598103934665603ull;  // the one-row step's logits and token: equal across builds of equal math
    for (long i = 0; i <= V; i++) {
        unsigned u;
        memcpy(&u, &one[i], 4);
        fnv = (fnv ^ u) * 1099511628211ull;
    }
    printf("  %-72s %016llx\n", "one-row step logits + token, FNV-1a (compare across builds)", fnv);
    bool finite = true;
    for (long i = 0; i < 8 * V; i++) finite &= std::isfinite(eight[i]);
    long d = same(one, eight, V) + (one[V] != eight[8 * V]);
    printf("  %-72s %ld of %ld logits differ, token %d vs %d  %s\n", "step batch invariance: row 0 of 8 rows vs 1 row", d, V, (int)one[V],
           (int)eight[8 * V], d == 0 && finite ? "ok" : "FAIL");
    if (d || !finite) failures++;
    // argmax with its banned id (odd rows ban 7) against the host
    long bad = 0;
    for (int r = 0; r < 8; r++) {
        int best = -1;
        for (long i = 0; i < V; i++)
            if (!(r % 2 && i == 7) && (best < 0 || eight[r * V + i] > eight[r * V + best])) best = (int)i;
        bad += best != (int)eight[8 * V + r];
    }
    printf("  %-72s %ld of 8 rows differ  %s\n", "step argmax (banned id 7 on odd rows) vs host", bad, bad ? "FAIL" : "ok");
    failures += bad != 0;
    for (int rows : {1, 2, 4, 8}) {
        std::vector<float> plain = run(rows, 0), graph = run(rows, 1);
        long dg = same(plain, graph, rows * V + rows);
        printf("  rows %d: graph vs plain launches: %ld values differ  %s\n", rows, dg, dg ? "FAIL" : "ok");
        failures += dg != 0;
        if (HAVE_PDL) {
            long dp = 0;
            for (int rep = 0; rep < 3; rep++) dp += same(plain, run(rows, 2), rows * V + rows);
            printf("  rows %d: PDL graph vs plain launches (3 runs): %ld values differ  %s\n", rows, dp, dp ? "FAIL" : "ok");
            failures += dp != 0;
        }
#ifdef STEP_THREADS  // the step kernel (not in kernels older than it)
        long ds = 0;
        for (int rep = 0; rep < 3; rep++) ds += same(plain, run(rows, 3), rows * V + rows) + same(plain, run(rows, 4), rows * V + rows);
        printf("  rows %d: step kernel, plain and graph, vs plain launches (3 runs each): %ld values differ  %s\n", rows, ds, ds ? "FAIL" : "ok");
        failures += ds != 0;
#endif
    }
    m.restoreConv(conv);
}

// ------------------------------------------------------------------------------------------- timing

static void kernelInfo(const char* name, const void* fn, int threads, int shared) {
    cudaFuncAttributes a;
    CK(cudaFuncGetAttributes(&a, fn));
    int blocks = 0;
    CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, fn, threads, shared));
    printf("  %-18s %3d registers, %5zu B static shared, %3zu B local (spill), %4d threads: %2d blocks per SM\n", name, a.numRegs,
           a.sharedSizeBytes, a.localSizeBytes, threads, blocks);
}

#ifdef STEP_TRACE
// Where one step kernel launch's time goes, from its barrier timestamps: per phase kind, the work (last arrival minus
// block 0's departure from the barrier before), the spread of the arrivals, and the barrier (departure minus last arrival).
static void stepTrace(Model& m, int rows) {
    const Shape& s = m.sh;
    for (int warm = 0; warm < 3; warm++) m.stepKernel(rows);
    CK(cudaStreamSynchronize(stream));
    const int blocks = stepGrid(stepKernelOf(rowsPerBlock(rows)), stepSharedBytes(rowsPerBlock(rows), s));
    static unsigned long long arrive[STEP_TRACE_MAX][256], leave[STEP_TRACE_MAX];
    CK(cudaMemcpyFromSymbol(arrive, stepArrive, sizeof(arrive)));
    CK(cudaMemcpyFromSymbol(leave, stepLeave, sizeof(leave)));
    // barrier k ends phase k + 1 (phase 0: layer 0's in-projection, started at the launch)
    std::vector<std::string> names;
    for (int l = 0; l < s.layers; l++) {
        if (s.attention(l))
            for (const char* p : {"in-proj", "attention", "out-proj", "gate/up", "down"}) names.push_back(std::string("attn ") + p);
        else
            for (const char* p : {"in-proj", "out-proj + conv", "gate/up", "down"}) names.push_back(std::string("conv ") + p);
    }
    struct Acc { double work = 0, spread = 0, bar = 0; int n = 0; };
    std::vector<std::pair<std::string, Acc>> acc;
    const int barriers = (int)names.size();  // the last one (down of the last layer) ends before lm_head
    for (int k = 1; k < barriers && k < STEP_TRACE_MAX; k++) {
        unsigned long long lo = ~0ull, hi = 0;
        for (int b = 0; b < blocks && b < 256; b++) { lo = std::min(lo, arrive[k][b]); hi = std::max(hi, arrive[k][b]); }
        const std::string& name = names[k];  // barrier k closes phase names[k], which began when barrier k - 1 let go
        auto it = std::find_if(acc.begin(), acc.end(), [&](auto& e) { return e.first == name; });
        if (it == acc.end()) { acc.push_back({name, Acc()}); it = acc.end() - 1; }
        it->second.work += (hi - leave[k - 1]) / 1e3;
        it->second.spread += (hi - lo) / 1e3;
        it->second.bar += (leave[k] - hi) / 1e3;
        it->second.n++;
    }
    printf("  step kernel trace, rows %d, %d blocks: us per phase (mean over layers)\n  %-22s %8s %8s %8s %4s\n", rows, blocks, "phase", "work",
           "spread", "barrier", "n");
    double total = 0;
    for (auto& [name, a] : acc) {
        printf("  %-22s %8.2f %8.2f %8.2f %4d\n", name.c_str(), a.work / a.n, a.spread / a.n, a.bar / a.n, a.n);
        total += a.work + a.bar;
    }
    printf("  sum of traced phases and barriers: %.1f us\n", total);
}
#endif

static void timeShape(Model& m, int replays) {
    const Shape& s = m.sh;
    const int H = s.H;
    [[maybe_unused]] const int qW = s.heads * s.hd;  // the unfused attention kinds
    std::vector<int> conv, attn;
    for (int l = 0; l < s.layers; l++) (s.attention(l) ? attn : conv).push_back(l);
    const auto convState = m.saveConv();
    printf("\n%s: hidden %d, %d/%d heads x %d, ffn %d, vocab %d, %d layers (%zu attention); %.3f GB of weights per step\n", s.name, H,
           s.heads, s.kvHeads, s.hd, s.ffn, s.vocab, s.layers, attn.size(), m.weightBytes / 1e9);
    for (int rows : {1, 4, 8}) {
        printf(" rows %d (keys %d..%d per sequence)\n", rows, 291, 291 + 5 * (rows - 1));
        printf("  %-40s %10s %8s %10s %8s\n", "kernel (graph of back-to-back launches)", "us/launch", "GB/s", "PDL us", "GB/s");
        struct Kind { const char* name; std::function<void(int, bool)> one; long bytes; int n; };
        const long kvBytes = 2L * 2 * rows * s.kvHeads * 300 * s.hd;
        std::vector<Kind> kinds = {
            {"embed_rows", [&](int, bool) { launch(embed_rows, dim3(rows), 256, 0, false, m.gather, (const int*)nullptr, (const int*)nullptr, m.lmHead, (const float*)nullptr, H, m.x EMBED_NO_PASS); }, 2L * rows * H, 1},
            {"gemv_rms in-proj conv 3H x H", [&](int i, bool p) { const Layer& y = m.L[conv[i % conv.size()]]; gemvNormed(false, m.x, y.opNorm, y.mix, y.mixRows, H, m.big, rows, p); }, 2L * 3 * H * H, (int)conv.size()},
            {"gemv_rms in-proj attention qkv", [&](int i, bool p) { const Layer& y = m.L[attn[i % attn.size()]]; gemvNormed(false, m.x, y.opNorm, y.mix, y.mixRows, H, m.big, rows, p); }, 2L * (s.heads + 2 * s.kvHeads) * s.hd * H, (int)attn.size()},
#ifdef GEMV_CONV_STEP
            {"gemv_rms_conv in-proj 3H x H + conv", [&](int i, bool p) { const Layer& y = m.L[conv[i % conv.size()]]; gemvConv(m.x, y.opNorm, y.mix, H, H, m.mixed, rows, p, y.taps, CONV_L, y.convState, m.segSlot); }, 2L * 3 * H * H, (int)conv.size()},
#else
            {"short_conv_step", [&](int i, bool p) { const Layer& y = m.L[conv[i % conv.size()]]; launch(short_conv_step, dim3((H + 255) / 256, rows), 256, 0, p, m.big, H, y.taps, CONV_L, y.convState, (long)(CONV_L - 1) * H, m.segSlot, m.mixed); }, 0, (int)conv.size()},
#endif
#ifdef FUSED_ATTENTION
            {"attention_decode +qk (GB/s of K, V)", [&](int i, bool p) { m.attention(m.L[attn[i % attn.size()]], rows, p); }, kvBytes, (int)attn.size()},
#else
            {"qk_norm_rope_store", [&](int i, bool p) { const Layer& y = m.L[attn[i % attn.size()]]; launch(qk_norm_rope_store, qkGrid(rows, s), QK_BLOCK, 0, p && SMALL_PDL, m.big, s.heads, s.kvHeads, s.hd, y.qNorm, y.kNorm, 1e-5f, m.rowPos, m.rowSlot, m.pageTable, m.maxPages, m.invFreq, m.q, y.kPool, y.vPool); }, 0, (int)attn.size()},
            {"attention_decode (GB/s of K, V)", [&](int i, bool p) { const Layer& y = m.L[attn[i % attn.size()]]; launch(attention_decode, dim3(s.kvHeads, rows), ATTN_THREADS, 0, p, m.q, qW, y.kPool, y.vPool, m.mixed, qW, s.heads, s.kvHeads, s.hd, 1.0f / sqrtf((float)s.hd), m.segSlot, m.segKeys, m.pageTable, m.maxPages); }, kvBytes, (int)attn.size()},
#endif
            {"gemv_add out-proj H x H", [&](int i, bool p) { const Layer& y = m.L[conv[i % conv.size()]]; gemvAdd(m.mixed, y.out, H, H, m.x, H, rows, p); }, 2L * H * H, (int)conv.size()},
            {"gemv_rms_silu gate/up 2F x H", [&](int i, bool p) { const Layer& y = m.L[i % s.layers]; gemvNormed(true, m.x, y.ffnNorm, y.gateUp, s.ffn, H, m.act, rows, p); }, 2L * 2 * s.ffn * H, s.layers},
            {"gemv_add down H x F", [&](int i, bool p) { const Layer& y = m.L[i % s.layers]; gemvAdd(m.act, y.down, H, s.ffn, m.x, H, rows, p); }, 2L * s.ffn * H, s.layers},
            {"gemv_rms lm_head V x H", [&](int, bool p) { gemvNormed(false, m.x, m.finalNorm, m.lmHead, s.vocab, H, m.logits, rows, p); }, 2L * s.vocab * H, 1},
#ifdef GEMV_PICK
            {"gemv_rms_pick lm_head + argmax", [&](int, bool p) { gemvPick(m.x, m.finalNorm, m.lmHead, s.vocab, H, m.logits, rows, p, m.banned, m.tokens, m.pickPartial, m.pickDone); }, 2L * s.vocab * H, 1},
#endif
            {"argmax_rows", [&](int, bool p) { launch(argmax_rows, dim3(rows), 1024, 0, p && SMALL_PDL, m.logits, s.vocab, m.banned, m.tokens ARGMAX_NO_COPY); }, 4L * rows * s.vocab, 1},
        };
        for (Kind& k : kinds) {
            const int launches = k.n * std::max(1, 96 / k.n);
            double us[2] = {0, 0};
            for (int pdl = 0; pdl < (HAVE_PDL ? 2 : 1); pdl++) {
                cudaGraphExec_t e = capture([&] { for (int i = 0; i < launches; i++) k.one(i, pdl == 1); });
                us[pdl] = timeGraph(e, std::max(3, replays / 10)) / launches;
                CK(cudaGraphExecDestroy(e));
            }
            m.restoreConv(convState);  // the gemv_add launches grew x: normalise it again through a clean step below
            auto gbs = [&](double t) { return k.bytes ? k.bytes / t * 1e-3 : 0.0; };
            if (HAVE_PDL) printf("  %-40s %10.2f %8.0f %10.2f %8.0f\n", k.name, us[0], gbs(us[0]), us[1], gbs(us[1]));
            else printf("  %-40s %10.2f %8.0f %10s %8s\n", k.name, us[0], gbs(us[0]), "-", "-");
        }
        CK(cudaMemset(m.x, 0, (long)MAX_SEQ * H * 4));
        for (int pdl = 0; pdl < (HAVE_PDL ? 2 : 1); pdl++) {
            cudaGraphExec_t e = capture([&] { m.step(rows, pdl == 1); });
            const double us = timeGraph(e, replays);
            printf("  STEP %-8s rows %d: %8.1f us per step (graph), %7.0f tokens/s, %6.0f GB/s of weights\n", pdl ? "PDL" : "plain", rows, us,
                   rows * 1e6 / us, m.weightBytes / us * 1e-3);
            CK(cudaGraphExecDestroy(e));
            if (pdl == HAVE_PDL && rows != 4) timeStreamShapes(m, rows, replays, pdl);  // the graph the engine replays
        }
#ifdef STEP_THREADS  // the step kernel (not in kernels older than it)
#ifdef STEP_TRACE
        stepTrace(m, rows);
#endif
        {
            cudaGraphExec_t e = capture([&] { m.stepKernel(rows); });
            const double us = timeGraph(e, replays);
            CK(cudaGraphExecDestroy(e));
            printf("  STEP %-8s rows %d: %8.1f us per step (graph), %7.0f tokens/s, %6.0f GB/s of weights; %d blocks\n", "kernel", rows, us,
                   rows * 1e6 / us, m.weightBytes / us * 1e-3, stepGrid(stepKernelOf(rowsPerBlock(rows)), stepSharedBytes(rowsPerBlock(rows), s)));
        }
#endif
        m.restoreConv(convState);
    }
}

// A large-batch decode step's attention (TextDecoder.layers at 2,048 one-row segments; LFM2-350M: 16 q / 8 kv heads x
// 64; keys 277 .. 340 as over 64 new tokens of a 256-token image): qk_norm_rope_store + attention_paged_hd64 (four warps
// a block) and + attention_step_hd64 (one warp a block: what the step launches; checked bit-equal to the paged kernel)
// against attention_decode (the small-batch kernel, which does qk_norm_rope_store's work) at 512, 256 and 128 threads.
// us per layer, and GB/s of the K and V rows read.
static void timeBatchAttention(int rows) {
    const int hd = 64, group = 2, kvHeads = 8, heads = group * kvHeads, width = (heads + 2 * kvHeads) * hd;
    std::vector<int> keys, pt, slot, qRow, one, causal;
    int maxKeys = 0;
    for (int s = 0; s < rows; s++) { keys.push_back(277 + s % 64); maxKeys = std::max(maxKeys, keys.back()); }
    const int maxPages = (maxKeys + PAGE_TOKENS - 1) / PAGE_TOKENS, pages = rows * maxPages;
    for (int i = 0; i < pages; i++) pt.push_back((int)(((long)i * 7 + 3) % pages));
    long keyRows = 0;
    for (int s = 0; s < rows; s++) { slot.push_back(s); qRow.push_back(s); one.push_back(1); causal.push_back(keys[s] - 1); keyRows += keys[s]; }
    const long pool = (long)pages * kvHeads * PAGE_TOKENS * hd, outLen = (long)rows * heads * hd;
    bf16 *k = randBf16(pool, 1.f), *v = randBf16(pool, 1.f), *q = zeros<bf16>(outLen), *out = zeros<bf16>(outLen);
    float *qkv = randF32((long)rows * width, 0.f, 2.f), *qNorm = randF32(hd, 1.f, 0.2f), *kNorm = randF32(hd, 1.f, 0.2f);
    float* invFreq = randF32(hd / 2, 0.f, 0.01f);
    int *dPt = ints(pt), *dSlot = ints(slot), *dQRow = ints(qRow), *dOne = ints(one), *dCausal = ints(causal), *dKeys = ints(keys);
    const float scale = 0.125f;
    const double kvBytes = (double)keyRows * kvHeads * hd * 2 * 2;
    auto qkStore = [&] {  // q, and the new K / V rows, from the in-projection's output
        launch(qk_norm_rope_store, dim3(rows, (heads + 2 * kvHeads + QK_BLOCK / 32 - 1) / (QK_BLOCK / 32)), QK_BLOCK, 0, false,
               (const float*)qkv, heads, kvHeads, hd, (const float*)qNorm, (const float*)kNorm, 1e-5f, (const int*)dCausal,
               (const int*)dSlot, (const int*)dPt, maxPages, (const float*)invFreq, q, k, v);
    };
    // one of the flash kernels over the step's rows (group <= 16: one block of `warps` warps per kv head and sequence)
    auto flash = [&](void (*kernel)(ATTN_ARGS), int warps, bf16* dst) {
        launch(kernel, dim3(1, kvHeads, rows), 32 * warps, 0, false, (const bf16*)q, heads * hd, (const bf16*)k, (const bf16*)v, 0,
               dst, heads * hd, heads, kvHeads, scale, (const int*)dQRow, (const int*)dOne, (const int*)dSlot, (const int*)dKeys,
               (const int*)dCausal, (const int*)dPt, maxPages);
    };
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    auto time = [&](const char* what, const std::function<void()>& body) {
        for (int i = 0; i < 3; i++) body();
        const int n = 20;
        CK(cudaEventRecord(a, stream));
        for (int i = 0; i < n; i++) body();
        CK(cudaEventRecord(b, stream));
        CK(cudaEventSynchronize(b));
        CK(cudaGetLastError());
        float ms = 0;
        CK(cudaEventElapsedTime(&ms, a, b));
        const double us = ms * 1e3 / n;
        printf("  %-58s %8.1f us per layer, %6.0f GB/s of K and V\n", what, us, kvBytes / (us * 1e3));
    };
    printf("large-batch decode attention, %d one-row segments, keys 277..340, 16 / 8 heads x 64:\n", rows);
    time("qk_norm_rope_store + attention_paged_hd64 (4 warps a block)", [&] { qkStore(); flash(attention_paged_hd64, ATTN_PAGED_WARPS, out); });
#ifdef ATTN_STEP_KERNELS
    time("qk_norm_rope_store + attention_step_hd64 (1 warp a block)", [&] { qkStore(); flash(attention_step_hd64, 1, out); });
    {  // the step kernel's output against the paged kernel's (same arithmetic per warp: bit-equal)
        bf16* other = zeros<bf16>(outLen);
        flash(attention_paged_hd64, ATTN_PAGED_WARPS, other);
        flash(attention_step_hd64, 1, out);
        CK(cudaStreamSynchronize(stream));
        std::vector<bf16> ga = host(out, outLen), gb = host(other, outLen);
        long diff = 0;
        for (size_t i = 0; i < ga.size(); i++) diff += memcmp(&ga[i], &gb[i], sizeof(bf16)) != 0;
        verdict("attention_step_hd64 vs attention_paged_hd64 (values differing)", (double)diff, 1.0, 0.0);
        cudaFree(other);
    }
#endif
    for (int threads : {512, 256, 128}) {
        char what[96];
        snprintf(what, sizeof what, "attention_decode, %d threads", threads);
        time(what, [&] {
            launch(attention_decode, dim3(kvHeads, rows), threads, 0, false, (const float*)qkv, (const float*)qNorm,
                   (const float*)kNorm, 1e-5f, (const float*)invFreq, k, v, out, heads * hd, heads, kvHeads, hd, scale,
                   (const int*)dSlot, (const int*)dKeys, (const int*)dPt, maxPages);
        });
    }
    CK(cudaEventDestroy(a));
    CK(cudaEventDestroy(b));
    cudaFree(k); cudaFree(v); cudaFree(q); cudaFree(out); cudaFree(qkv); cudaFree(qNorm); cudaFree(kNorm); cudaFree(invFreq);
    cudaFree(dPt); cudaFree(dSlot); cudaFree(dQRow); cudaFree(dOne); cudaFree(dCausal); cudaFree(dKeys);
}

int main(int argc, char** argv) {
    const std::string which = argc > 1 ? argv[1] : "all";
    const int replays = argc > 2 ? atoi(argv[2]) : 200;
    CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("%s (sm_%d%d, %d SMs, %.0f MB L2); kernels: %s; GEMV_COLS %d (rows 1) %d (rows 8), GEMV_WARPS %d, attention_decode %d threads, PDL %s\n",
           prop.name, prop.major, prop.minor, prop.multiProcessorCount, prop.l2CacheSize / 1e6,
#ifdef DECODE_KERNELS_SOURCE
           DECODE_KERNELS_SOURCE,
#else
           "working tree",
#endif
           gemvCols(1), gemvCols(8), GEMV_WARPS, ATTN_THREADS, HAVE_PDL ? "yes" : "no (kernels without griddepcontrol)");
    printf("kernels:\n");
    kernelInfo("gemv_rms_r1", (const void*)gemv_rms_r1, 128, 2 * 1024);
    kernelInfo("gemv_rms_r8", (const void*)gemv_rms_r8, 128, 16 * 1024);
    kernelInfo("gemv_rms_silu_r1", (const void*)gemv_rms_silu_r1, 128, 2 * 1024);
    kernelInfo("gemv_rms_silu_r8", (const void*)gemv_rms_silu_r8, 128, 16 * 1024);
    kernelInfo("gemv_add_r1", (const void*)gemv_add_r1, 128, 0);
    kernelInfo("gemv_add_r8", (const void*)gemv_add_r8, 128, 0);
    kernelInfo("attention_decode", (const void*)attention_decode, ATTN_THREADS, 0);
#ifdef STEP_THREADS  // the step kernel (not in kernels older than it)
    kernelInfo("decode_step_r1", (const void*)decode_step_r1, STEP_THREADS, 0);
    kernelInfo("decode_step_r8", (const void*)decode_step_r8, STEP_THREADS, 0);
#endif
    printf("checks:\n");
    checkGemv();
    checkConv();
    checkAttention();
    if (which == "batchattn") {
        for (int rows : {2048, 512}) timeBatchAttention(rows);
        return failures ? 1 : 0;
    }
    const Shape shapes[] = {{"450M (LFM2-350M text)", 1024, 16, 8, 64, 4608, 65536, 16}, {"1.6B (LFM2-1.2B text)", 2048, 32, 8, 64, 8192, 65536, 16}};
    std::vector<Model*> models;
    for (const Shape& s : shapes) {
        if (which != "all" && !(which == "450m" && s.H == 1024) && !(which == "1.6b" && s.H == 2048)) continue;
        Model* m = new Model(s);
        CK(cudaDeviceSynchronize());
        printf("step checks, %s:\n", s.name);
        checkStep(*m);
        models.push_back(m);
    }
    printf(failures ? "%d check(s) FAILED\n" : "all checks passed\n", failures);
    for (Model* m : models) timeShape(*m, replays);
    printf(failures ? "\n%d check(s) FAILED (see above)\n" : "\nall checks passed\n", failures);
    return failures ? 1 : 0;
}
