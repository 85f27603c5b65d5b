package io.lfmcap.pipeline;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A JVM-wide cache of expensive values (model copies, engines), after Iceberg's
 * {@code SparkExecutorCache}: keyed by what identifies the artifact, loaded at most once per key
 * however many task threads ask at once (double-checked, the lock per key so other keys go on),
 * bounded, and invalidated explicitly. Values in use are leased; only idle ones are evicted, least
 * recently used first, and closed when {@link AutoCloseable}. A failed load caches nothing: the next
 * caller tries again.
 */
final class ExecutorCache<K, V> {
    private final int capacity;
    private final Map<K, Slot<V>> slots = new LinkedHashMap<>(16, 0.75f, true);

    ExecutorCache(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
        this.capacity = capacity;
    }

    /** A value in use; closing it returns the lease (the value stays cached). */
    final class Lease implements AutoCloseable {
        private final K key;
        private final Slot<V> slot;
        private final boolean loadedNow;
        private boolean closed;

        private Lease(K key, Slot<V> slot, boolean loadedNow) {
            this.key = key;
            this.slot = slot;
            this.loadedNow = loadedNow;
        }

        V value() { return slot.value; }

        /** Whether this lease's caller was the one that loaded the value. */
        boolean loadedNow() { return loadedNow; }

        @Override
        public void close() {
            synchronized (ExecutorCache.this) {
                if (closed) return;
                closed = true;
                slot.leases--;
                if (slot.invalidated && slot.leases == 0) closeValue(slot);
                else evictIdle();
            }
        }

        @Override
        public String toString() { return "lease of " + key; }
    }

    private static final class Slot<V> {
        volatile V value;
        int leases;          // guarded by the cache
        boolean invalidated; // guarded by the cache
    }

    /** The value for {@code key}, loading it with {@code loader} if no thread has yet. */
    Lease acquire(K key, Function<K, V> loader) {
        Slot<V> slot;
        synchronized (this) {
            slot = slots.computeIfAbsent(key, k -> new Slot<>());
            slot.leases++;
        }
        boolean loaded = false;
        try {
            if (slot.value == null) {
                synchronized (slot) {
                    if (slot.value == null) {
                        slot.value = loader.apply(key);
                        loaded = true;
                    }
                }
            }
        } catch (RuntimeException | Error e) {
            synchronized (this) {
                slot.leases--;
                if (slot.value == null && slot.leases == 0 && slots.get(key) == slot) slots.remove(key);
            }
            throw e;
        }
        Lease lease = new Lease(key, slot, loaded);
        synchronized (this) {
            evictIdle();
        }
        return lease;
    }

    /**
     * {@link #acquire(Object, Function)}, but a cached value that fails {@code usable} (an engine that stopped after an
     * internal error) is dropped, to be closed when its last lease closes, and loaded anew; a value loaded by this call
     * is returned as it is.
     */
    Lease acquire(K key, Function<K, V> loader, Predicate<V> usable) {
        while (true) {
            Lease lease = acquire(key, loader);
            if (lease.loadedNow() || usable.test(lease.value())) return lease;
            synchronized (this) {
                if (slots.get(key) == lease.slot) invalidate(key);
            }
            lease.close();
        }
    }

    /** Drops {@code key}; its value is closed now if idle, else when its last lease closes. */
    synchronized void invalidate(K key) {
        Slot<V> slot = slots.remove(key);
        if (slot != null) retire(slot);
    }

    /** Drops every entry (executor shutdown, tests). */
    synchronized void invalidateAll() {
        List<Slot<V>> all = new ArrayList<>(slots.values());
        slots.clear();
        for (Slot<V> s : all) retire(s);
    }

    synchronized int size() { return slots.size(); }

    private void retire(Slot<V> slot) {
        slot.invalidated = true;
        if (slot.leases == 0) closeValue(slot);
    }

    private void evictIdle() {
        Iterator<Slot<V>> it = slots.values().iterator();
        while (slots.size() > capacity && it.hasNext()) {
            Slot<V> s = it.next();
            if (s.leases == 0) {
                it.remove();
                closeValue(s);
            }
        }
    }

    private static <V> void closeValue(Slot<V> slot) {
        V v = slot.value;
        slot.value = null;
        if (v instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing a cached " + v + " failed: " + e, e);
            }
        }
    }
}
