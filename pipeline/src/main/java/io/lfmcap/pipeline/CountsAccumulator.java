package io.lfmcap.pipeline;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.util.AccumulatorV2;

/** Counts per key (failures per error class), summed over tasks; shown in the Spark UI as a map. */
public final class CountsAccumulator extends AccumulatorV2<String, Map<String, Long>> {
    private static final long serialVersionUID = 1L;
    private final TreeMap<String, Long> counts = new TreeMap<>();

    @Override public boolean isZero() { return counts.isEmpty(); }

    @Override
    public CountsAccumulator copy() {
        CountsAccumulator c = new CountsAccumulator();
        synchronized (this) {
            c.counts.putAll(counts);
        }
        return c;
    }

    @Override public synchronized void reset() { counts.clear(); }

    @Override public synchronized void add(String key) { counts.merge(key, 1L, Long::sum); }

    @Override
    public void merge(AccumulatorV2<String, Map<String, Long>> other) {
        Map<String, Long> theirs = other.value();
        synchronized (this) {
            theirs.forEach((k, v) -> counts.merge(k, v, Long::sum));
        }
    }

    @Override public synchronized Map<String, Long> value() { return Collections.unmodifiableMap(new TreeMap<>(counts)); }
}
