// Decode-step kernels for small batches (io.lfmcap.cuda.TextDecoder, SmallBatchDecode): at a few rows per
// pass every linear layer is a matrix-vector product bound by reading its weights once, and a decode step is
// bound by how many kernels it launches. These fuse what the general path runs as separate kernels:
//   gemv_rms_rN       out fp32  = RMSNorm(x) W^T          (rms_norm + GEMM)
//   gemv_rms_silu_rN  act bf16  = silu(g) * u, [g | u] = RMSNorm(x) W13^T   (rms_norm + GEMM + silu_mul)
//   gemv_add_rN       out fp32 += in W^T                   (GEMM with beta = 1: the residual add)
//   short_conv_step   short_conv + short_conv_state for one new row per sequence
//   attention_decode  one query row per sequence against its KV pages, split over warps
// with the general path's rounding points: the normalised input is rounded to bf16 exactly as rms_norm
// rounds it, products accumulate in fp32, silu_mul's formula. Compiled after kernels.cu as one NVRTC
// program (io.lfmcap.cuda.KernelModule): bf16, Vec16, f2bf, bf2f and PAGE_TOKENS come from there.

#define GEMV_WARPS 4  // warps per block
#define GEMV_COLS 4   // weight rows per block (SiLU kernels: 2 gate rows and their 2 up rows)

#define GEMV_ARGS const void* __restrict__ in, int rows, const float* __restrict__ normW, float eps, \
    const bf16* __restrict__ w, int nOut, int k, void* __restrict__ out, int ldo
#define GEMV_PASS in, rows, normW, eps, w, nOut, k, out, ldo

enum GemvInput { GEMV_IN_RMS, GEMV_IN_BF16 };
enum GemvOutput { GEMV_OUT_STORE, GEMV_OUT_ADD, GEMV_OUT_SILU };

struct alignas(16) Floats4 { float x, y, z, w; };
struct alignas(8) Floats2 { float x, y; };

// A 16-byte load through the read-only (non-coherent) path: weights, read once per launch.
__device__ __forceinline__ Vec16 load_nc16(const void* p) {
    Vec16 v;
    asm("ld.global.nc.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
    return v;
}

__device__ __forceinline__ u32 shared_u32(const void* p) {
    u32 a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}

// 16 bytes global -> shared without passing through registers (sm_80+), completed by copies_wait_all.
__device__ __forceinline__ void copy_async16(void* sharedDst, const void* src) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" :: "r"(shared_u32(sharedDst)), "l"(src));
}

__device__ __forceinline__ void copies_wait_all() {
    asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::: "memory");
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

// Rows [blockIdx.y * R, + R) of a pass of `rows` rows times GEMV_COLS weight rows per block (SiLU kernels: 2 gate
// rows and their 2 up rows). Input: x fp32 [rows, k] normalised by RMSNorm (HF Lfm2RMSNorm, rms_norm's formula)
// into dynamic shared memory as bf16 [R, k] once per block, or bf16 [rows, k] read straight from global memory
// (L1-resident: a few rows). The block's warps split k (warp w takes the 8-value chunks w, w + 4, ...; 16-byte
// loads of weights and inputs), so that even a projection with few outputs and a long k (the MLP's down
// projection) keeps enough loads in flight; partial sums meet by shuffles, then across warps in shared memory.
// Blocks loop over column groups (grid.x may be smaller than the group count: that bounds the RMSNorm staging).
// Weight chunks are fetched one round ahead, the first before the staging.
template <int R, GemvInput IN, GemvOutput OUT>
__device__ __forceinline__ void gemv(GEMV_ARGS) {
    extern __shared__ __align__(16) unsigned char gemvStage[];
    __shared__ float invRms[R];
    __shared__ float partial[GEMV_WARPS][GEMV_COLS][R];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int r0 = blockIdx.y * R;
    constexpr int OUTS = OUT == GEMV_OUT_SILU ? GEMV_COLS / 2 : GEMV_COLS;  // output columns per block
    constexpr int STEP = GEMV_WARPS * 256;                                   // k per round of the whole block
    const int groups = (nOut + OUTS - 1) / OUTS;
    const int kStart = (warp * 32 + lane) * 8;
    const bf16* wRow[GEMV_COLS];
    auto pointRows = [&](int group) {
#pragma unroll
        for (int j = 0; j < GEMV_COLS; j++) {
            const int c = min(group * OUTS + j % OUTS, nOut - 1);  // past the end: a valid row, result not stored
            wRow[j] = w + (long)(OUT == GEMV_OUT_SILU && j >= OUTS ? nOut + c : c) * k;
        }
    };
    Vec16 wNext[GEMV_COLS];
    auto fetch = [&](int kk) {
#pragma unroll
        for (int j = 0; j < GEMV_COLS; j++) wNext[j] = load_nc16(wRow[j] + kk);
    };
    // the first weight chunk is requested before the input staging, so that its memory latency overlaps it
    if (blockIdx.x < groups) {
        pointRows(blockIdx.x);
        if (kStart < k) fetch(kStart);
    }
    const bf16* src;
    if constexpr (IN == GEMV_IN_RMS) {
        const float* x = (const float*)in;
        for (int r = warp; r < R; r += GEMV_WARPS) {
            float ss = 0.f;
            if (r0 + r < rows) {
                const float* xr = x + (long)(r0 + r) * k;
                for (int i = lane * 4; i < k; i += 128) {
                    const Floats4 v = *(const Floats4*)(xr + i);
                    ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
                }
            }
            ss = warp_sum(ss);
            if (lane == 0) invRms[r] = 1.0f / sqrtf(ss / (float)k + eps);
        }
        __syncthreads();
        bf16* stage = (bf16*)gemvStage;
        for (int idx = threadIdx.x * 2; idx < R * k; idx += blockDim.x * 2) {
            const int r = idx / k, i = idx - r * k;
            Floats2 v = {0.f, 0.f};
            if (r0 + r < rows) v = *(const Floats2*)(x + (long)(r0 + r) * k + i);
            const float inv = invRms[r];
            *(u32*)(stage + idx) = (u32)f2bf(normW[i] * (v.x * inv)) | ((u32)f2bf(normW[i + 1] * (v.y * inv)) << 16);
        }
        __syncthreads();
        src = stage;
    } else {
        src = (const bf16*)in + (long)r0 * k;
    }

    for (int group = blockIdx.x; group < groups; group += gridDim.x) {
        const int c0 = group * OUTS;
        if (group != blockIdx.x) {
            pointRows(group);
            if (kStart < k) fetch(kStart);
        }
        float acc[GEMV_COLS][R];
#pragma unroll
        for (int j = 0; j < GEMV_COLS; j++)
#pragma unroll
            for (int r = 0; r < R; r++) acc[j][r] = 0.f;
        for (int kk = kStart; kk < k; kk += STEP) {
            Vec16 wv[GEMV_COLS];
#pragma unroll
            for (int j = 0; j < GEMV_COLS; j++) wv[j] = wNext[j];
            if (kk + STEP < k) fetch(kk + STEP);  // one chunk ahead
#pragma unroll
            for (int r = 0; r < R; r++) {
                Vec16 xv = {0u, 0u, 0u, 0u};
                if (IN == GEMV_IN_RMS || r0 + r < rows) xv = *(const Vec16*)(src + (long)r * k + kk);
                float xf[8];
                unpack8(xv, xf);
#pragma unroll
                for (int j = 0; j < GEMV_COLS; j++) {
                    float wf[8];
                    unpack8(wv[j], wf);
#pragma unroll
                    for (int e = 0; e < 8; e++) acc[j][r] = fmaf(wf[e], xf[e], acc[j][r]);
                }
            }
        }
#pragma unroll
        for (int j = 0; j < GEMV_COLS; j++)
#pragma unroll
            for (int r = 0; r < R; r++) {
                const float v = warp_sum(acc[j][r]);
                if (lane == 0) partial[warp][j][r] = v;
            }
        __syncthreads();
        for (int t = threadIdx.x; t < OUTS * R; t += blockDim.x) {
            const int j = t / R, r = t % R, c = c0 + j;
            if (c >= nOut || r0 + r >= rows) continue;
            float y = 0.f, u = 0.f;
#pragma unroll
            for (int wp = 0; wp < GEMV_WARPS; wp++) {
                y += partial[wp][j][r];
                if (OUT == GEMV_OUT_SILU) u += partial[wp][j + OUTS][r];
            }
            const long at = (long)(r0 + r) * ldo + c;
            if constexpr (OUT == GEMV_OUT_STORE) {
                ((float*)out)[at] = y;
            } else if constexpr (OUT == GEMV_OUT_ADD) {
                ((float*)out)[at] += y;
            } else {  // silu_mul: silu(g) * u, g = w1 x, u = w3 x
                ((bf16*)out)[at] = f2bf(y / (1.0f + expf(-y)) * u);
            }
        }
        __syncthreads();
    }
}

// grid (column groups or fewer, ceil(rows / N)), block 128; dynamic shared memory N * k * 2 bytes (RMS kernels).
extern "C" __global__ void __launch_bounds__(128) gemv_rms_r1(GEMV_ARGS) { gemv<1, GEMV_IN_RMS, GEMV_OUT_STORE>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_r2(GEMV_ARGS) { gemv<2, GEMV_IN_RMS, GEMV_OUT_STORE>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_r4(GEMV_ARGS) { gemv<4, GEMV_IN_RMS, GEMV_OUT_STORE>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_r8(GEMV_ARGS) { gemv<8, GEMV_IN_RMS, GEMV_OUT_STORE>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_silu_r1(GEMV_ARGS) { gemv<1, GEMV_IN_RMS, GEMV_OUT_SILU>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_silu_r2(GEMV_ARGS) { gemv<2, GEMV_IN_RMS, GEMV_OUT_SILU>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_silu_r4(GEMV_ARGS) { gemv<4, GEMV_IN_RMS, GEMV_OUT_SILU>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_rms_silu_r8(GEMV_ARGS) { gemv<8, GEMV_IN_RMS, GEMV_OUT_SILU>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_add_r1(GEMV_ARGS) { gemv<1, GEMV_IN_BF16, GEMV_OUT_ADD>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_add_r2(GEMV_ARGS) { gemv<2, GEMV_IN_BF16, GEMV_OUT_ADD>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_add_r4(GEMV_ARGS) { gemv<4, GEMV_IN_BF16, GEMV_OUT_ADD>(GEMV_PASS); }
extern "C" __global__ void __launch_bounds__(128) gemv_add_r8(GEMV_ARGS) { gemv<8, GEMV_IN_BF16, GEMV_OUT_ADD>(GEMV_PASS); }

// short_conv and short_conv_state of kernels.cu for a pass of one new row per sequence (row s = segment s):
// y = C * sum_k taps[c][k] * U[k] over (state ++ B*X), same summation order; then the state drops its oldest U.
// grid (ceil(H/256), segments), block 256.
extern "C" __global__ void short_conv_step(const float* __restrict__ bcx, int H, const float* __restrict__ taps, int L,
                                           float* __restrict__ state, long slotStride, const int* __restrict__ segSlot,
                                           bf16* __restrict__ y) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    const int s = blockIdx.y;
    if (c >= H) return;
    float* st = state + (long)segSlot[s] * slotStride;
    const float* row = bcx + (long)s * 3 * H;
    const float u = row[c] * row[2 * H + c];
    float acc = 0.f;
    for (int k = 0; k < L; k++) {
        const float uk = k < L - 1 ? st[(long)k * H + c] : u;
        const float term = __fmul_rn(taps[(long)c * L + k], uk);
        acc = k == 0 ? term : __fadd_rn(acc, term);
    }
    for (int j = 0; j + 1 < L - 1; j++) st[(long)j * H + c] = st[(long)(j + 1) * H + c];
    if (L > 1) st[(long)(L - 2) * H + c] = u;
    y[(long)s * H + c] = f2bf(row[H + c] * acc);
}

// Decode attention: query row s (one per segment) of the heads of kv head g against keys 0..segKeyCount[s]-1
// in the pages of slot segSlot[s] (KV pools [page][kvHead][PAGE_TOKENS][hd], kernels.cu). Each warp takes every
// fourth run of 32 keys: lane = key for the scores (fp32 dot of bf16 q and k; the key row's loads all in flight
// at once, the run's V rows copied to shared memory meanwhile by cp.async), an online softmax per head, then
// lane = head dim for p v; the four warps' (max, sum, output) merge in shared memory. fp32 softmax and
// accumulation throughout (the paged flash kernel rounds p to bf16 before p v). hd <= 128, heads / kvHeads <= 8.
// grid (kvHeads, segments), block 128.
#define DEC_WARPS 4
#define DEC_GROUP 8
extern "C" __global__ void __launch_bounds__(128) attention_decode(const bf16* __restrict__ q, int ldq,
        const bf16* __restrict__ kPool, const bf16* __restrict__ vPool, bf16* __restrict__ out, int ldo, int heads,
        int kvHeads, int hd, float scale, const int* __restrict__ segSlot, const int* __restrict__ segKeyCount,
        const int* __restrict__ pageTable, int maxPages) {
    __shared__ float sq[DEC_GROUP][128];
    __shared__ float sp[DEC_WARPS][DEC_GROUP][32];
    __shared__ float sMax[DEC_WARPS][DEC_GROUP], sSum[DEC_WARPS][DEC_GROUP];
    __shared__ alignas(16) bf16 sV[DEC_WARPS][32 * 128];  // each warp's run of V rows; then the warps' outputs
    float (*sOut)[DEC_GROUP][128] = (float (*)[DEC_GROUP][128])&sV[0][0];  // [DEC_WARPS][DEC_GROUP][128], after the loop
    const int g = blockIdx.x, s = blockIdx.y, group = heads / kvHeads;
    const int keys = segKeyCount[s];
    const int* pages = pageTable + (long)segSlot[s] * maxPages;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int i = threadIdx.x; i < group * hd; i += blockDim.x)
        sq[i / hd][i % hd] = bf2f(q[(long)s * ldq + (long)g * group * hd + i]);
    __syncthreads();

    float mx[DEC_GROUP], sum[DEC_GROUP], o[DEC_GROUP][4];
#pragma unroll
    for (int h = 0; h < DEC_GROUP; h++) {
        mx[h] = NEG_INF;
        sum[h] = 0.f;
        o[h][0] = o[h][1] = o[h][2] = o[h][3] = 0.f;
    }
    for (int base = warp * 32; base < keys; base += DEC_WARPS * 32) {
        const int key = base + lane;
        const bool valid = key < keys;
        // runs of 32 keys never straddle a page (PAGE_TOKENS is a multiple of 32)
        const long pageBase = ((long)pages[base / PAGE_TOKENS] * kvHeads + g) * PAGE_TOKENS * hd;
        // the run's V rows go to shared memory asynchronously while the scores are computed
        const int n = min(32, keys - base);
        const Vec16* vSrc = (const Vec16*)(vPool + pageBase + (long)(base % PAGE_TOKENS) * hd);
        Vec16* vDst = (Vec16*)sV[warp];
        for (int c = lane; c < n * hd / 8; c += 32) copy_async16(vDst + c, vSrc + c);
        // this lane's key row, every load issued before any is used
        Vec16 kv[16];
        const bf16* kr = kPool + pageBase + (long)(key % PAGE_TOKENS) * hd;
#pragma unroll
        for (int c = 0; c < 16; c++)
            if (valid && c * 8 < hd) kv[c] = *(const Vec16*)(kr + c * 8);
        float sc[DEC_GROUP];
#pragma unroll
        for (int h = 0; h < DEC_GROUP; h++) sc[h] = 0.f;
#pragma unroll
        for (int c = 0; c < 16; c++) {
            if (c * 8 >= hd) break;
            float kf[8];
            unpack8(kv[c], kf);
#pragma unroll
            for (int h = 0; h < DEC_GROUP; h++) {
                if (h >= group) break;
#pragma unroll
                for (int e = 0; e < 8; e++) sc[h] = fmaf(sq[h][c * 8 + e], kf[e], sc[h]);
            }
        }
#pragma unroll
        for (int h = 0; h < DEC_GROUP; h++) {
            if (h >= group) break;
            const float v = valid ? sc[h] * scale : NEG_INF;
            const float nm = fmaxf(mx[h], warp_max(v));  // finite: lane 0's key is valid
            const float corr = expf(mx[h] - nm);
            const float p = valid ? expf(v - nm) : 0.f;
            sum[h] = sum[h] * corr + warp_sum(p);
#pragma unroll
            for (int e = 0; e < 4; e++) o[h][e] *= corr;
            mx[h] = nm;
            sp[warp][h][lane] = p;
        }
        copies_wait_all();
        __syncwarp();
        const bf16* vr = sV[warp];
        for (int j = 0; j < n; j++, vr += hd) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int d = lane + 32 * e;
                if (d >= hd) break;
                const float vf = bf2f(vr[d]);
#pragma unroll
                for (int h = 0; h < DEC_GROUP; h++) {
                    if (h >= group) break;
                    o[h][e] = fmaf(sp[warp][h][j], vf, o[h][e]);
                }
            }
        }
        __syncwarp();
    }
    __syncthreads();  // sOut overlays sV
#pragma unroll
    for (int h = 0; h < DEC_GROUP; h++) {
        if (h >= group) break;
        if (lane == 0) {
            sMax[warp][h] = mx[h];
            sSum[warp][h] = sum[h];
        }
#pragma unroll
        for (int e = 0; e < 4; e++)
            if (lane + 32 * e < hd) sOut[warp][h][lane + 32 * e] = o[h][e];
    }
    __syncthreads();
    for (int i = threadIdx.x; i < group * hd; i += blockDim.x) {
        const int h = i / hd, d = i % hd;
        float m = NEG_INF;
        for (int w = 0; w < DEC_WARPS; w++) m = fmaxf(m, sMax[w][h]);
        float total = 0.f, acc = 0.f;
        for (int w = 0; w < DEC_WARPS; w++) {
            if (sMax[w][h] == NEG_INF) continue;  // a warp that had no keys
            const float f = expf(sMax[w][h] - m);
            total += sSum[w][h] * f;
            acc += sOut[w][h][d] * f;
        }
        out[(long)s * ldo + (long)(g * group + h) * hd + d] = f2bf(acc / total);
    }
}
