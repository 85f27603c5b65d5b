package io.lfmcap.image;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The tile grid HF picks for a large image: {@code Lfm2VlImageProcessor._target_ratios} and
 * {@code find_closest_aspect_ratio}, including CPython's candidate order, which decides exact ties.
 *
 * <p>HF builds the candidates as {@code sorted(set(ratios), key=lambda x: x[0] * x[1])}: equal-area
 * grids keep the order in which a CPython set iterates them, i.e. hash-table slot order. We rebuild
 * that order by replaying CPython's (3.8+, 64-bit) tuple hash and set insertion ({@link PythonSet}).
 */
final class TileGrid {
    private TileGrid() {}

    /** (columns, rows) candidates for {@code minTiles <= columns * rows <= maxTiles}, in HF's order. */
    static List<int[]> candidates(int minTiles, int maxTiles) {
        PythonSet set = new PythonSet();
        for (int n = minTiles; n <= maxTiles; n++)
            for (int w = 1; w <= n; w++)
                for (int h = 1; h <= n; h++)
                    if (minTiles <= w * h && w * h <= maxTiles) set.add(w, h);
        List<int[]> ordered = new ArrayList<>(set.iterationOrder());
        ordered.sort(Comparator.comparingInt(c -> c[0] * c[1])); // List.sort is stable, like Python's sorted
        return ordered;
    }

    /**
     * HF {@code find_closest_aspect_ratio}: the candidate whose columns/rows ratio is closest to
     * width/height; on an exact tie the later candidate wins if the image area exceeds half the
     * grid's pixel area. Starts from (1, 1) with an infinite difference.
     *
     * @return {columns, rows}
     */
    static int[] choose(int width, int height, int minTiles, int maxTiles, int tileSize) {
        double aspect = (double) width / height;
        long area = (long) width * height;
        int[] best = {1, 1};
        double bestDiff = Double.POSITIVE_INFINITY;
        for (int[] c : candidates(minTiles, maxTiles)) {
            double diff = Math.abs(aspect - (double) c[0] / c[1]);
            if (diff < bestDiff) {
                bestDiff = diff;
                best = c;
            } else if (diff == bestDiff && area > 0.5 * ((long) tileSize * tileSize * c[0] * c[1])) {
                best = c;
            }
        }
        return best.clone();
    }

    /**
     * A CPython {@code set} of 2-tuples of small non-negative ints, reduced to what fixes its
     * iteration order (Objects/setobject.c set_add_entry / set_table_resize / set_insert_clean,
     * Objects/tupleobject.c tuplehash): open addressing over a power-of-two table starting at 8 slots,
     * linear probing of up to 9 further slots, then perturbed probing, growth to 4x the used count
     * when fill * 5 >= mask * 3.
     */
    static final class PythonSet {
        private static final int MIN_SIZE = 8, LINEAR_PROBES = 9, PERTURB_SHIFT = 5;
        private static final long XXPRIME_1 = 0x9E3779B185EBCA87L, XXPRIME_2 = 0xC2B2AE3D27D4EB4FL, XXPRIME_5 = 0x27D4EB2F165667C5L;
        private int[][] keys = new int[MIN_SIZE][];
        private long[] hashes = new long[MIN_SIZE];
        private int used;

        void add(int a, int b) {
            long hash = tupleHash(a, b);
            int slot = findSlot(keys, hashes, hash, a, b);
            if (keys[slot] != null) return; // already present
            keys[slot] = new int[] {a, b};
            hashes[slot] = hash;
            used++;
            long mask = keys.length - 1;
            if ((long) used * 5 >= mask * 3) resize(used > 50000 ? used * 2 : used * 4);
        }

        List<int[]> iterationOrder() {
            List<int[]> out = new ArrayList<>(used);
            for (int[] k : keys) if (k != null) out.add(k);
            return out;
        }

        /** The slot holding (a, b), or the first free slot on its probe sequence. */
        private static int findSlot(int[][] keys, long[] hashes, long hash, int a, int b) {
            long mask = keys.length - 1;
            long i = hash & mask, perturb = hash;
            while (true) {
                int probes = i + LINEAR_PROBES <= mask ? LINEAR_PROBES : 0;
                for (int p = 0; p <= probes; p++) {
                    int s = (int) (i + p);
                    if (keys[s] == null) return s;
                    if (hashes[s] == hash && keys[s][0] == a && keys[s][1] == b) return s;
                }
                perturb >>>= PERTURB_SHIFT;
                i = (i * 5 + 1 + perturb) & mask;
            }
        }

        private void resize(int minUsed) {
            int size = MIN_SIZE;
            while (size <= minUsed) size <<= 1;
            int[][] oldKeys = keys;
            long[] oldHashes = hashes;
            keys = new int[size][];
            hashes = new long[size];
            for (int s = 0; s < oldKeys.length; s++) {
                if (oldKeys[s] == null) continue;
                int slot = findSlot(keys, hashes, oldHashes[s], oldKeys[s][0], oldKeys[s][1]);
                keys[slot] = oldKeys[s];
                hashes[slot] = oldHashes[s];
            }
        }

        /** CPython's tuplehash (xxHash-based, 3.8+) of (a, b); hash(n) == n for small non-negative ints. */
        static long tupleHash(int a, int b) {
            long acc = XXPRIME_5;
            for (long lane : new long[] {a, b}) {
                acc += lane * XXPRIME_2;
                acc = Long.rotateLeft(acc, 31);
                acc *= XXPRIME_1;
            }
            acc += 2 ^ (XXPRIME_5 ^ 3527539L);
            return acc == -1L ? 1546275796L : acc;
        }
    }
}
