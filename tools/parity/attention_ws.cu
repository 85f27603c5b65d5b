// An experiment, not in the runtime: head-dim-64 vision attention on wgmma with warp specialization (tenth session,
// docs/PERF_NOTES.md "Tenth session"). attention_bench.cu includes it after the kernels (not in the _base build) and
// runs head dim 64 of its direct checks and timings through it with ATTN_WS=1 (plain), 2 (FlashAttention-3's
// intra-warpgroup order) or 3 (the consumer warpgroups taking turns at the tensor cores).
//
// Measured on the H200 (attention_bench, 26 views x 1024 patches, 12 heads; the runtime's mma.sync kernel: 342 us):
//   one block per work item (s10-9): ATTN_WS=1 394 us, 2 401 us
//   persistent, one block per SM walking the work items (s10-10 .. s10-11): 1 356-357 us, 2 408 us, 3 391 us
// Every check against the fp32 kernel passes. ncu (s10-10 .. s10-12): tensor pipe 22-25% active, issue slots 32-38%
// busy; long-scoreboard stalls take ~36% of the warp samples (not yet located: the consumers' mbarrier waits, paced
// by the producer's cp.async.wait_group, are the first suspect; then Q's fragment loads at each work item).
// Since s10-12 (not yet run): the producer gets 56 registers instead of 40 (and the consumers 224 instead of 232): at 40
// ptxas spilled 16 bytes in the producer's loop, local loads that stall it on the long scoreboard and so pace every
// consumer's wait on `full`; at 56 no kernel spills. Run this build first: if the stalls were the spill, the overlap
// schedules (ATTN_WS=2, 3) should now gain instead of lose. Also since then: each consumer requests the next work
// item's Q fragments when it starts an item (16 more registers), so an item's start no longer waits on global loads.
// Left to try: TMA (cp.async.bulk.tensor) for K and V so the producer neither waits nor fences; 128-key tiles (a tile width as a template parameter crashed cicc 13.0:
// write it as a constant of the MODE instantiation).
// Warpgroup 0 copies K and V
// tiles into STAGES shared-memory stages (cp.async, then its own wait, the proxy fence and an arrive on the stage's
// `full` mbarrier); warpgroups 1 and 2 each own 64 query rows, wait on `full`, and arrive on `empty` when both
// products of a tile are done. No block barrier in the loop, so the two consumer warpgroups drift apart and one's
// softmax runs under the other's products. setmaxnreg gives the producer 56 registers and the consumers 224.
#define ATTN_WS_KERNELS 1
#define WS_STAGES 4
#define WS_LAG 2  // the producer signals tile t - WS_LAG after committing tile t (WS_LAG <= WS_STAGES - 2)
constexpr unsigned WS_SMEM_BYTES = 2 * WS_STAGES * 64 * 64 * 2 + 2 * WS_STAGES * 8;
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
__device__ __forceinline__ void mbar_init(u32 bar, u32 count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_arrive(u32 bar) {
    asm volatile("{\n.reg .b64 st;\nmbarrier.arrive.shared::cta.b64 st, [%0];\n}\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_wait(u32 bar, u32 parity) {
    asm volatile("{\n.reg .pred p;\nWS_WAIT:\nmbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n@!p bra WS_WAIT;\n}\n"
                 ::"r"(bar), "r"(parity) : "memory");
}

template <int NT>
__device__ __forceinline__ void softmax_scores(float* sc, int key0, int t4, int limAll, int limA, int limB, float scale2,
                                               float& maxA, float& maxB, float& sumA, float& sumB, float& corrA, float& corrB) {
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
    corrA = newA == maxA ? 1.f : fast_exp2(maxA * scale2 - baseA);
    corrB = newB == maxB ? 1.f : fast_exp2(maxB * scale2 - baseB);
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

template <int ON>
__device__ __forceinline__ void rescale_rows(float* o, float corrA, float corrB) {
#pragma unroll
    for (int dn = 0; dn < ON; dn++) {
        o[dn * 4] *= corrA;
        o[dn * 4 + 1] *= corrA;
        o[dn * 4 + 2] *= corrB;
        o[dn * 4 + 3] *= corrB;
    }
}

__device__ __forceinline__ void ws_turn_begin(int cw) { asm volatile("bar.sync %0, 256;\n" ::"r"(1 + cw) : "memory"); }
__device__ __forceinline__ void ws_turn_end(int cw) { asm volatile("bar.arrive %0, 256;\n" ::"r"(2 - cw) : "memory"); }
template <bool B> struct WsFlag { static constexpr bool value = B; };

// MODE 0: S(t), softmax, P(t) V(t) in turn; 1: S(t + 1) issued before P(t) V(t); 2: 0 with turns at the tensor cores
template <int MODE>  // (a tile width as a template parameter crashed cicc 13.0 here)
__device__ void attention_wgmma_ws(ATTN_ARGS, int mBlocks, int segments) {
    constexpr int BN = 64;
    constexpr int HD = 64, BM = 128, STAGES = WS_STAGES;
    constexpr int CH = HD / 8, KC = HD / 16, NT = BN / 8, ON = HD / 8;
    constexpr u32 TILE_BYTES = BN * CH * 16, GROUP_BYTES = CH * 128;
    extern __shared__ __align__(128) unsigned char wsSmem[];
    const u32 sBase = shared_address(wsSmem);
    const u32 kBase = sBase, vBase = sBase + STAGES * TILE_BYTES, barBase = sBase + 2 * STAGES * TILE_BYTES;
    const int group = heads / kvHeads, items = mBlocks * kvHeads * segments;
    const int tid = threadIdx.x, lane = tid & 31, gq = lane >> 2, t4 = lane & 3;
    const int wgIdx = __shfl_sync(0xffffffffu, tid >> 7, 0);
    if (tid == 0) {
        for (int st = 0; st < STAGES; st++) {
            mbar_init(barBase + st * 8, 128);             // full: the producer's 128 threads
            mbar_init(barBase + (STAGES + st) * 8, 256);  // empty: both consumer warpgroups' threads
        }
    }
    __syncthreads();
    // Work item -> (segment, kv head, block of 128 rows); both roles walk the same items and tiles, the running tile
    // count n naming the stage (n % STAGES) and the barrier phase (n / STAGES).
    struct Item { int s, g, mBase, rows, keyEnd, limAll, tiles; };
    auto item = [&](int w, Item& it) {
        it.s = w / (mBlocks * kvHeads);
        it.g = (w / mBlocks) % kvHeads;
        it.mBase = (w % mBlocks) * BM;
        it.rows = segRows[it.s];
        if (it.mBase >= it.rows * group) return false;
        const int keyCount = segKeyCount[it.s], causalBase = segCausalBase[it.s];
        const int iMax = min(it.rows - 1, (it.mBase + BM - 1) / group);
        it.keyEnd = causalBase >= 0 ? min(keyCount, causalBase + iMax + 1) : keyCount;
        it.limAll = causalBase >= 0 ? min(causalBase + it.mBase / group, keyCount - 1) : keyCount - 1;
        it.tiles = (it.keyEnd + BN - 1) / BN;
        return true;
    };

    if (wgIdx == 0) {
        asm volatile("setmaxnreg.dec.sync.aligned.u32 56;\n" ::: "memory");
        int n = 0;
        for (int w = blockIdx.x; w < items; w += gridDim.x) {
            Item it;
            if (!item(w, it)) continue;
            const int keyCount = segKeyCount[it.s];
            for (int t = 0; t < it.tiles; t++, n++) {
                const int st = n % STAGES;
                if (n >= STAGES) mbar_wait(barBase + (STAGES + st) * 8, ((n / STAGES) - 1) & 1);
                const int key0 = t * BN;
                const long base = (long)(segKey[it.s] + key0) * ldkv + (long)it.g * HD;
#pragma unroll
                for (int u = 0; u < BN * CH / 128; u++) {
                    const int idx = tid + u * 128;
                    const int q8 = idx >> 3, c = q8 % CH, j = (q8 / CH) * 8 + (idx & 7);
                    const bool live = key0 + j < keyCount;
                    const long off = live ? base + (long)j * ldkv + c * 8 : 0;
                    const u32 dst = (j >> 3) * GROUP_BYTES + c * 128 + (j & 7) * 16 + st * TILE_BYTES;
                    cp_async16(kBase + dst, k + off, live ? 16 : 0);
                    cp_async16(vBase + dst, v + off, live ? 16 : 0);
                }
                cp_async_commit();
                if (n >= WS_LAG) {
                    asm volatile("cp.async.wait_group %0;\n" ::"n"(WS_LAG) : "memory");
                    fence_proxy_async_shared();
                    mbar_arrive(barBase + ((n - WS_LAG) % STAGES) * 8);
                }
            }
        }
        cp_async_wait_all();
        fence_proxy_async_shared();
        for (int m = max(0, n - WS_LAG); m < n; m++) mbar_arrive(barBase + (m % STAGES) * 8);
        return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 224;\n" ::: "memory");
    const int cw = wgIdx - 1, warp = (tid >> 5) & 3;
    const float scale2 = scale * 1.4426950408889634f;
    constexpr u32 V_LEADING = GROUP_BYTES, V_STRIDE = 128;
    auto waitFull = [&](int n) { mbar_wait(barBase + (n % STAGES) * 8, (n / STAGES) & 1); };
    auto release = [&](int n) { mbar_arrive(barBase + (STAGES + n % STAGES) * 8); };
    // ping-pong (MODE 2): the consumer warpgroups take turns issuing their products (named barriers 1 + cw), so one's
    // softmax runs while the other's products are on the tensor cores
    if (MODE == 2 && cw == 1) ws_turn_end(cw);  // the first turn is warpgroup 0's
    // Q's fragments of the next work item are requested while this one runs (their latency off the path)
    auto loadQ = [&](const Item& x, u32 (&dst)[KC][4]) {
        const int mA = x.mBase + cw * 64 + warp * 16 + gq, mB = mA + 8, iA = mA / group, iB = mB / group, qRow0 = segQRow[x.s];
        const bool live = x.mBase + cw * 64 < x.rows * group;
        q_fragments<HD, KC>(dst, q + (long)(qRow0 + iA) * ldq + (long)(x.g * group + mA % group) * HD,
                            q + (long)(qRow0 + iB) * ldq + (long)(x.g * group + mB % group) * HD, live && iA < x.rows,
                            live && iB < x.rows, t4);
    };
    auto nextItem = [&](int from, Item& x) {
        while (from < items && !item(from, x)) from += gridDim.x;
        return from;
    };
    Item it, nx;
    u32 qa[KC][4], qn[KC][4];
    int w = nextItem(blockIdx.x, it);
    if (w < items) loadQ(it, qa);
    int n0 = 0;
    while (w < items) {
        const int wn = nextItem(w + gridDim.x, nx);
        if (wn < items) loadQ(nx, qn);
        const int g = it.g, rows = it.rows, limAll = it.limAll, tiles = it.tiles;
        if (it.mBase + cw * 64 >= rows * group) {  // no rows for this warpgroup: keep the stages and turns turning
            for (int t = 0; t < tiles; t++) {
                waitFull(n0 + t);
                if (MODE == 2) {
                    ws_turn_begin(cw);
                    ws_turn_end(cw);
                }
                release(n0 + t);
            }
            if (MODE == 2) {
                ws_turn_begin(cw);
                ws_turn_end(cw);
            }
        } else {
            const int qRow0 = segQRow[it.s], keyCount = segKeyCount[it.s], causalBase = segCausalBase[it.s];
            const int mA = it.mBase + cw * 64 + warp * 16 + gq, mB = mA + 8;
            const int iA = mA / group, iB = mB / group;
            const int limA = causalBase >= 0 ? min(causalBase + iA, keyCount - 1) : keyCount - 1;
            const int limB = causalBase >= 0 ? min(causalBase + iB, keyCount - 1) : keyCount - 1;
            float o[ON * 4];
#pragma unroll
            for (int i = 0; i < ON * 4; i++) o[i] = 0.f;
            float maxA = NEG_INF, maxB = NEG_INF, sumA = 0.f, sumB = 0.f;
            auto issueScores = [&](float (&sc)[NT * 4], int n) {
                const u32 kTile = kBase + (n % STAGES) * TILE_BYTES;
                wgmma_fence();
#pragma unroll
                for (int kc = 0; kc < KC; kc++) {
#pragma unroll
                    for (int h = 0; h < BN / 64; h++)  // keys 64 h .. 64 h + 63: n-tiles 8 h .. 8 h + 7
                        wgmma_m64n64k16<0>(sc + 32 * h, qa[kc], wgmma_desc(kTile + h * 8 * GROUP_BYTES + kc * 256, 128, GROUP_BYTES), kc);
                }
                wgmma_commit();
            };
            auto issueValues = [&](const u32 (&pa)[BN / 16][4], int n) {
                const u32 vTile = vBase + (n % STAGES) * TILE_BYTES;
                wgmma_fence();
#pragma unroll
                for (int kc = 0; kc < BN / 16; kc++)
                    wgmma_m64n64k16<1>(o, pa[kc], wgmma_desc(vTile + kc * 2 * GROUP_BYTES, V_LEADING, V_STRIDE), 1);
                wgmma_commit();
            };
            if constexpr (MODE == 2) {
                u32 pa[BN / 16][4];
                for (int t = 0; t <= tiles; t++) {
                    float sc[NT * 4];
                    if (t < tiles) waitFull(n0 + t);
                    ws_turn_begin(cw);
                    if (t > 0) issueValues(pa, n0 + t - 1);
                    if (t < tiles) issueScores(sc, n0 + t);
                    ws_turn_end(cw);
                    wgmma_wait_all();
                    fence_operands(o);
                    if (t > 0) release(n0 + t - 1);
                    if (t < tiles) {
                        fence_operands(sc);
                        softmax_tile<NT, ON>(sc, o, t * BN, t4, limAll, limA, limB, scale2, maxA, maxB, sumA, sumB);
#pragma unroll
                        for (int kc = 0; kc < BN / 16; kc++) p_fragment(pa[kc], sc, kc);
                    }
                }
            } else if constexpr (MODE == 0) {
                for (int t = 0; t < tiles; t++) {
                    waitFull(n0 + t);
                    float sc[NT * 4];
                    issueScores(sc, n0 + t);
                    wgmma_wait_all();
                    fence_operands(sc);
                    softmax_tile<NT, ON>(sc, o, t * BN, t4, limAll, limA, limB, scale2, maxA, maxB, sumA, sumB);
                    u32 pa[BN / 16][4];
#pragma unroll
                    for (int kc = 0; kc < BN / 16; kc++) p_fragment(pa[kc], sc, kc);
                    issueValues(pa, n0 + t);
                    wgmma_wait_all();
                    fence_operands(o);
                    release(n0 + t);
                }
            } else {
                float corrA = 1.f, corrB = 1.f;
                auto scores = [&](float (&sc)[NT * 4], int key0) {
                    float cA, cB;
                    softmax_scores<NT>(sc, key0, t4, limAll, limA, limB, scale2, maxA, maxB, sumA, sumB, cA, cB);
                    corrA = cA;
                    corrB = cB;
                };
                auto step = [&](auto more, float (&cur)[NT * 4], float (&next)[NT * 4], int t) {
                    if constexpr (decltype(more)::value) {
                        waitFull(n0 + t + 1);
                        issueScores(next, n0 + t + 1);
                    }
                    rescale_rows<ON>(o, corrA, corrB);
                    u32 pa[BN / 16][4];
#pragma unroll
                    for (int kc = 0; kc < BN / 16; kc++) p_fragment(pa[kc], cur, kc);
                    issueValues(pa, n0 + t);
                    if constexpr (decltype(more)::value) {
                        asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
                        fence_operands(next);
                        scores(next, (t + 1) * BN);
                    }
                    wgmma_wait_all();
                    fence_operands(o);
                    release(n0 + t);
                };
                float sa[NT * 4], sb[NT * 4];
                waitFull(n0);
                issueScores(sa, n0);
                wgmma_wait_all();
                fence_operands(sa);
                scores(sa, 0);
                int t = 0;
                for (; t + 2 < tiles; t += 2) {
                    step(WsFlag<true>(), sa, sb, t);
                    step(WsFlag<true>(), sb, sa, t + 1);
                }
                if (tiles - t == 2) {
                    step(WsFlag<true>(), sa, sb, t);
                    step(WsFlag<false>(), sb, sa, t + 1);
                } else {
                    step(WsFlag<false>(), sa, sb, t);
                }
            }
            store_rows<ON>(o, sumA, sumB, iA < rows ? out + (long)(qRow0 + iA) * ldo + (long)(g * group + mA % group) * HD : nullptr,
                           iB < rows ? out + (long)(qRow0 + iB) * ldo + (long)(g * group + mB % group) * HD : nullptr, t4);
        }
        n0 += tiles;
        w = wn;
        it = nx;
#pragma unroll
        for (int kc = 0; kc < KC; kc++)
            for (int e = 0; e < 4; e++) qa[kc][e] = qn[kc][e];
    }
}
#define WS_BODY(M) attention_wgmma_ws<M>(ATTN_PASS, mBlocks, segments);
#else
#define WS_BODY(M)
#endif
extern "C" __global__ void __launch_bounds__(384, 1) attention_ws_hd64(ATTN_ARGS, int mBlocks, int segments) { WS_BODY(0) }
extern "C" __global__ void __launch_bounds__(384, 1) attention_wso_hd64(ATTN_ARGS, int mBlocks, int segments) { WS_BODY(1) }
extern "C" __global__ void __launch_bounds__(384, 1) attention_wsp_hd64(ATTN_ARGS, int mBlocks, int segments) { WS_BODY(2) }
