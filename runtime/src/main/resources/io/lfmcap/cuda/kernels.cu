// LFM2-VL kernels for the CUDA backend (docs/model-lfm2-vl.md). Compiled at run time by NVRTC for the
// device's architecture (io.lfmcap.cuda.KernelModule); every entry point is extern "C" so it is looked up
// by its plain name. No headers: bf16 is handled as raw 16-bit patterns, so a node with only the CUDA
// runtime libraries (no toolkit headers) can compile this file.
//
// Conventions: activations that feed a GEMM are bf16; the residual streams, GEMM outputs that feed
// element-wise work, softmax and norm statistics are fp32. Row-major everywhere.

typedef unsigned short bf16;
typedef unsigned int u32;
struct alignas(16) Vec16 { u32 x, y, z, w; };  // one 16-byte load or store (8 bf16)

#define PAGE_TOKENS 64  // tokens per KV-cache page (io.lfmcap.cuda.KvCachePool.PAGE_TOKENS)
#define NEG_INF (-__int_as_float(0x7f800000))

__device__ __forceinline__ float bf2f(bf16 h) { return __uint_as_float(((u32)h) << 16); }

// Round to nearest even, NaN kept quiet (torch's float -> bfloat16 conversion).
__device__ __forceinline__ bf16 f2bf(float f) {
    u32 u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (bf16)(u >> 16);
}

// Loads through L2 only (ld.global.cg): coherent for data that other blocks of the same launch wrote before a grid
// barrier (decode_bench's step kernel), where the read-only path and L1 are not.
__device__ __forceinline__ float ldcg(const float* p) {
    float v;
    asm volatile("ld.global.cg.f32 %0, [%1];" : "=f"(v) : "l"(p));
    return v;
}
__device__ __forceinline__ float2 ldcg2(const float* p) {
    float2 v;
    asm volatile("ld.global.cg.v2.f32 {%0,%1}, [%2];" : "=f"(v.x), "=f"(v.y) : "l"(p));
    return v;
}
__device__ __forceinline__ float4 ldcg4(const float* p) {
    float4 v;
    asm volatile("ld.global.cg.v4.f32 {%0,%1,%2,%3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
    return v;
}

// Programmatic dependent launch (io.lfmcap.cuda.GpuContext.launchDependent): a kernel launched as a programmatic
// dependent may start while the kernel before it still runs, and must wait before it touches anything that kernel
// writes. decode.cu's kernels do; launched plainly both instructions do nothing.

// Waits until the kernel before this one (a programmatic launch's primary) has finished and its writes are
// visible; a no-op for a plain launch.
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

// Lets the next kernel (launched as a programmatic dependent) start once every block of this one got here.
__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

__device__ __forceinline__ u32 pack_bf16(float lo, float hi) { return (u32)f2bf(lo) | ((u32)f2bf(hi) << 16); }

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the total.
__device__ float block_sum(float v, float* scratch) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float t = lane < warps ? scratch[lane] : 0.f;
    for (int o = 16; o > 0; o >>= 1) t += __shfl_xor_sync(0xffffffffu, t, o);
    return t;
}

// ---------------------------------------------------------------------------------------------
// Norms
// ---------------------------------------------------------------------------------------------

// Sum over the warp; every lane gets the total.
__device__ __forceinline__ float warp_total(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Norm kernels: one warp per row, rows [blockIdx.x * warps, + warps) of `rows` (grid ceil(rows / (block / 32))),
// lanes over 4 consecutive values at a time (16-byte loads of fp32, 8-byte of bf16: n, ldx and ldo multiples of 4,
// rows aligned to that); a row longer than the held path's stays in L1 between its passes. live: false for the
// warps past the last row, which still meet the held path's block barrier.
#define NORM_ROW() \
    const int lane = threadIdx.x & 31; \
    const long r = (long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); \
    const bool live = r < rows;

struct alignas(16) F4 { float x, y, z, w; };
struct alignas(8) U2 { u32 x, y; };

__device__ __forceinline__ void store4(void* out, int outF32, long at, float a, float b, float c, float d) {
    if (outF32) *(F4*)((float*)out + at) = F4{a, b, c, d};
    else *(U2*)((bf16*)out + at) = U2{pack_bf16(a, b), pack_bf16(c, d)};
}

// Four consecutive values as fp32: one 16-byte load of fp32, or one 8-byte load of bf16 widened.
__device__ __forceinline__ F4 load4(const float* p) { return *(const F4*)p; }
__device__ __forceinline__ F4 load4(const bf16* p) {
    const U2 u = *(const U2*)p;
    return F4{__uint_as_float(u.x << 16), __uint_as_float(u.x & 0xffff0000u), __uint_as_float(u.y << 16),
              __uint_as_float(u.y & 0xffff0000u)};
}

#define RMS_HELD 16  // pieces of 4 values per lane that rms_norm holds in registers: rows of up to 2,048 values
#define LN_HELD 8      // and layer_norm: rows of up to 1,024 values (more would cost it occupancy: 121 registers at 16)

// The norms' held path (n <= HELD * 128): a lane's pieces of its row (values lane * 4 + j * 128 .. + 3) are
// requested all at once into registers, then the block copies the weight vectors (w; b: nullable) into shared memory
// while they are in flight. Before s9 each lane loaded its weight pieces beside the stores, after the row's
// statistics, and layer_norm read its row three times: ncu per launch, 450M (s9-1 -> s9-5), rms_norm in a prefill
// 11.4 -> 9.4 us, layer_norm in a vision pass 26.5 -> 21.6 us. Every thread of the block must call this (it
// synchronises the block); live is false for the warps past the last row.
template <int HELD, typename T>  // T: float or bf16 rows
__device__ __forceinline__ void norm_row_held(F4 (&v)[HELD], const T* xr, bool live, const float* w, const float* b,
                                              F4* sw, F4* sb, int n, int lane) {
#pragma unroll
    for (int j = 0; j < HELD; j++) {
        const int i = lane * 4 + j * 128;
        if (live && i < n) v[j] = load4(xr + i);
    }
    for (int k = threadIdx.x; 4 * k < n; k += blockDim.x) {
        sw[k] = *(const F4*)(w + 4 * k);
        if (b) sb[k] = *(const F4*)(b + 4 * k);
    }
    __syncthreads();
}

// HF Lfm2RMSNorm: out = w * (x * rsqrt(mean(x^2) + eps)), fp32 statistics, bf16 out.
// rowIndex (nullable) picks the input row of output row r (the last row of each sequence).
// Rows of up to RMS_HELD * 128 values are loaded once, all at the same time, and kept in registers for the scaling
// (a decode step's norms are latency-bound: 8 -> 4 us per launch at 512 rows), w from shared memory
// (norm_row_held); longer ones are read twice (the second time from L1). Either way a lane sums its values in the
// same order.
extern "C" __global__ void rms_norm(const float* __restrict__ x, int ldx, const int* __restrict__ rowIndex,
                                    const float* __restrict__ w, bf16* __restrict__ out, int ldo, int n, float eps, int rows) {
    NORM_ROW();
    const float* xr = x + (long)(live && rowIndex ? rowIndex[r] : r) * ldx;
    bf16* o = out + r * ldo;
    if (n <= RMS_HELD * 128) {
        __shared__ F4 sw[RMS_HELD * 32];
        F4 v[RMS_HELD];
        norm_row_held(v, xr, live, w, nullptr, sw, nullptr, n, lane);
        if (!live) return;
        float ss = 0.f;
#pragma unroll
        for (int j = 0; j < RMS_HELD; j++)
            if (lane * 4 + j * 128 < n) ss += v[j].x * v[j].x + v[j].y * v[j].y + v[j].z * v[j].z + v[j].w * v[j].w;
        const float inv = 1.0f / sqrtf(warp_total(ss) / (float)n + eps);
#pragma unroll
        for (int j = 0; j < RMS_HELD; j++) {
            const int i = lane * 4 + j * 128;
            if (i >= n) continue;
            const F4 g = sw[lane + j * 32];
            store4(o, 0, i, g.x * (v[j].x * inv), g.y * (v[j].y * inv), g.z * (v[j].z * inv), g.w * (v[j].w * inv));
        }
        return;
    }
    if (!live) return;
    float ss = 0.f;
#pragma unroll 4
    for (int i = lane * 4; i < n; i += 128) {
        const F4 v = *(const F4*)(xr + i);
        ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
    }
    const float inv = 1.0f / sqrtf(warp_total(ss) / (float)n + eps);
#pragma unroll 4
    for (int i = lane * 4; i < n; i += 128) {
        const F4 v = *(const F4*)(xr + i), g = *(const F4*)(w + i);
        store4(o, 0, i, g.x * (v.x * inv), g.y * (v.y * inv), g.z * (v.z * inv), g.w * (v.w * inv));
    }
}

// torch layer_norm (biased variance, two passes): (x * rstd + (-rstd * mean)) * w + b; bf16 in (the vision
// residual stream), fp32 statistics, bf16 or fp32 out. Rows of up to LN_HELD * 128 values are
// held in registers, w and b in shared memory (norm_row_held); longer ones are read three times (then from L1). The
// sums run in the same order either way.
extern "C" __global__ void layer_norm(const bf16* __restrict__ x, int ldx, const float* __restrict__ w,
                                      const float* __restrict__ b, void* out, int outF32, int ldo, int n, float eps, int rows) {
    NORM_ROW();
    const bf16* xr = x + r * ldx;
    if (n <= LN_HELD * 128) {
        __shared__ F4 sw[LN_HELD * 32], sb[LN_HELD * 32];
        F4 v[LN_HELD];
        norm_row_held(v, xr, live, w, b, sw, sb, n, lane);
        if (!live) return;
        float s = 0.f;
#pragma unroll
        for (int j = 0; j < LN_HELD; j++)
            if (lane * 4 + j * 128 < n) s += (v[j].x + v[j].y) + (v[j].z + v[j].w);
        const float mean = warp_total(s) / (float)n;
        float q = 0.f;
#pragma unroll
        for (int j = 0; j < LN_HELD; j++) {
            if (lane * 4 + j * 128 >= n) continue;
            const float a = v[j].x - mean, c = v[j].y - mean, d = v[j].z - mean, e = v[j].w - mean;
            q += a * a + c * c + d * d + e * e;
        }
        const float var = warp_total(q) / (float)n;
        const float rstd = 1.0f / sqrtf(var + eps);
        const float shift = -rstd * mean;
#pragma unroll
        for (int j = 0; j < LN_HELD; j++) {
            const int i = lane * 4 + j * 128;
            if (i >= n) continue;
            const F4 g = sw[lane + j * 32], h = sb[lane + j * 32];
            store4(out, outF32, r * ldo + i, (v[j].x * rstd + shift) * g.x + h.x, (v[j].y * rstd + shift) * g.y + h.y,
                   (v[j].z * rstd + shift) * g.z + h.z, (v[j].w * rstd + shift) * g.w + h.w);
        }
        return;
    }
    if (!live) return;
    float s = 0.f;
#pragma unroll 4
    for (int i = lane * 4; i < n; i += 128) {
        const F4 v = load4(xr + i);
        s += (v.x + v.y) + (v.z + v.w);
    }
    const float mean = warp_total(s) / (float)n;
    float q = 0.f;
#pragma unroll 4
    for (int i = lane * 4; i < n; i += 128) {
        const F4 v = load4(xr + i);
        const float a = v.x - mean, c = v.y - mean, d = v.z - mean, e = v.w - mean;
        q += a * a + c * c + d * d + e * e;
    }
    const float var = warp_total(q) / (float)n;
    const float rstd = 1.0f / sqrtf(var + eps);
    const float shift = -rstd * mean;
#pragma unroll 4
    for (int i = lane * 4; i < n; i += 128) {
        const F4 v = load4(xr + i), g = *(const F4*)(w + i), h = *(const F4*)(b + i);
        store4(out, outF32, r * ldo + i, (v.x * rstd + shift) * g.x + h.x, (v.y * rstd + shift) * g.y + h.y,
               (v.z * rstd + shift) * g.z + h.z, (v.w * rstd + shift) * g.w + h.w);
    }
}

// ---------------------------------------------------------------------------------------------
// Text decoder element-wise stages
// ---------------------------------------------------------------------------------------------

// HF Lfm2Attention front half, fused: per (row, head) of the fused projection qkv [rows, (nh + 2 nkv) hd]:
//   q head : RMSNorm_q (per head, weight [hd]) -> RoPE(pos) -> qOut [rows, nh hd] (bf16)
//   k head : RMSNorm_k -> RoPE(pos) -> K page of the row's sequence (bf16)
//   v head : as is -> V page (bf16)
// RoPE is rotate-half over (j, j + hd/2) with angle = float(pos) * invFreq[j] as one fp32 product.
// KV pools are [page][kvHead][PAGE_TOKENS][hd]; the page of position p is pageTable[slot][p / PAGE_TOKENS].
// One warp per head (decode_bench's step kernel runs the same function for its heads): lane l sums the squares of
// dims l, l + 64 and of l + 32, l + 96, the two warp sums meet as one addition. The activations are read through
// L2 (ld.cg): the step kernel reads them in the launch that wrote them.
template <typename Store>  // store(i, bf16 value) for dims i of the head
__device__ __forceinline__ void qk_norm_rope_head(const float* src, int hd, const float* __restrict__ w, float eps, int pos,
                                                  const float* __restrict__ invFreq, Store store) {
    const int lane = threadIdx.x & 31;
    float a = 0.f, b = 0.f;
    for (int i = lane; i < hd; i += 64) { const float v = ldcg(src + i); a += v * v; }
    for (int i = lane + 32; i < hd; i += 64) { const float v = ldcg(src + i); b += v * v; }
    const float ss = warp_total(a) + warp_total(b);
    const float inv = 1.0f / sqrtf(ss / (float)hd + eps);
    const int half = hd / 2;
    const float p = (float)pos;
    for (int j = lane; j < half; j += 32) {
        const float angle = __fmul_rn(p, invFreq[j]);
        const float c = cosf(angle), s = sinf(angle);
        const float x1 = w[j] * (ldcg(src + j) * inv), x2 = w[j + half] * (ldcg(src + j + half) * inv);
        store(j, f2bf(x1 * c + (-x2) * s));
        store(j + half, f2bf(x2 * c + x1 * s));
    }
}

// The K/V pool row of position pos of the sequence in slot, kv head g.
__device__ __forceinline__ long kv_row(const int* __restrict__ pageTable, int maxPages, int slot, int pos, int kvHeads, int g, int hd) {
    const int page = pageTable[(long)slot * maxPages + pos / PAGE_TOKENS];
    return (((long)page * kvHeads + g) * PAGE_TOKENS + pos % PAGE_TOKENS) * hd;
}

// grid (rows, ceil((nh + 2 nkv) / QK_HEADS_PER_BLOCK)), block 32 x QK_HEADS_PER_BLOCK: a warp per head; hd <= 256.
// Several warps per block: a prefill pass has ~10^5 heads of short, latency-bound work, and an SM holds at most 32
// blocks (one-warp blocks left it half empty: 129 us for 1.6B's 4,500-row pass, s4-2).
#define QK_HEADS_PER_BLOCK 4
static_assert(32 * QK_HEADS_PER_BLOCK == 128, "qk_norm_rope_store's launch bound");
extern "C" __global__ void __launch_bounds__(128) qk_norm_rope_store(
        const float* __restrict__ qkv, int heads, int kvHeads, int hd, const float* __restrict__ qNormW,
        const float* __restrict__ kNormW, float eps, const int* __restrict__ rowPos, const int* __restrict__ rowSlot,
        const int* __restrict__ pageTable, int maxPages, const float* __restrict__ invFreq, bf16* __restrict__ qOut,
        bf16* __restrict__ kPool, bf16* __restrict__ vPool) {
    const int r = blockIdx.x, h = blockIdx.y * QK_HEADS_PER_BLOCK + (threadIdx.x >> 5);
    if (h >= heads + 2 * kvHeads) return;
    const long width = (long)(heads + 2 * kvHeads) * hd;
    const float* src = qkv + r * width + (long)h * hd;
    const int pos = rowPos[r];
    const bool isQ = h < heads;
    const bool isV = h >= heads + kvHeads;
    bf16* dst = isQ ? qOut + (long)r * heads * hd + (long)h * hd
                    : (isV ? vPool : kPool) + kv_row(pageTable, maxPages, rowSlot[r], pos, kvHeads, isV ? h - heads - kvHeads : h - heads, hd);
    if (isV) {
        for (int i = threadIdx.x & 31; i < hd; i += 32) dst[i] = f2bf(src[i]);
        return;
    }
    qk_norm_rope_head(src, hd, isQ ? qNormW : kNormW, eps, pos, invFreq, [&](int i, bf16 v) { dst[i] = v; });
}

// HF Lfm2ShortConv (docs section 5), rows of several sequences packed in one pass:
//   U[t] = B[t] * X[t];  Y[t] = sum_k taps[c][k] * U[t - (L-1) + k];  y = C[t] * Y[t]  (bf16)
// bcx [rows, 3H] holds B | C | X; a U before the row's sequence chunk comes from its conv state
// [slot][L-1][H] (oldest first; slotStride floats apart). A thread takes channel c of rowsPer = ceil(rows / gridDim.y)
// (<= CONV_ROWS) consecutive rows, so each U is made once for the L outputs that use it: a prefill pass takes 8 (one
// row per thread read bcx three times: 90 -> 62 us for 1.6B's 4,500-row pass, s4-2/s4-4), a decode step 1 (its rows
// are many sequences' single rows; 8 left most SMs idle). grid (ceil(H/256), ceil(rows/rowsPer)), block 256;
// L <= CONV_MAX_L.
#define CONV_ROWS 8
#define CONV_MAX_L 4
extern "C" __global__ void short_conv(const float* __restrict__ bcx, int H, const float* __restrict__ taps, int L,
                                      const float* __restrict__ state, long slotStride,
                                      const int* __restrict__ rowSegStart, const int* __restrict__ rowSlot,
                                      bf16* __restrict__ y, int rows) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    const int rowsPer = (rows + gridDim.y - 1) / gridDim.y;
    if (rowsPer > CONV_ROWS) __trap();  // a grid too small for the pass (Kernels.shortConv makes it)
    const int r0 = blockIdx.y * rowsPer;
    if (c >= H) return;
    const int hist = L - 1;
    const long h3 = 3L * H;
    // u[i] = U of pass row r0 - hist + i, for the rows of the pass (a row of another sequence is made but never read)
    float u[CONV_ROWS + CONV_MAX_L - 1], tap[CONV_MAX_L];
#pragma unroll
    for (int i = 0; i < CONV_ROWS + CONV_MAX_L - 1; i++) {
        const long t = r0 - hist + i;
        u[i] = i < rowsPer + hist && t >= 0 && t < rows ? bcx[t * h3 + c] * bcx[t * h3 + 2 * H + c] : 0.f;
    }
#pragma unroll
    for (int k = 0; k < CONV_MAX_L; k++) tap[k] = k < L ? taps[(long)c * L + k] : 0.f;
#pragma unroll
    for (int j = 0; j < CONV_ROWS; j++) {
        const int r = r0 + j;
        if (j >= rowsPer || r >= rows) break;
        const int first = rowSegStart[r];
        const float* st = state + (long)rowSlot[r] * slotStride;
        float acc = 0.f;
#pragma unroll
        for (int k = 0; k < CONV_MAX_L; k++) {
            if (k >= L) break;
            const int t = r - hist + k;
            const float v = t >= first ? u[j + k] : st[(long)(hist + (t - first)) * H + c];
            const float term = __fmul_rn(tap[k], v);
            acc = k == 0 ? term : __fadd_rn(acc, term);
        }
        y[(long)r * H + c] = f2bf(bcx[r * h3 + H + c] * acc);
    }
}

// After short_conv: each sequence's conv state becomes the last L-1 values of U over (old state ++ chunk).
// grid (ceil(H/256), segments).
extern "C" __global__ void short_conv_state(const float* __restrict__ bcx, int H, int L, float* __restrict__ state,
                                            long slotStride, const int* __restrict__ segFirstRow,
                                            const int* __restrict__ segRows, const int* __restrict__ segSlot) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    const int s = blockIdx.y;
    if (c >= H) return;
    const int first = segFirstRow[s], n = segRows[s], hist = L - 1;
    float* st = state + (long)segSlot[s] * slotStride;
    const long h3 = 3L * H;
    for (int j = 0; j < hist; j++) {
        const int t = n - hist + j;  // relative to the chunk; < 0 reads the old state (at a higher index)
        float u;
        if (t >= 0) { const long row = first + t; u = bcx[row * h3 + c] * bcx[row * h3 + 2 * H + c]; }
        else u = st[(long)(j + n) * H + c];
        st[(long)j * H + c] = u;
    }
}

// HF Lfm2MLP middle: out = silu(g) * u with gu [rows, 2F] = w1 x | w3 x in bf16 (the Linear outputs' dtype in HF's
// bf16 model); silu(g) = g / (1 + exp(-g)) in fp32. 8 outputs per step (16-byte loads) when F % 8 == 0, else 1.
extern "C" __global__ void silu_mul(const bf16* __restrict__ gu, long rows, int F, bf16* __restrict__ out) {
    const int width = F % 8 == 0 ? 8 : 1;
    const long total = rows * F / width, stride = (long)gridDim.x * blockDim.x;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < total; i += stride) {
        const long r = i * width / F;
        const int c = (int)(i * width - r * F);
        const bf16* g = gu + r * 2 * F + c;
        if (width == 8) {
            float gf[8], uf[8];
            const Vec16 gv = *(const Vec16*)g, uv = *(const Vec16*)(g + F);
            const u32 gp[4] = {gv.x, gv.y, gv.z, gv.w}, up[4] = {uv.x, uv.y, uv.z, uv.w};
            u32 o[4];
#pragma unroll
            for (int k = 0; k < 4; k++) {
                gf[2 * k] = __uint_as_float(gp[k] << 16);
                gf[2 * k + 1] = __uint_as_float(gp[k] & 0xffff0000u);
                uf[2 * k] = __uint_as_float(up[k] << 16);
                uf[2 * k + 1] = __uint_as_float(up[k] & 0xffff0000u);
                o[k] = pack_bf16(gf[2 * k] / (1.0f + expf(-gf[2 * k])) * uf[2 * k],
                                 gf[2 * k + 1] / (1.0f + expf(-gf[2 * k + 1])) * uf[2 * k + 1]);
            }
            *(Vec16*)(out + r * F + c) = Vec16{o[0], o[1], o[2], o[3]};
        } else {
            const float gf = bf2f(g[0]), uf = bf2f(g[F]);
            out[r * F + c] = f2bf(gf / (1.0f + expf(-gf)) * uf);
        }
    }
}

// Decoder input rows: gather[r] >= 0 takes image feature row gather[r] (fp32, the projector's output,
// HF masked_scatter at image_token_id); otherwise token id -gather[r]-1 from embed_tokens (bf16). fromPrev
// (nullable) overrides: fromPrev[r] >= 0 takes token id prevTokens[fromPrev[r]], the device's pick for that
// sequence in the decode step before (an overlapped step, fed without a round trip through the host).
// passFrom (nullable): the pass's arrays in mapped host memory (PassUpload.sendByKernel), which block 0 copies to their
// device buffer passTo (passInts ints) for the kernels after this one; gather and fromPrev then point into passFrom too.
// A decode step's copy on the stream before its graph cost it 3.2 us (decode_bench, H200, s12-2).
#define EMBED_COPIES_PASS 1  // embed_rows takes passFrom, passTo, passInts
extern "C" __global__ void embed_rows(const int* __restrict__ gather, const int* __restrict__ fromPrev,
                                      const int* __restrict__ prevTokens, const bf16* __restrict__ table,
                                      const float* __restrict__ image, int H, float* __restrict__ x,
                                      const int* __restrict__ passFrom, int* __restrict__ passTo, int passInts) {
    const int r = blockIdx.x;
    if (passFrom && r == 0)
        for (int i = threadIdx.x; i < passInts; i += blockDim.x) passTo[i] = passFrom[i];
    int g = gather[r];
    if (fromPrev && fromPrev[r] >= 0) g = -prevTokens[fromPrev[r]] - 1;
    float* xr = x + (long)r * H;
    if (g >= 0) {
        const float* src = image + (long)g * H;
        for (int c = threadIdx.x; c < H; c += blockDim.x) xr[c] = src[c];
    } else {
        const bf16* src = table + (long)(-g - 1) * H;
        for (int c = threadIdx.x; c < H; c += blockDim.x) xr[c] = bf2f(src[c]);
    }
}

// Greedy choice on the device: argmax of each logits row, lowest id on ties (torch.argmax), never the
// row's banned id (-1: none; end-of-sequence suppression). One block of 1024 threads per row. The picks go to out
// (where the next decode step reads them) and, unless null, to copy: a pinned host slot (LaunchedSteps), written by
// the kernel itself, because a copy back after a decode step's graph cost the step 8.5 us (decode_bench, H200, s11-10).
// A small-batch decode step makes the same choice inside its lm_head launch (decode.cu gemv_rms_pick_rN).
#define ARGMAX_LOADS 8  // 16-byte loads in flight per thread
#define ARGMAX_COPY 1   // argmax_rows takes the host slot
extern "C" __global__ void argmax_rows(const float* __restrict__ logits, int V, const int* __restrict__ banned,
                                       int* __restrict__ out, int* __restrict__ copy) {
    __shared__ float bestV[32];
    __shared__ int bestI[32];
    const int r = blockIdx.x;
    const float* l = logits + (long)r * V;
    const int ban = banned[r];
    float best = NEG_INF;
    int bi = 0x7fffffff;
    // four consecutive ids per 16-byte load where the row is 16-byte aligned, ARGMAX_LOADS loads requested before any
    // is compared (one at a time a one-row argmax took 5.8 us for 65,536 logits, s6-4: latency-bound); a thread's ids
    // only grow, so a strict > keeps its lowest id on ties
    const int vec = ((((unsigned long)l) & 15) == 0) ? V / 4 : 0;
    for (int c0 = threadIdx.x; c0 < vec; c0 += ARGMAX_LOADS * blockDim.x) {
        float4 f[ARGMAX_LOADS];
#pragma unroll
        for (int n = 0; n < ARGMAX_LOADS; n++) {
            const int c = c0 + n * blockDim.x;
            f[n] = c < vec ? ((const float4*)l)[c] : make_float4(NEG_INF, NEG_INF, NEG_INF, NEG_INF);
        }
#pragma unroll
        for (int n = 0; n < ARGMAX_LOADS; n++) {
            const float e[4] = {f[n].x, f[n].y, f[n].z, f[n].w};
#pragma unroll
            for (int u = 0; u < 4; u++) {
                const int i = 4 * (c0 + n * blockDim.x) + u;
                if (i != ban && e[u] > best) { best = e[u]; bi = i; }
            }
        }
    }
    for (int i = 4 * vec + threadIdx.x; i < V; i += blockDim.x) {
        if (i == ban) continue;
        const float v = l[i];
        if (v > best || (v == best && i < bi)) { best = v; bi = i; }
    }
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, best, o);
        const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
        if (ov > best || (ov == best && oi < bi)) { best = ov; bi = oi; }
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) { bestV[warp] = best; bestI[warp] = bi; }
    __syncthreads();
    if (warp == 0) {
        const int warps = blockDim.x >> 5;
        best = lane < warps ? bestV[lane] : NEG_INF;
        bi = lane < warps ? bestI[lane] : 0x7fffffff;
        for (int o = 16; o > 0; o >>= 1) {
            const float ov = __shfl_xor_sync(0xffffffffu, best, o);
            const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (ov > best || (ov == best && oi < bi)) { best = ov; bi = oi; }
        }
        if (lane == 0) {
            const int pick = bi == 0x7fffffff ? 0 : bi;
            out[r] = pick;
            if (copy) copy[r] = pick;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Host picks that need only a few logits (io.lfmcap.cuda.LogitCandidates, ModelBackend.Candidates)
// ---------------------------------------------------------------------------------------------

// Sequence slots' seen sets (bit sets of seenWords words per slot): slot slots[s] is cleared, then takes the ids
// ids[idStart[s] .. idStart[s + 1]) (its prompt). grid sequences, block 256.
extern "C" __global__ void seen_reset(unsigned* seen, int seenWords, const int* __restrict__ slots, const int* __restrict__ idStart,
                                      const int* __restrict__ ids) {
    unsigned* bits = seen + (long)slots[blockIdx.x] * seenWords;
    for (int w = threadIdx.x; w < seenWords; w += blockDim.x) bits[w] = 0u;
    __syncthreads();
    for (int k = idStart[blockIdx.x] + threadIdx.x; k < idStart[blockIdx.x + 1]; k += blockDim.x)
        atomicOr(bits + ids[k] / 32, 1u << (ids[k] % 32));
}

// Exclusive prefix sum over the block (blockDim.x a multiple of 32, at most 1024); *total gets the sum.
__device__ int block_exclusive_scan(int v, int* scratch, int* total) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    int x = v;
    for (int o = 1; o < 32; o <<= 1) {
        const int y = __shfl_up_sync(0xffffffffu, x, o);
        if (lane >= o) x += y;
    }
    __syncthreads();
    if (lane == 31) scratch[warp] = x;
    __syncthreads();
    if (warp == 0) {
        int t = lane < warps ? scratch[lane] : 0;
        for (int o = 1; o < 32; o <<= 1) {
            const int y = __shfl_up_sync(0xffffffffu, t, o);
            if (lane >= o) t += y;
        }
        scratch[lane] = t;
    }
    __syncthreads();
    *total = scratch[warps - 1];
    return (warp > 0 ? scratch[warp - 1] : 0) + x - v;
}

// The candidates of host picks: pass row r (logits row logitRow[r]) gets, ids ascending, every id but banned[r] that
// is in its slot's seen set (slot[r] >= 0) or whose logit reaches M + offset[r] - slack, M the largest logit among
// the other ids, slack = 1e-4 (1 + |M| + |offset|) (far above the host's rounding; io.lfmcap.engine's test rule
// CandidateSelection is the same). First newSeen[r] (the token the step was fed; -1: none) joins the slot's set.
// count[r] = how many; their ids and logits fill ids / vals [r][cap] when they fit. Each thread scans one contiguous
// run of ids, so that one prefix sum orders the output. grid rows, block 1024.
extern "C" __global__ void __launch_bounds__(1024) logit_candidates(const float* __restrict__ logits, int V,
        const int* __restrict__ logitRow, const int* __restrict__ banned, const float* __restrict__ offset, unsigned* seen,
        int seenWords, const int* __restrict__ slot, const int* __restrict__ newSeen, int cap, int* __restrict__ count,
        int* __restrict__ ids, float* __restrict__ vals) {
    __shared__ float maxima[32];
    __shared__ int scratch[32];
    const int r = blockIdx.x, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const float* l = logits + (long)logitRow[r] * V;
    unsigned* bits = slot[r] >= 0 ? seen + (long)slot[r] * seenWords : nullptr;
    if (bits && threadIdx.x == 0 && newSeen[r] >= 0) atomicOr(bits + newSeen[r] / 32, 1u << (newSeen[r] % 32));
    __syncthreads();
    const int ban = banned[r];
    const int run = (V + blockDim.x - 1) / blockDim.x, lo = min(V, (int)threadIdx.x * run), hi = min(V, lo + run);
    auto isSeen = [&](int i) { return bits != nullptr && ((bits[i >> 5] >> (i & 31)) & 1u) != 0u; };
    float m = NEG_INF;
    for (int i = lo; i < hi; i++)
        if (i != ban && !isSeen(i)) m = fmaxf(m, l[i]);
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    if (lane == 0) maxima[warp] = m;
    __syncthreads();
    m = NEG_INF;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) m = fmaxf(m, maxima[w]);
    const float off = offset[r];
    const float threshold = m + off - 1e-4f * (1.f + fabsf(m) + fabsf(off));
    auto keep = [&](int i) { return i != ban && (isSeen(i) || l[i] >= threshold); };
    int mine = 0;
    for (int i = lo; i < hi; i++) mine += keep(i);
    int total;
    int at = block_exclusive_scan(mine, scratch, &total);
    if (threadIdx.x == 0) count[r] = total;
    if (total > cap) return;
    int* rowIds = ids + (long)r * cap;
    float* rowVals = vals + (long)r * cap;
    for (int i = lo; i < hi; i++)
        if (keep(i)) {
            rowIds[at] = i;
            rowVals[at++] = l[i];
        }
}

// Scratch operands for timing (Gemm.tune): bf16 values spread over [-0.05, 0.05) from a hash of the index, so the
// tensor cores see data like real activations (all-equal inputs draw less power and flatter timings). Grid-stride.
extern "C" __global__ void fill_bf16_noise(bf16* __restrict__ out, long n, int seed) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        unsigned h = (unsigned)i * 0x9E3779B1u ^ (unsigned)(i >> 32) ^ (unsigned)seed;
        h ^= h >> 15; h *= 0x2C1B3C6Du; h ^= h >> 12; h *= 0x297A2D39u; h ^= h >> 15;
        out[i] = f2bf(((h >> 8) * (1.0f / 16777216.0f) - 0.5f) * 0.1f);
    }
}

// ---------------------------------------------------------------------------------------------
// Vision tower and projector stages
// ---------------------------------------------------------------------------------------------

// Views of a packed vision pass are described by viewDesc[v * 6 + ...]:
//   0 first patch row, 1 gridH, 2 gridW, 3 first height tap, 4 first width tap, 5 first output token.
#define VIEW_FIELDS 6

extern "C" __global__ void f32_to_bf16(const float* __restrict__ in, bf16* __restrict__ out, long n) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) out[i] = f2bf(in[i]);
}

// HF pixel_values from uint8 pixel levels (io.lfmcap.image.PatchGrid, level form): out[i] = bf16(table[(i % 3) * 256
// + levels[i]]), table = the per-channel float32 values of the fused rescale + normalize (io.lfmcap.image.Patchifier),
// so bit for bit f32_to_bf16 of the float patches. Elements in (dy, dx, c) order: channel i % 3. Grid-stride over
// n / 8 steps of eight levels (one 8-byte load, one 16-byte store: levels 8-byte, out 16-byte aligned), then the
// last n % 8 one by one.
extern "C" __global__ void patch_levels_to_bf16(const unsigned char* __restrict__ levels, const float* __restrict__ table,
                                                bf16* __restrict__ out, long n) {
    const long stride = (long)gridDim.x * blockDim.x, steps = n >> 3;
    for (long s = blockIdx.x * (long)blockDim.x + threadIdx.x; s < steps; s += stride) {
        const unsigned long long v = reinterpret_cast<const unsigned long long*>(levels)[s];
        int row = (int)((s << 3) % 3) << 8;  // table row of the first element's channel
        float f[8];
#pragma unroll
        for (int j = 0; j < 8; j++) {
            f[j] = table[row + (int)((v >> (8 * j)) & 0xffu)];
            row = row == 512 ? 0 : row + 256;
        }
        reinterpret_cast<Vec16*>(out)[s] = Vec16{pack_bf16(f[0], f[1]), pack_bf16(f[2], f[3]), pack_bf16(f[4], f[5]), pack_bf16(f[6], f[7])};
    }
    for (long i = (steps << 3) + blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += stride)
        out[i] = f2bf(table[(int)(i % 3) * 256 + levels[i]]);
}

// SigLIP2 NaFlex position embedding: x[p] = bf16(x[p] + bf16(resize(table, gridH x gridW)[p])) with PyTorch's
// antialiased bilinear taps (computed on the host, io.lfmcap.cuda.PositionTaps): width pass then height pass, fp32,
// each sum in tap order; as in HF's bf16 model, the resized table is rounded to bf16 before it is added to the bf16
// patch embeddings. grid (patches), block 64; a thread takes 4 consecutive channels at a time (D % 4 == 0; else 1).
// Before s9 a thread took one channel of a block of 128: 75 us for a 10-view pass of 450M (s9-1 ncu).
template <int VEC>
__device__ __forceinline__ void position_add_patch(bf16* __restrict__ x, int D, const float* __restrict__ table, int side,
                                                   int p, int hf, int hc, int wf, int wc, const float* hw, const float* ww) {
    for (int ch = threadIdx.x * VEC; ch < D; ch += blockDim.x * VEC) {
        float acc[VEC] = {};
        for (int i = 0; i < hc; i++) {
            float row[VEC] = {};
            for (int j = 0; j < wc; j++) {
                float t[VEC];
                const float* tp = table + ((long)(hf + i) * side + wf + j) * D + ch;
                if (VEC == 4) {
                    const F4 q = load4(tp);
                    t[0] = q.x; t[1 % VEC] = q.y; t[2 % VEC] = q.z; t[3 % VEC] = q.w;
                } else {
                    t[0] = tp[0];
                }
#pragma unroll
                for (int e = 0; e < VEC; e++) {
                    const float m = __fmul_rn(t[e], ww[j]);
                    row[e] = j == 0 ? m : __fadd_rn(row[e], m);
                }
            }
#pragma unroll
            for (int e = 0; e < VEC; e++) {
                const float m = __fmul_rn(row[e], hw[i]);
                acc[e] = i == 0 ? m : __fadd_rn(acc[e], m);
            }
        }
        bf16* xp = x + (long)p * D + ch;
        if (VEC == 4) {
            const F4 v = load4(xp);
            *(U2*)xp = U2{pack_bf16(v.x + bf2f(f2bf(acc[0])), v.y + bf2f(f2bf(acc[1 % VEC]))),
                          pack_bf16(v.z + bf2f(f2bf(acc[2 % VEC])), v.w + bf2f(f2bf(acc[3 % VEC])))};
        } else {
            xp[0] = f2bf(bf2f(xp[0]) + bf2f(f2bf(acc[0])));
        }
    }
}

extern "C" __global__ void vision_position_add(bf16* __restrict__ x, int D, const float* __restrict__ table, int side,
                                               const int* __restrict__ patchView, const int* __restrict__ viewDesc,
                                               const int* __restrict__ tapFirst, const int* __restrict__ tapCount,
                                               const float* __restrict__ tapWeight, int maxTaps) {
    const int p = blockIdx.x;
    const int* vd = viewDesc + patchView[p] * VIEW_FIELDS;
    const int n = p - vd[0], gw = vd[2];
    const int hi = vd[3] + n / gw, wi = vd[4] + n % gw;
    const float* hw = tapWeight + (long)hi * maxTaps;
    const float* ww = tapWeight + (long)wi * maxTaps;
    if (D % 4 == 0) position_add_patch<4>(x, D, table, side, p, tapFirst[hi], tapCount[hi], tapFirst[wi], tapCount[wi], hw, ww);
    else position_add_patch<1>(x, D, table, side, p, tapFirst[hi], tapCount[hi], tapFirst[wi], tapCount[wi], hw, ww);
}

// HF Lfm2VlMultiModalProjector.pixel_unshuffle (+ LayerNorm eps 1e-5 when lnW != null):
// token (r, c) of a view = concat over dy, dx of features[f r + dy][f c + dx] -> bf16 [tokens, f^2 D].
// grid (tokens), block 256.
extern "C" __global__ void pixel_unshuffle(const float* __restrict__ feat, int D, int factor,
                                           const int* __restrict__ tokenView, const int* __restrict__ viewDesc,
                                           const float* __restrict__ lnW, const float* __restrict__ lnB, float eps,
                                           bf16* __restrict__ out) {
    __shared__ float scratch[32];
    const int t = blockIdx.x;
    const int* vd = viewDesc + tokenView[t] * VIEW_FIELDS;
    const int gw = vd[2], local = t - vd[5], outW = gw / factor;
    const int r = local / outW, c = local % outW;
    const int width = D * factor * factor;
    const long firstPatch = vd[0];
    bf16* o = out + (long)t * width;
#define UNSHUFFLE_SRC(k) feat[(firstPatch + (long)(factor * r + ((k) / D) / factor) * gw + factor * c + ((k) / D) % factor) * D + (k) % D]
    if (lnW == 0) {
        for (int k = threadIdx.x; k < width; k += blockDim.x) o[k] = f2bf(UNSHUFFLE_SRC(k));
        return;
    }
    float s = 0.f;
    for (int k = threadIdx.x; k < width; k += blockDim.x) s += UNSHUFFLE_SRC(k);
    const float mean = block_sum(s, scratch) / (float)width;
    float q = 0.f;
    for (int k = threadIdx.x; k < width; k += blockDim.x) { float d = UNSHUFFLE_SRC(k) - mean; q += d * d; }
    const float var = block_sum(q, scratch) / (float)width;
    const float rstd = 1.0f / sqrtf(var + eps);
    const float shift = -rstd * mean;
    for (int k = threadIdx.x; k < width; k += blockDim.x) o[k] = f2bf((UNSHUFFLE_SRC(k) * rstd + shift) * lnW[k] + lnB[k]);
#undef UNSHUFFLE_SRC
}

// Projector activation: out = gelu_erf(x) = x * 0.5 * (1 + erf(x / sqrt 2)) (bias already added by the GEMM).
extern "C" __global__ void gelu_erf(const float* __restrict__ x, long n, bf16* __restrict__ out) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        const float v = x[i];
        out[i] = f2bf(v * 0.5f * (1.0f + erff(v * 0.7071067811865476f)));
    }
}

// Epilogue for when cuBLASLt's fused one is not used: d[r][c] = act(d[r][c] + bias[c]) in place,
// d and bias both bf16 or both fp32; act 0 = none, 1 = gelu_tanh (gelu_pytorch_tanh).
extern "C" __global__ void bias_act(void* d, int bf16Data, const void* __restrict__ bias, long rows, int cols, int act) {
    const long total = rows * cols;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < total; i += (long)gridDim.x * blockDim.x) {
        const int c = (int)(i % cols);
        float v = bf16Data ? bf2f(((bf16*)d)[i]) + bf2f(((const bf16*)bias)[c]) : ((float*)d)[i] + ((const float*)bias)[c];
        if (act == 1) {
            const float inner = 0.7978845608028654f * (v + 0.044715f * (v * v * v));
            v = 0.5f * v * (1.0f + tanhf(inner));
        }
        if (bf16Data) ((bf16*)d)[i] = f2bf(v);
        else ((float*)d)[i] = v;
    }
}

// ---------------------------------------------------------------------------------------------
// Attention: softmax(q k^T * scale + mask) v, fp32 softmax, no score matrix in memory.
//
// Packed variable-length segments (an image view for the vision tower; a sequence's new rows for the
// decoder). Segment s: query rows [segQRow, segQRow + segRows); keys 0..segKeyCount-1; query i sees key j
// when j <= segCausalBase + i (causal) or always (segCausalBase < 0). Keys are rows segKey + j of k/v
// (direct: row stride ldkv, kv head g at column g * HD) or, paged, the pages of sequence slot segKey.
// Grouped-query: query head h reads kv head h / (heads / kvHeads); one block works on 16 x ATTN_*_WARPS
// (query, head of the group) pairs of one kv head, so decode steps fill the tile with the group's heads.
// ---------------------------------------------------------------------------------------------

#define ATTN_DIRECT_WARPS 8  // warps (x 16 query rows) per block of attention_hd*
#define ATTN_PAGED_WARPS 4   // warps (x 16 (query, head-of-group) rows) per block of attention_paged_hd*
#define ATTN_STEP_KERNELS 1  // attention_step_hd*: the paged kernel at one warp a block (decode steps)

#define ATTN_ARGS const bf16* __restrict__ q, int ldq, const bf16* __restrict__ k, const bf16* __restrict__ v, int ldkv, \
    bf16* __restrict__ out, int ldo, int heads, int kvHeads, float scale, \
    const int* __restrict__ segQRow, const int* __restrict__ segRows, const int* __restrict__ segKey, \
    const int* __restrict__ segKeyCount, const int* __restrict__ segCausalBase, const int* __restrict__ pageTable, int maxPages
#define ATTN_PASS q, ldq, k, v, ldkv, out, ldo, heads, kvHeads, scale, segQRow, segRows, segKey, segKeyCount, segCausalBase, pageTable, maxPages

__device__ __forceinline__ void mma_bf16_16816(float* c, const u32* a, u32 b0, u32 b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// ldmatrix ... .trans: thread (gq = lane / 4, t4 = lane % 4) gets rows 2 t4, 2 t4 + 1 of column gq of each 8x8
// matrix, i.e. the col-major B fragment of mma m16n8k16 straight from a row-major [key][dim] tile. Lanes 8i..8i+7
// give the row addresses of matrix i.
__device__ __forceinline__ u32 shared_address(const void* p) {
    u32 a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}

__device__ __forceinline__ void ldsm_x4_trans(u32* r, u32 addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}

__device__ __forceinline__ void ldsm_x2_trans(u32* r, u32 addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(addr));
}

template <bool PAGED>
__device__ __forceinline__ long kv_offset(int keyBase, int key, int g, int hd, int ldkv, int kvHeads,
                                          const int* pageTable, int maxPages) {
    if (PAGED) {
        const int page = pageTable[(long)keyBase * maxPages + key / PAGE_TOKENS];
        return (((long)page * kvHeads + g) * PAGE_TOKENS + key % PAGE_TOKENS) * hd;
    }
    return (long)(keyBase + key) * ldkv + (long)g * hd;
}

// ldmatrix without .trans: thread (gq, t4) gets elements 2 t4, 2 t4 + 1 of row gq of each 8x8 matrix, i.e. the
// B fragment of mma m16n8k16 for q k^T straight from a row-major [key][dim] tile (B[dim][key] = K[key][dim]).
// Addresses are 32-bit shared-window ones (shared_address) so constant offsets fold into the instruction.
__device__ __forceinline__ void ldsm_x4(u32* r, u32 addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}

// 16 bytes global -> shared without a register round trip (cp.async, L1 bypassed); srcBytes 0 writes 16 zero
// bytes (keys past the segment's end). Completion: cp_async_commit closes a group, cp_async_wait_all waits
// for this thread's groups (a __syncthreads then publishes them to the block).
__device__ __forceinline__ void cp_async16(u32 dst, const bf16* src, int srcBytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" :: "r"(dst), "l"(src), "r"(srcBytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

// 2^x as one MUFU.EX2 (exp2f adds a denormal fix-up; results below 2^-126 only ever become bf16 P or join a sum
// of terms >= 1, where they vanish anyway).
__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

// pack_bf16 in one instruction (round to nearest even; NaN payloads not kept, so only for P, which is never NaN
// for finite inputs).
__device__ __forceinline__ u32 pack_bf16_rn(float lo, float hi) {
    u32 d;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(d) : "f"(hi), "f"(lo));
    return d;
}

// The pieces both flash kernels (mma.sync and wgmma) share. Fragments follow mma m16n8k16's layouts, which wgmma's
// register operands and accumulators repeat per warp: thread (gq = lane / 4, t4 = lane % 4) holds fragment rows gq
// ("row A") and gq + 8 ("row B"), and of each n-tile of 8 columns the columns 2 t4 and 2 t4 + 1.

// This thread's A fragments of Q (rows qA, qB; liveA, liveB false past the segment's rows: zeros): dims 2 t4.. and
// 2 t4 + 8.. of each k = 16 step, zero past HD.
template <int HD, int KC>
__device__ __forceinline__ void q_fragments(u32 (&qa)[KC][4], const bf16* qA, const bf16* qB, bool liveA, bool liveB, int t4) {
#pragma unroll
    for (int kc = 0; kc < KC; kc++) {
        const int d = kc * 16 + t4 * 2;
        qa[kc][0] = liveA && d < HD ? *(const u32*)(qA + d) : 0u;
        qa[kc][1] = liveB && d < HD ? *(const u32*)(qB + d) : 0u;
        qa[kc][2] = liveA && d + 8 < HD ? *(const u32*)(qA + d + 8) : 0u;
        qa[kc][3] = liveB && d + 8 < HD ? *(const u32*)(qB + d + 8) : 0u;
    }
}

// One key tile of the online softmax, in base 2 on the raw scores: sc holds NT n-tiles of 8 keys (keys key0..), per
// tile row A's two scores then row B's. Keys past limA / limB are masked when the tile reaches past limAll (the
// block's first row's last key: the same for the whole block). The running max m is of q.k, and
// p = exp2(s * scale log2 e - m * scale log2 e) (one FFMA + one EX2 per score); a row with every key so far masked keeps
// max -inf and its exponent base 0, so its p are exp2(-inf) = 0. Turns sc into p, updates the maxima and sums, and
// scales the ON n-tiles of output accumulators o by the rows' corrections, skipped when no row of the warp raised its
// max (the factor would be exactly 1).
template <int NT, int ON>
__device__ __forceinline__ void softmax_tile(float* sc, float* o, int key0, int t4, int limAll, int limA, int limB, float scale2,
                                             float& maxA, float& maxB, float& sumA, float& sumB) {
    if (key0 + NT * 8 - 1 > limAll) {
#pragma unroll
        for (int nt = 0; nt < NT; nt++) {
#pragma unroll
            for (int e = 0; e < 2; e++) {
                const int key = key0 + nt * 8 + t4 * 2 + e;
                if (key > limA) sc[nt * 4 + e] = NEG_INF;
                if (key > limB) sc[nt * 4 + 2 + e] = NEG_INF;
            }
        }
    }
    float newA = maxA, newB = maxB;
#pragma unroll
    for (int nt = 0; nt < NT; nt++) {
        newA = fmaxf(newA, fmaxf(sc[nt * 4], sc[nt * 4 + 1]));
        newB = fmaxf(newB, fmaxf(sc[nt * 4 + 2], sc[nt * 4 + 3]));
    }
    for (int off = 1; off < 4; off <<= 1) {
        newA = fmaxf(newA, __shfl_xor_sync(0xffffffffu, newA, off));
        newB = fmaxf(newB, __shfl_xor_sync(0xffffffffu, newB, off));
    }
    const float baseA = newA == NEG_INF ? 0.f : newA * scale2;
    const float baseB = newB == NEG_INF ? 0.f : newB * scale2;
    const float corrA = newA == maxA ? 1.f : fast_exp2(maxA * scale2 - baseA);
    const float corrB = newB == maxB ? 1.f : fast_exp2(maxB * scale2 - baseB);
    if (__any_sync(0xffffffffu, newA != maxA || newB != maxB)) {
#pragma unroll
        for (int dn = 0; dn < ON; dn++) {
            o[dn * 4] *= corrA;
            o[dn * 4 + 1] *= corrA;
            o[dn * 4 + 2] *= corrB;
            o[dn * 4 + 3] *= corrB;
        }
    }
    maxA = newA;
    maxB = newB;
    float partA = 0.f, partB = 0.f;
#pragma unroll
    for (int nt = 0; nt < NT; nt++) {
        sc[nt * 4] = fast_exp2(fmaf(sc[nt * 4], scale2, -baseA));
        sc[nt * 4 + 1] = fast_exp2(fmaf(sc[nt * 4 + 1], scale2, -baseA));
        sc[nt * 4 + 2] = fast_exp2(fmaf(sc[nt * 4 + 2], scale2, -baseB));
        sc[nt * 4 + 3] = fast_exp2(fmaf(sc[nt * 4 + 3], scale2, -baseB));
        partA += sc[nt * 4] + sc[nt * 4 + 1];
        partB += sc[nt * 4 + 2] + sc[nt * 4 + 3];
    }
    sumA = sumA * corrA + partA;
    sumB = sumB * corrB + partB;
}

// The A fragment of p v for keys 16 kc .. 16 kc + 15, from softmax_tile's p (n-tiles 2 kc and 2 kc + 1).
__device__ __forceinline__ void p_fragment(u32 (&pa)[4], const float* p, int kc) {
    pa[0] = pack_bf16_rn(p[8 * kc], p[8 * kc + 1]);
    pa[1] = pack_bf16_rn(p[8 * kc + 2], p[8 * kc + 3]);
    pa[2] = pack_bf16_rn(p[8 * kc + 4], p[8 * kc + 5]);
    pa[3] = pack_bf16_rn(p[8 * kc + 6], p[8 * kc + 7]);
}

// Completes the rows' sums over their four lanes and writes this thread's part of rows A and B (dstA, dstB: null
// past the segment's rows) from ON n-tiles of output accumulators, normalised, as bf16.
template <int ON>
__device__ __forceinline__ void store_rows(const float* o, float sumA, float sumB, bf16* dstA, bf16* dstB, int t4) {
    for (int off = 1; off < 4; off <<= 1) {
        sumA += __shfl_xor_sync(0xffffffffu, sumA, off);
        sumB += __shfl_xor_sync(0xffffffffu, sumB, off);
    }
    if (dstA) {
        const float inv = 1.0f / sumA;
#pragma unroll
        for (int dn = 0; dn < ON; dn++) *(u32*)(dstA + dn * 8 + t4 * 2) = pack_bf16(o[dn * 4] * inv, o[dn * 4 + 1] * inv);
    }
    if (dstB) {
        const float inv = 1.0f / sumB;
#pragma unroll
        for (int dn = 0; dn < ON; dn++) *(u32*)(dstB + dn * 8 + t4 * 2) = pack_bf16(o[dn * 4 + 2] * inv, o[dn * 4 + 3] * inv);
    }
}

// Flash attention on tensor cores (mma.sync m16n8k16 bf16, fp32 accumulators); each warp owns 16 (query, head)
// rows: 8 warps (128 rows) per block for the direct kernels, so each key tile feeds twice the rows of the paged
// ones' 4 warps (64 rows; decode steps fill one warp with the group's heads).
// Keys stream in tiles of BN through two shared-memory stages: cp.async copies tile t + 1 while tile t is worked
// on, one __syncthreads per tile. Q's A fragments come straight from global memory into registers once; K's B
// fragments by ldmatrix, V's by ldmatrix.trans. The online softmax is softmax_tile's (masking only on tiles past the
// block's first row's last key: non-causal, the segment's last, partial tile); the output rescale is skipped when no
// row of the warp raised its max.
template <int HD, bool PAGED, int WARPS>
__device__ void attention_flash(ATTN_ARGS) {
    constexpr int THREADS = WARPS * 32, BM = WARPS * 16;
    constexpr int BN = HD <= 80 ? 64 : 32;    // keys per tile, a divisor of PAGE_TOKENS; 2 stages of K and V < 48 KB
    constexpr int HDP = (HD + 15) / 16 * 16;  // head dim padded for the k = 16 steps of q k^T
    constexpr int LDS = HDP + 8;              // shared row stride (elements): conflict-free ldmatrix rows
    constexpr int KC = HDP / 16;              // k steps of q k^T
    constexpr int NT = BN / 8;                // n = 8 tiles of the scores
    constexpr int ON = HD / 8;                // n = 8 tiles of the output
    constexpr int CH = HD / 8;                // 16-byte chunks per key row
    constexpr int COPIES = (BN * CH + THREADS - 1) / THREADS;
    constexpr u32 TILE_BYTES = BN * LDS * 2;  // one stage = K tile, then V tile
    __shared__ alignas(16) bf16 sKV[2 * 2 * BN * LDS];  // [stage][K, V][key][dim]
    const u32 sBase = shared_address(sKV);

    const int s = blockIdx.z, g = blockIdx.y;
    const int group = heads / kvHeads;
    const int rows = segRows[s];
    const int mBase = blockIdx.x * BM;
    if (mBase >= rows * group) return;
    const int qRow0 = segQRow[s], keyCount = segKeyCount[s], causalBase = segCausalBase[s], keyBase = segKey[s];
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, gq = lane >> 2, t4 = lane & 3;

    const int iMax = min(rows - 1, (mBase + BM - 1) / group);
    const int keyEnd = causalBase >= 0 ? min(keyCount, causalBase + iMax + 1) : keyCount;
    // the last key every row of the block sees: tiles reaching past it need the mask
    const int limAll = causalBase >= 0 ? min(causalBase + mBase / group, keyCount - 1) : keyCount - 1;

    // tile of keys key0..key0+BN-1 into stage st; keys past the segment's end become zeros
    auto copyTile = [&](int key0, int st) {
        long base;
        if (PAGED) {
            const int page = pageTable[(long)keyBase * maxPages + key0 / PAGE_TOKENS];
            base = (((long)page * kvHeads + g) * PAGE_TOKENS + key0 % PAGE_TOKENS) * HD;
        } else {
            base = (long)(keyBase + key0) * ldkv + (long)g * HD;
        }
        const long stride = PAGED ? HD : ldkv;
#pragma unroll
        for (int u = 0; u < COPIES; u++) {
            const int idx = tid + u * THREADS, j = idx / CH, ch = idx % CH;
            if (BN * CH % THREADS == 0 || idx < BN * CH) {
                const bool live = key0 + j < keyCount;
                const long off = live ? base + j * stride + ch * 8 : 0;
                const u32 dst = sBase + st * 2 * TILE_BYTES + (j * LDS + ch * 8) * 2;
                cp_async16(dst, k + off, live ? 16 : 0);
                cp_async16(dst + TILE_BYTES, v + off, live ? 16 : 0);
            }
        }
        cp_async_commit();
    };
    if (keyEnd > 0) copyTile(0, 0);
    // K's padding dims (HD..HDP-1) meet Q's zero padding in q k^T: zeros, written once (copies never touch them)
    constexpr int PAD = (HDP - HD) / 8, PADS = PAD > 0 ? PAD : 1;  // 16-byte chunks of padding per row
    for (int idx = tid; idx < 2 * BN * PAD; idx += THREADS) {
        const int row = idx / PADS;  // over both stages' K tiles: stage row / BN, key row % BN
        *(Vec16*)(sKV + (row / BN) * 2 * BN * LDS + (row % BN) * LDS + HD + (idx % PADS) * 8) = Vec16{0u, 0u, 0u, 0u};
    }

    // This thread's two rows (fragment rows gq and gq + 8 of its warp) and the last key each may see.
    const int wr = warp * 16;
    const int mA = mBase + wr + gq, mB = mA + 8;
    const int iA = mA / group, iB = mB / group;
    const int limA = causalBase >= 0 ? min(causalBase + iA, keyCount - 1) : keyCount - 1;
    const int limB = causalBase >= 0 ? min(causalBase + iB, keyCount - 1) : keyCount - 1;
    const bool warpActive = mBase + wr < rows * group;

    u32 qa[KC][4];
    q_fragments<HD, KC>(qa, q + (long)(qRow0 + iA) * ldq + (long)(g * group + mA % group) * HD,
                        q + (long)(qRow0 + iB) * ldq + (long)(g * group + mB % group) * HD, iA < rows, iB < rows, t4);

    float o[ON * 4];
#pragma unroll
    for (int i = 0; i < ON * 4; i++) o[i] = 0.f;
    float maxA = NEG_INF, maxB = NEG_INF, sumA = 0.f, sumB = 0.f;
    const float scale2 = scale * 1.4426950408889634f;  // exp(x s) = exp2(x s log2 e)
    // ldmatrix lane addresses: K x4 = (keys +0, dims +0), (keys +0, dims +8), (keys +8, dims +0), (keys +8, dims +8);
    // V x4.trans = (keys +0, dims +0), (keys +8, dims +0), (keys +0, dims +8), (keys +8, dims +8)
    const u32 kLane = sBase + (((lane & 7) + (lane >> 4) * 8) * LDS + ((lane >> 3) & 1) * 8) * 2;
    const u32 vLane = sBase + TILE_BYTES + (((lane & 7) + ((lane >> 3) & 1) * 8) * LDS + (lane >> 4) * 8) * 2;

    int st = 0;
    for (int key0 = 0; key0 < keyEnd; key0 += BN, st ^= 1) {
        cp_async_wait_all();
        __syncthreads();  // tile key0 visible to all; everyone is done with stage st ^ 1 (the previous tile)
        if (key0 + BN < keyEnd) copyTile(key0 + BN, st ^ 1);
        // a warp whose 16 rows are all past the block's (query, head) pairs (decode: 1 row x the group's heads)
        // only helps load and synchronise
        if (!warpActive) continue;
        const u32 stage = st * 2 * TILE_BYTES;
        float sc[NT * 4];
#pragma unroll
        for (int i = 0; i < NT * 4; i++) sc[i] = 0.f;
#pragma unroll
        for (int np = 0; np < NT / 2; np++) {
#pragma unroll
            for (int kc = 0; kc < KC; kc++) {
                u32 b[4];
                ldsm_x4(b, kLane + stage + (np * 16 * LDS + kc * 16) * 2);
                mma_bf16_16816(sc + 8 * np, qa[kc], b[0], b[1]);
                mma_bf16_16816(sc + 8 * np + 4, qa[kc], b[2], b[3]);
            }
        }
        softmax_tile<NT, ON>(sc, o, key0, t4, limAll, limA, limB, scale2, maxA, maxB, sumA, sumB);
#pragma unroll
        for (int kc = 0; kc < BN / 16; kc++) {
            u32 pa[4];
            p_fragment(pa, sc, kc);
            const u32 vTile = vLane + stage + kc * 16 * LDS * 2;
#pragma unroll
            for (int dn = 0; dn + 1 < ON; dn += 2) {
                u32 b[4];
                ldsm_x4_trans(b, vTile + dn * 8 * 2);
                mma_bf16_16816(o + 4 * dn, pa, b[0], b[1]);
                mma_bf16_16816(o + 4 * dn + 4, pa, b[2], b[3]);
            }
            if (ON & 1) {
                u32 b[2];
                ldsm_x2_trans(b, vTile + (ON - 1) * 8 * 2);
                mma_bf16_16816(o + 4 * (ON - 1), pa, b[0], b[1]);
            }
        }
    }
    store_rows<ON>(o, sumA, sumB, iA < rows ? out + (long)(qRow0 + iA) * ldo + (long)(g * group + mA % group) * HD : nullptr,
                   iB < rows ? out + (long)(qRow0 + iB) * ldo + (long)(g * group + mB % group) * HD : nullptr, t4);
}

// The plain version (one warp per (query, head), lanes over head dims, fp32 throughout): a cross-check
// for attention_flash and a fallback (system property lfmcap.cuda.attention=simple). hd <= 128.
// grid (rows x group, kvHeads, segments), block 32.
template <bool PAGED>
__device__ void attention_simple(ATTN_ARGS, int hd) {
    const int s = blockIdx.z, g = blockIdx.y;
    const int group = heads / kvHeads;
    const int rows = segRows[s];
    const int m = blockIdx.x;
    const int i = m / group;
    if (i >= rows) return;
    const int hh = g * group + m % group;
    const int keyCount = segKeyCount[s], causalBase = segCausalBase[s], keyBase = segKey[s];
    const int lim = causalBase >= 0 ? min(causalBase + i, keyCount - 1) : keyCount - 1;
    const int lane = threadIdx.x;
    const bf16* qr = q + (long)(segQRow[s] + i) * ldq + (long)hh * hd;
    float qv[4], ov[4];
    for (int e = 0; e < 4; e++) { const int d = lane + 32 * e; qv[e] = d < hd ? bf2f(qr[d]) : 0.f; ov[e] = 0.f; }
    float mx = NEG_INF, sum = 0.f;
    for (int j = 0; j <= lim; j++) {
        const long off = kv_offset<PAGED>(keyBase, j, g, hd, ldkv, kvHeads, pageTable, maxPages);
        float dot = 0.f;
        for (int e = 0; e < 4; e++) { const int d = lane + 32 * e; if (d < hd) dot += qv[e] * bf2f(k[off + d]); }
        for (int o2 = 16; o2 > 0; o2 >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o2);
        const float sj = dot * scale;
        const float nm = fmaxf(mx, sj);
        const float corr = expf(mx - nm), p = expf(sj - nm);
        sum = sum * corr + p;
        for (int e = 0; e < 4; e++) { const int d = lane + 32 * e; ov[e] = ov[e] * corr + (d < hd ? p * bf2f(v[off + d]) : 0.f); }
        mx = nm;
    }
    bf16* dst = out + (long)(segQRow[s] + i) * ldo + (long)hh * hd;
    for (int e = 0; e < 4; e++) { const int d = lane + 32 * e; if (d < hd) dst[d] = f2bf(ov[e] / sum); }
}

// (threads, blocks per multiprocessor): the direct kernels ask for 2 blocks of 256 threads (<= 128 registers).
// attention_step_hd*: the paged kernel with one warp per block, for passes whose segments fill one warp (a decode
// step: heads-per-kv-head <= 16 rows). The block's other warps would only copy and idle; with one, 5-6 blocks fit per
// multiprocessor on shared memory (two stages of K and V: 37 KB at head dim 64), each with a tile copy in flight.
// The same per-warp arithmetic: its output equals attention_paged_hd*'s bit for bit.
#define FLASH_KERNELS(HD, DIRECT_BLOCKS, PAGED_BLOCKS) \
    extern "C" __global__ void __launch_bounds__(ATTN_DIRECT_WARPS * 32, DIRECT_BLOCKS) attention_hd##HD(ATTN_ARGS) { attention_flash<HD, false, ATTN_DIRECT_WARPS>(ATTN_PASS); } \
    extern "C" __global__ void __launch_bounds__(ATTN_PAGED_WARPS * 32, PAGED_BLOCKS) attention_paged_hd##HD(ATTN_ARGS) { attention_flash<HD, true, ATTN_PAGED_WARPS>(ATTN_PASS); } \
    extern "C" __global__ void __launch_bounds__(32) attention_step_hd##HD(ATTN_ARGS) { attention_flash<HD, true, 1>(ATTN_PASS); }

FLASH_KERNELS(16, 2, 3)
FLASH_KERNELS(32, 2, 3)
FLASH_KERNELS(64, 2, 3)
FLASH_KERNELS(72, 2, 3)
FLASH_KERNELS(128, 2, 3)

// ---------------------------------------------------------------------------------------------
// The direct (vision) attention on Hopper's warpgroup MMA (wgmma, sm_90a), for head dim 72 (so400m): the contract of
// attention_hd* (grid, ATTN_DIRECT_WARPS x 32 threads = two warpgroups of 64 query rows, packed segments, mask)
// with the two products on wgmma:
//   S = Q K^T   A = Q from registers (the mma.sync A fragments of each warp's 16 rows), B = the K tile in shared
//               memory (K-major); head dim 72 is padded to 80 with zeros on both sides
//   O += P V    A = P from registers (S's accumulators packed to bf16: the same layout), B = the V tile read
//               transposed (MN-major)
// Tiles are stored as 8 x 8 core matrices (8 keys x 16 bytes, no swizzle): chunk c (dims 8c .. 8c + 7) of key j at
// byte ((j / 8) * CH + c) * 128 + (j % 8) * 16, so one cp.async writes one core-matrix row and both operands step
// 128 bytes between dim chunks and CH * 128 between groups of 8 keys. Keys stream in tiles of 64 through two stages
// as in attention_flash; each warpgroup waits for its own products (wgmma.wait_group 0) before the softmax and
// before the next tile, and the block's two warpgroups and two blocks per multiprocessor overlap each other.
// attention_bench (26 views x 1024, H100, s5-7): head dim 72 530 us against the mma.sync kernel's 549; at head dim 64
// it is slower (358 against 340 us; with three stages and each P V waited for a tile later, no better), so only
// 72 is built. What it lacks against FlashAttention-3: a producer warp with TMA, and the softmax of one warpgroup
// overlapping the other's products by explicit scheduling.
// Compiled for sm_90a only (KernelModule); on other devices the kernel is empty and Attention never launches it.
// ---------------------------------------------------------------------------------------------
#define ATTN_WG_KERNELS 1

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// Shared-memory matrix descriptor (no swizzle): start address, leading and stride byte offsets, each >> 4.
__device__ __forceinline__ unsigned long long wgmma_desc(u32 addr, u32 leading, u32 stride) {
    return (unsigned long long)((addr & 0x3FFFF) >> 4) | ((unsigned long long)(leading >> 4) << 16)
           | ((unsigned long long)(stride >> 4) << 32);
}
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
// Pins accumulator registers behind the preceding wgmma.wait_group: no read of them may move above it.
template <int N>
__device__ __forceinline__ void fence_operands(float (&r)[N]) {
#pragma unroll
    for (int i = 0; i < N; i++) asm volatile("" : "+f"(r[i])::"memory");
}
// cp.async writes through the generic proxy, wgmma reads through the async proxy
__device__ __forceinline__ void fence_proxy_async_shared() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// D[64 x N] (+)= A[64 x 16] (registers) B[16 x N] (descriptor); TRANS_B 1: B is MN-major. accumulate 0: D = A B.
template <int TRANS_B>
__device__ __forceinline__ void wgmma_m64n64k16(float* d, const u32* a, unsigned long long b, int accumulate) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %38, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {"
        "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, "
        "%12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, "
        "%24, %25, %26, %27, %28, %29, %30, %31"
        "}, {%32, %33, %34, %35}, %36, p, 1, 1, %37;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "n"(TRANS_B), "r"(accumulate));
}

template <int TRANS_B>
__device__ __forceinline__ void wgmma_m64n72k16(float* d, const u32* a, unsigned long long b, int accumulate) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %42, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n72k16.f32.bf16.bf16 {"
        "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, "
        "%12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, "
        "%24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35"
        "}, {%36, %37, %38, %39}, %40, p, 1, 1, %41;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
          "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "n"(TRANS_B), "r"(accumulate));
}

template <int HD>
__device__ void attention_wgmma(ATTN_ARGS) {
    static_assert(ATTN_DIRECT_WARPS == 8, "two warpgroups per block");
    static_assert(HD == 72, "P V is an m64n72 product");
    constexpr int THREADS = 256, BM = 128, BN = 64;
    constexpr int HDP = (HD + 15) / 16 * 16;  // head dim padded for the k = 16 steps of q k^T
    constexpr int CH = HDP / 8;               // 16-byte chunks per key in shared memory (the padding ones zero)
    constexpr int CHL = HD / 8;               // chunks copied per key
    constexpr int KC = HDP / 16;              // k steps of q k^T
    constexpr int NT = BN / 8;                // n = 8 tiles of the scores
    constexpr int ON = HD / 8;                // n = 8 tiles of the output
    constexpr int COPIES = (BN * CHL + THREADS - 1) / THREADS;
    constexpr u32 TILE_BYTES = BN * CH * 16;  // one K or V tile
    constexpr u32 GROUP_BYTES = CH * 128;     // 8 keys
    __shared__ alignas(128) bf16 sKV[2 * 2 * BN * CH * 8];  // [stage][K, V][key group][chunk][key % 8][8 dims]
    const u32 sBase = shared_address(sKV);

    const int s = blockIdx.z, g = blockIdx.y;
    const int group = heads / kvHeads;
    const int rows = segRows[s];
    const int mBase = blockIdx.x * BM;
    if (mBase >= rows * group) return;
    const int qRow0 = segQRow[s], keyCount = segKeyCount[s], causalBase = segCausalBase[s], keyBase = segKey[s];
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, gq = lane >> 2, t4 = lane & 3;
    const int wg = warp >> 2;  // warpgroup: rows 64 wg .. 64 wg + 63 of the block

    const int iMax = min(rows - 1, (mBase + BM - 1) / group);
    const int keyEnd = causalBase >= 0 ? min(keyCount, causalBase + iMax + 1) : keyCount;
    const int limAll = causalBase >= 0 ? min(causalBase + mBase / group, keyCount - 1) : keyCount - 1;

    // tile of keys key0 .. key0 + BN - 1 into stage st (keys past the segment's end become zeros); 8 consecutive
    // threads fill one core matrix (8 keys of one chunk): conflict-free stores, 64-byte runs of each key row read
    auto copyTile = [&](int key0, int st) {
        const long base = (long)(keyBase + key0) * ldkv + (long)g * HD;
#pragma unroll
        for (int u = 0; u < COPIES; u++) {
            const int idx = tid + u * THREADS;
            if (BN * CHL % THREADS == 0 || idx < BN * CHL) {
                const int q8 = idx >> 3, c = q8 % CHL, j = (q8 / CHL) * 8 + (idx & 7);
                const bool live = key0 + j < keyCount;
                const long off = live ? base + (long)j * ldkv + c * 8 : 0;
                const u32 dst = sBase + st * 2 * TILE_BYTES + (j >> 3) * GROUP_BYTES + c * 128 + (j & 7) * 16;
                cp_async16(dst, k + off, live ? 16 : 0);
                cp_async16(dst + TILE_BYTES, v + off, live ? 16 : 0);
            }
        }
        cp_async_commit();
    };
    if (keyEnd > 0) copyTile(0, 0);
    // K's padding chunks meet Q's zero padding in q k^T: zeros, written once (copies never touch them)
    constexpr int PADS = CH - CHL > 0 ? CH - CHL : 1;
    for (int idx = tid; idx < 2 * BN * (CH - CHL); idx += THREADS) {
        const int st = idx / (BN * PADS), rest = idx % (BN * PADS), j = rest % BN, c = CHL + rest / BN;
        *(Vec16*)((char*)sKV + st * 2 * TILE_BYTES + (j >> 3) * GROUP_BYTES + c * 128 + (j & 7) * 16) = Vec16{0u, 0u, 0u, 0u};
    }

    // This thread's two rows (rows gq and gq + 8 of its warp's 16) and the last key each may see.
    const int wr = wg * 64 + (warp & 3) * 16;
    const int mA = mBase + wr + gq, mB = mA + 8;
    const int iA = mA / group, iB = mB / group;
    const int limA = causalBase >= 0 ? min(causalBase + iA, keyCount - 1) : keyCount - 1;
    const int limB = causalBase >= 0 ? min(causalBase + iB, keyCount - 1) : keyCount - 1;
    const bool wgActive = mBase + wg * 64 < rows * group;  // the same for the warpgroup's four warps

    u32 qa[KC][4];
    q_fragments<HD, KC>(qa, q + (long)(qRow0 + iA) * ldq + (long)(g * group + mA % group) * HD,
                        q + (long)(qRow0 + iB) * ldq + (long)(g * group + mB % group) * HD, iA < rows, iB < rows, t4);

    float o[ON * 4];
#pragma unroll
    for (int i = 0; i < ON * 4; i++) o[i] = 0.f;
    float maxA = NEG_INF, maxB = NEG_INF, sumA = 0.f, sumB = 0.f;
    const float scale2 = scale * 1.4426950408889634f;
    // V is MN-major: its leading byte offset steps along K (8 keys), the stride along N (8 dims) (s5-6 on H100: the
    // reverse reading fails the checks)
    constexpr u32 V_LEADING = GROUP_BYTES, V_STRIDE = 128;

    int st = 0;
    for (int key0 = 0; key0 < keyEnd; key0 += BN, st ^= 1) {
        cp_async_wait_all();
        fence_proxy_async_shared();
        __syncthreads();  // tile key0 visible to all; everyone is done with stage st ^ 1 (its products were waited for)
        if (key0 + BN < keyEnd) copyTile(key0 + BN, st ^ 1);
        if (!wgActive) continue;
        const u32 kTile = sBase + st * 2 * TILE_BYTES, vTile = kTile + TILE_BYTES;
        float sc[NT * 4];
        wgmma_fence();
#pragma unroll
        for (int kc = 0; kc < KC; kc++) wgmma_m64n64k16<0>(sc, qa[kc], wgmma_desc(kTile + kc * 256, 128, GROUP_BYTES), kc);
        wgmma_commit();
        wgmma_wait_all();
        fence_operands(sc);
        softmax_tile<NT, ON>(sc, o, key0, t4, limAll, limA, limB, scale2, maxA, maxB, sumA, sumB);
        u32 pa[BN / 16][4];
#pragma unroll
        for (int kc = 0; kc < BN / 16; kc++) p_fragment(pa[kc], sc, kc);
        wgmma_fence();
#pragma unroll
        for (int kc = 0; kc < BN / 16; kc++)
            wgmma_m64n72k16<1>(o, pa[kc], wgmma_desc(vTile + kc * 2 * GROUP_BYTES, V_LEADING, V_STRIDE), 1);
        wgmma_commit();
        wgmma_wait_all();  // before the next tile's __syncthreads lets stage st be refilled
        fence_operands(o);
    }
    store_rows<ON>(o, sumA, sumB, iA < rows ? out + (long)(qRow0 + iA) * ldo + (long)(g * group + mA % group) * HD : nullptr,
                   iB < rows ? out + (long)(qRow0 + iB) * ldo + (long)(g * group + mB % group) * HD : nullptr, t4);
}
#endif

#define WGMMA_KERNEL(HD) \
    extern "C" __global__ void __launch_bounds__(ATTN_DIRECT_WARPS * 32, 2) attention_wg_hd##HD(ATTN_ARGS) { WGMMA_BODY(HD) }
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define WGMMA_BODY(HD) attention_wgmma<HD>(ATTN_PASS);
#else
#define WGMMA_BODY(HD)
#endif
WGMMA_KERNEL(72)

extern "C" __global__ void attention_simple_direct(ATTN_ARGS, int hd) { attention_simple<false>(ATTN_PASS, hd); }
extern "C" __global__ void attention_simple_paged(ATTN_ARGS, int hd) { attention_simple<true>(ATTN_PASS, hd); }
