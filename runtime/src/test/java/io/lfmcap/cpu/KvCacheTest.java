package io.lfmcap.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

class KvCacheTest {
    @Test
    void keysAndValuesReadBackPerHeadAfterGrowingPastTheFirstAllocation() {
        int kvHeads = 2;
        int d = 16;
        int tokens = 600;   // beyond the initial 256-token allocation: two growths
        Random rnd = new Random(71);
        float[] k = TinyModel.uniform(rnd, tokens * kvHeads * d, 1);
        float[] v = TinyModel.uniform(rnd, tokens * kvHeads * d, 1);
        KvCache cache = new KvCache(kvHeads, d, 1000);
        for (int t = 0; t < tokens; t++) cache.put(t, k, t * kvHeads * d, v, t * kvHeads * d);
        float[] keyRow = new float[d];
        float[] valueRow = new float[tokens];
        for (int h = 0; h < kvHeads; h++) {
            PackedMatrix keys = cache.keys(h, tokens);
            for (int t = 0; t < tokens; t += 37) {
                keys.row(t, keyRow, 0);
                for (int c = 0; c < d; c++) assertEquals(k[(t * kvHeads + h) * d + c], keyRow[c], "key t=" + t + " h=" + h);
            }
            PackedMatrix values = cache.values(h, tokens);
            for (int c = 0; c < d; c++) {
                values.row(c, valueRow, 0);
                for (int t = 0; t < tokens; t++) assertEquals(v[(t * kvHeads + h) * d + c], valueRow[t], "value t=" + t + " h=" + h);
            }
        }
    }
}
