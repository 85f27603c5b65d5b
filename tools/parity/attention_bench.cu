// Standalone check and timing of the flash attention kernels of kernels.cu without Java (tools/parity/attention_bench.sh
// builds it). The kernels source is compiled into this file as the runtime's NVRTC program is (kernels.cu, then
// decode.cu); ATTN_KERNELS_SOURCE names another concatenation (the baseline built from git HEAD).
// Launches match io.lfmcap.cuda.Attention:
//   attention_hd<D>        grid (ceil(maxRows x group / rowsPerBlock), kvHeads, segments), rowsPerBlock = 16 x warps
//   attention_paged_hd<D>  the same with the paged kernels' warps
//   attention_simple_*     grid (maxRows x group, kvHeads, segments), block 32 (the fp32 reference)
// Sources without ATTN_DIRECT_WARPS (before the 8-warp direct kernels) use 64 rows / 128 threads for both.
//
// usage: attention_bench [views=26] [timed launches=20]
//   1. checks every head dim (16, 32, 64, 72, 128) against attention_simple_*: direct (vision: views of 1, 77, 300 and
//      1024 rows; non-causal and causal) and paged causal grouped-query (group 2 and 4; 1 and 37 query rows; 300 keys)
//   2. times the vision shapes (views x 1024 patches: 12 heads x 64 = SigLIP2 base, 16 heads x 72 = so400m) and a
//      decoder prefill (paged causal, 16 sequences x 512 rows, 32 heads over 8 kv heads, hd 64)
// Exit status 1 when a check fails (max |error| / max |reference| above 2e-2, or a non-finite output).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <vector>
#include <algorithm>
#include <cuda_runtime.h>
#include "cuda_check.h"

#ifdef ATTN_KERNELS_SOURCE
#include ATTN_KERNELS_SOURCE
#else
#include "../../runtime/src/main/resources/io/lfmcap/cuda/kernels.cu"
#include "../../runtime/src/main/resources/io/lfmcap/cuda/decode.cu"
#endif

#ifdef ATTN_DIRECT_WARPS
static const int DIRECT_WARPS = ATTN_DIRECT_WARPS, PAGED_WARPS = ATTN_PAGED_WARPS;
#else
static const int DIRECT_WARPS = 4, PAGED_WARPS = 4;
#endif


typedef void (*AttnKernel)(ATTN_ARGS);
typedef void (*SimpleKernel)(ATTN_ARGS, int);


// ATTN_WG=1 in the environment: head dim 72 through the wgmma kernel (sm_90a), as Attention picks it on H100
static AttnKernel directKernel(int hd) {
#ifdef ATTN_WG_KERNELS
    if (getenv("ATTN_WG") && hd == 72) return attention_wg_hd72;
#endif
    switch (hd) {
        case 16: return attention_hd16;
        case 32: return attention_hd32;
        case 64: return attention_hd64;
        case 72: return attention_hd72;
        default: return attention_hd128;
    }
}

static AttnKernel pagedKernel(int hd) {
    switch (hd) {
        case 16: return attention_paged_hd16;
        case 32: return attention_paged_hd32;
        case 64: return attention_paged_hd64;
        case 72: return attention_paged_hd72;
        default: return attention_paged_hd128;
    }
}

// ------------------------------------------------------------------------------------------- host data

static unsigned long long rngState = 0x9e3779b97f4a7c15ull;
static double uniform() {
    rngState = rngState * 6364136223846793005ull + 1442695040888963407ull;
    return ((rngState >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
static float gauss() { return (float)(sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform())); }

static unsigned short toBf16(float f) {
    unsigned u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
}
static float fromBf16(unsigned short h) {
    unsigned u = (unsigned)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static bf16* randomBf16(size_t n, float sd) {
    std::vector<unsigned short> h(n);
    for (size_t i = 0; i < n; i++) h[i] = toBf16(gauss() * sd);
    bf16* d;
    CK(cudaMalloc(&d, n * 2));
    CK(cudaMemcpy(d, h.data(), n * 2, cudaMemcpyHostToDevice));
    return d;
}

static int* deviceInts(const std::vector<int>& v) {
    int* d;
    CK(cudaMalloc(&d, std::max<size_t>(1, v.size()) * 4));
    if (!v.empty()) CK(cudaMemcpy(d, v.data(), v.size() * 4, cudaMemcpyHostToDevice));
    return d;
}

static bf16* poisoned(size_t n) {  // 0xffff = NaN: rows a kernel forgets stay NaN
    bf16* d;
    CK(cudaMalloc(&d, n * 2));
    CK(cudaMemset(d, 0xff, n * 2));
    return d;
}

static std::vector<float> readBf16(const bf16* d, size_t n) {
    std::vector<unsigned short> h(n);
    CK(cudaMemcpy(h.data(), d, n * 2, cudaMemcpyDeviceToHost));
    std::vector<float> f(n);
    for (size_t i = 0; i < n; i++) f[i] = fromBf16(h[i]);
    return f;
}

// ------------------------------------------------------------------------------------------- one problem

// Segments of one attention call, as io.lfmcap.cuda.Attention.run takes them.
struct Problem {
    int hd, heads, kvHeads;
    bool paged;
    std::vector<int> qRow, rows, key, keyCount, causal;  // per segment
    std::vector<int> pageTable;                          // paged: [slot][maxPages]
    int maxPages = 0;
    int totalRows = 0, maxRows = 0;
    // device
    bf16 *q = nullptr, *k = nullptr, *v = nullptr;
    int ldq = 0, ldkv = 0, ldo = 0;
    int *dQRow, *dRows, *dKey, *dKeyCount, *dCausal, *dPages;

    int group() const { return heads / kvHeads; }
    int segments() const { return (int)rows.size(); }
    float scale() const { return 1.0f / sqrtf((float)hd); }
    void upload() {
        dQRow = deviceInts(qRow);
        dRows = deviceInts(rows);
        dKey = deviceInts(key);
        dKeyCount = deviceInts(keyCount);
        dCausal = deviceInts(causal);
        dPages = deviceInts(pageTable);
        for (size_t s = 0; s < rows.size(); s++) maxRows = std::max(maxRows, rows[s]);
    }
    void release() {
        cudaFree(dQRow); cudaFree(dRows); cudaFree(dKey); cudaFree(dKeyCount); cudaFree(dCausal); cudaFree(dPages);
        if (paged) { cudaFree(q); cudaFree(k); cudaFree(v); } else cudaFree(q);  // direct: k, v point into q's qkv buffer
    }
    void flash(bf16* out) const {
        const int warps = paged ? PAGED_WARPS : DIRECT_WARPS, bm = 16 * warps;
        dim3 grid((unsigned)(((long)maxRows * group() + bm - 1) / bm), kvHeads, segments());
        (paged ? pagedKernel(hd) : directKernel(hd))<<<grid, 32 * warps>>>(q, ldq, k, v, ldkv, out, ldo, heads, kvHeads, scale(),
                                                                            dQRow, dRows, dKey, dKeyCount, dCausal, dPages, maxPages);
    }
    void simple(bf16* out) const {
        dim3 grid((unsigned)((long)maxRows * group()), kvHeads, segments());
        (paged ? attention_simple_paged : attention_simple_direct)<<<grid, 32>>>(q, ldq, k, v, ldkv, out, ldo, heads, kvHeads, scale(),
                                                                                 dQRow, dRows, dKey, dKeyCount, dCausal, dPages, maxPages, hd);
    }
    size_t outElems() const { return (size_t)totalRows * ldo; }
};

// Vision layout (io.lfmcap.cuda.VisionTower): one qkv buffer [rows][3 dim], q | k | v; views packed, keys = the view's rows.
static Problem direct(int hd, int heads, const std::vector<int>& sizes, bool causal) {
    Problem p;
    p.hd = hd; p.heads = heads; p.kvHeads = heads; p.paged = false;
    const int dim = heads * hd;
    for (int n : sizes) {
        p.qRow.push_back(p.totalRows); p.key.push_back(p.totalRows);
        p.rows.push_back(n); p.keyCount.push_back(n);
        p.causal.push_back(causal ? 0 : -1);
        p.totalRows += n;
    }
    p.q = randomBf16((size_t)p.totalRows * 3 * dim, 1.2f);
    p.k = p.q + dim;
    p.v = p.q + 2 * dim;
    p.ldq = p.ldkv = 3 * dim;
    p.ldo = dim;
    p.upload();
    return p;
}

// Decoder layout (io.lfmcap.cuda.TextDecoder / KvCachePool): q [rows][heads hd]; K, V pools [page][kvHead][PAGE_TOKENS][hd];
// segment s = rows[s] new rows at positions start[s].. of sequence slot s, keys 0..start[s] + rows[s] - 1.
static Problem paged(int hd, int group, int kvHeads, const std::vector<int>& start, const std::vector<int>& rowsPer) {
    Problem p;
    p.hd = hd; p.heads = kvHeads * group; p.kvHeads = kvHeads; p.paged = true;
    int maxKeys = 0;
    for (size_t s = 0; s < start.size(); s++) maxKeys = std::max(maxKeys, start[s] + rowsPer[s]);
    p.maxPages = (maxKeys + PAGE_TOKENS - 1) / PAGE_TOKENS;
    const int slots = (int)start.size(), pages = slots * p.maxPages + 3;
    // pages of each slot scattered over the pool (a permutation, offset so slot 0 does not start at page 0)
    for (int i = 0; i < slots * p.maxPages; i++) p.pageTable.push_back((int)(((long)i * 7 + 3) % pages));
    for (size_t s = 0; s < start.size(); s++) {
        p.qRow.push_back(p.totalRows); p.rows.push_back(rowsPer[s]); p.key.push_back((int)s);
        p.keyCount.push_back(start[s] + rowsPer[s]); p.causal.push_back(start[s]);
        p.totalRows += rowsPer[s];
    }
    const size_t pool = (size_t)pages * kvHeads * PAGE_TOKENS * hd;
    p.q = randomBf16((size_t)p.totalRows * p.heads * hd, 1.2f);
    p.k = randomBf16(pool, 1.0f);
    p.v = randomBf16(pool, 1.0f);
    p.ldq = p.ldo = p.heads * hd;
    p.ldkv = 0;
    p.upload();
    return p;
}

struct Errors {
    double maxAbs = 0, maxRef = 0, l2Err = 0, l2Ref = 0;
    bool finite = true;
    double relMax() const { return maxAbs / std::max(maxRef, 1e-30); }
    double relL2() const { return sqrt(l2Err / std::max(l2Ref, 1e-30)); }
};

// flash vs simple over the rows each segment owns (columns of the heads only: ldo may be wider)
static Errors compare(const Problem& p) {
    bf16* a = poisoned(p.outElems());
    bf16* b = poisoned(p.outElems());
    p.flash(a);
    CK(cudaGetLastError());
    p.simple(b);
    CK(cudaGetLastError());
    CK(cudaDeviceSynchronize());
    std::vector<float> got = readBf16(a, p.outElems()), ref = readBf16(b, p.outElems());
    Errors e;
    for (int s = 0; s < p.segments(); s++)
        for (int i = 0; i < p.rows[s]; i++)
            for (int c = 0; c < p.heads * p.hd; c++) {
                const size_t at = (size_t)(p.qRow[s] + i) * p.ldo + c;
                const double g = got[at], r = ref[at];
                if (!std::isfinite(g) || !std::isfinite(r)) e.finite = false;
                e.maxAbs = std::max(e.maxAbs, fabs(g - r));
                e.maxRef = std::max(e.maxRef, fabs(r));
                e.l2Err += (g - r) * (g - r);
                e.l2Ref += r * r;
            }
    cudaFree(a);
    cudaFree(b);
    return e;
}

static int failures = 0;

static void report(const char* what, const Errors& e) {
    const bool ok = e.finite && e.relMax() < 2e-2;
    if (!ok) failures++;
    printf("  %-58s max|err| %.3e (max|ref| %.2f, %.2e of it), L2 rel %.2e  %s\n", what, e.maxAbs, e.maxRef, e.relMax(), e.relL2(),
           ok ? "ok" : (e.finite ? "FAIL" : "FAIL (non-finite)"));
}

static void kernelInfo(const char* name, const void* fn, int threads) {
    cudaFuncAttributes a;
    CK(cudaFuncGetAttributes(&a, fn));
    int blocks = 0;
    CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, fn, threads, 0));
    printf("  %-24s %3d registers, %5zu B shared, %3zu B local (spill), %d threads: %d blocks (%d warps) per SM\n", name, a.numRegs,
           a.sharedSizeBytes, a.localSizeBytes, threads, blocks, blocks * threads / 32);
}

// us per launch over `launches` back-to-back launches (after 3 warm-up launches)
static double timeFlash(const Problem& p, bf16* out, int launches) {
    for (int i = 0; i < 3; i++) p.flash(out);
    CK(cudaGetLastError());
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    CK(cudaEventRecord(e0));
    for (int i = 0; i < launches; i++) p.flash(out);
    CK(cudaEventRecord(e1));
    CK(cudaEventSynchronize(e1));
    CK(cudaGetLastError());
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    return ms * 1000.0 / launches;
}

int main(int argc, char** argv) {
    const int views = argc > 1 ? atoi(argv[1]) : 26;
    const int launches = argc > 2 ? atoi(argv[2]) : 20;
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("%s (sm_%d%d, %d SMs); kernels: %s; direct %d rows / %d threads per block, paged %d / %d\n", prop.name, prop.major,
           prop.minor, prop.multiProcessorCount,
#ifdef ATTN_KERNELS_SOURCE
           ATTN_KERNELS_SOURCE,
#else
           "working tree",
#endif
           16 * DIRECT_WARPS, 32 * DIRECT_WARPS, 16 * PAGED_WARPS, 32 * PAGED_WARPS);

    printf("kernels:\n");
    kernelInfo("attention_hd64", (const void*)attention_hd64, 32 * DIRECT_WARPS);
    kernelInfo("attention_hd72", (const void*)attention_hd72, 32 * DIRECT_WARPS);
    kernelInfo("attention_paged_hd64", (const void*)attention_paged_hd64, 32 * PAGED_WARPS);
#ifdef ATTN_WG_KERNELS
    kernelInfo("attention_wg_hd72", (const void*)attention_wg_hd72, 32 * DIRECT_WARPS);
#endif
    kernelInfo("attention_paged_hd72", (const void*)attention_paged_hd72, 32 * PAGED_WARPS);

    printf("checks against attention_simple_* (fp32 reference):\n");
    const int hds[] = {16, 32, 64, 72, 128};
    char what[128];
    for (int hd : hds) {
        for (int causal = 0; causal < 2; causal++) {
            Problem p = direct(hd, 3, {1, 77, 300, 1024}, causal);
            snprintf(what, sizeof what, "direct hd %d, views 1/77/300/1024 rows, %s", hd, causal ? "causal" : "bidirectional");
            report(what, compare(p));
            p.release();
        }
        for (int group : {2, 4}) {
            // 37 rows continuing at 263 (keys 0..299), 1 decode row at 299 (300 keys), 37 fresh rows, 1 row at position 0
            Problem p = paged(hd, group, 2, {263, 299, 0, 0}, {37, 1, 37, 1});
            snprintf(what, sizeof what, "paged causal hd %d, group %d, rows 37/1/37/1, keys 300/300/37/1", hd, group);
            report(what, compare(p));
            p.release();
        }
    }

    printf("timing (%d launches each):\n", launches);
    struct Shape { const char* name; int hd, heads; };
    const Shape shapes[] = {{"SigLIP2 base (12 heads x 64)", 64, 12}, {"SigLIP2 so400m (16 heads x 72)", 72, 16}};
    for (const Shape& sh : shapes) {
        Problem p = direct(sh.hd, sh.heads, std::vector<int>(views, 1024), false);
        snprintf(what, sizeof what, "%s, %d views x 1024 vs simple", sh.name, views);
        report(what, compare(p));
        bf16* out = poisoned(p.outElems());
        const double us = timeFlash(p, out, launches);
        const double flop = 4.0 * views * 1024.0 * 1024.0 * sh.hd * sh.heads;
        printf("  attention_hd%d %s, %d views x 1024: %.1f us per launch, %.1f TFLOP/s\n", sh.hd, sh.name, views, us, flop / us * 1e-6);
        cudaFree(out);
        p.release();
    }
    {
        std::vector<int> start(16, 0), rowsPer(16, 512);
        Problem p = paged(64, 4, 8, start, rowsPer);
        report("decoder prefill: paged causal, 16 x 512 rows, 32/8 heads x 64", compare(p));
        bf16* out = poisoned(p.outElems());
        const double us = timeFlash(p, out, launches);
        const double flop = 4.0 * 16 * (512.0 * 513.0 / 2) * 64 * 32;  // causal: keys 1..512 per row
        printf("  attention_paged_hd64 decoder prefill 16 x 512: %.1f us per launch, %.1f TFLOP/s (causal FLOP)\n", us, flop / us * 1e-6);
        cudaFree(out);
        p.release();
    }
    printf(failures ? "%d check(s) FAILED\n" : "all checks passed\n", failures);
    return failures ? 1 : 0;
}
