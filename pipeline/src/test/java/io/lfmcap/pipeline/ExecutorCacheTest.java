package io.lfmcap.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ExecutorCacheTest {

    /** A cached value that records whether it was closed. */
    static final class Value implements AutoCloseable {
        final String name;
        volatile boolean closed;

        Value(String name) { this.name = name; }

        @Override public void close() { closed = true; }
    }

    @Test
    void manyThreadsAskingAtOnceLoadTheValueOnce() throws Exception {
        ExecutorCache<String, Value> cache = new ExecutorCache<>(2);
        AtomicInteger loads = new AtomicInteger();
        int threads = 8;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<ExecutorCache<String, Value>.Lease>> leases = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                leases.add(pool.submit(() -> {
                    start.await();
                    return cache.acquire("model", k -> {
                        loads.incrementAndGet();
                        sleep(50);
                        return new Value(k);
                    });
                }));
            }
            start.countDown();
            Value first = leases.get(0).get(10, TimeUnit.SECONDS).value();
            int loadedNow = 0;
            for (var f : leases) {
                var lease = f.get(10, TimeUnit.SECONDS);
                assertSame(first, lease.value());
                if (lease.loadedNow()) loadedNow++;
                lease.close();
            }
            assertEquals(1, loads.get());
            assertEquals(1, loadedNow);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aFailedLoadCachesNothingAndTheNextCallerLoadsAgain() {
        ExecutorCache<String, Value> cache = new ExecutorCache<>(2);
        assertThrows(IllegalStateException.class, () -> cache.acquire("model", k -> { throw new IllegalStateException("disk full"); }));
        assertEquals(0, cache.size());
        try (var lease = cache.acquire("model", Value::new)) {
            assertEquals("model", lease.value().name);
            assertTrue(lease.loadedNow());
        }
    }

    @Test
    void beyondCapacityTheLeastRecentlyUsedIdleValueIsClosed() {
        ExecutorCache<String, Value> cache = new ExecutorCache<>(2);
        Value a, b, c;
        try (var la = cache.acquire("a", Value::new)) { a = la.value(); }
        try (var lb = cache.acquire("b", Value::new)) { b = lb.value(); }
        try (var la = cache.acquire("a", Value::new)) { assertSame(a, la.value()); } // a is now more recent than b
        try (var lc = cache.acquire("c", Value::new)) { c = lc.value(); }
        assertTrue(b.closed);
        assertFalse(a.closed);
        assertFalse(c.closed);
        assertEquals(2, cache.size());
    }

    @Test
    void aLeasedValueIsNeverEvicted() {
        ExecutorCache<String, Value> cache = new ExecutorCache<>(1);
        var held = cache.acquire("a", Value::new);
        try (var other = cache.acquire("b", Value::new)) {
            assertFalse(held.value().closed);
            assertFalse(other.value().closed);
        }
        assertFalse(held.value().closed);
        held.close();
    }

    @Test
    void invalidateClosesAnIdleValueNowAndABusyOneWhenItsLastLeaseCloses() {
        ExecutorCache<String, Value> cache = new ExecutorCache<>(4);
        Value idle;
        try (var l = cache.acquire("idle", Value::new)) { idle = l.value(); }
        var busy = cache.acquire("busy", Value::new);
        Value busyValue = busy.value();
        cache.invalidateAll();
        assertTrue(idle.closed);
        assertFalse(busyValue.closed);
        busy.close();
        assertTrue(busyValue.closed);
        try (var again = cache.acquire("busy", Value::new)) {
            assertTrue(again.loadedNow());
        }
    }

    @Test
    void aValueThatIsNoLongerUsableIsReplacedAndClosedWhenItsLastLeaseCloses() {
        ExecutorCache<String, Value> cache = new ExecutorCache<>(4);
        AtomicInteger loads = new AtomicInteger();
        java.util.Set<Value> broken = java.util.concurrent.ConcurrentHashMap.newKeySet();
        var first = cache.acquire("engine", k -> new Value(k + loads.incrementAndGet()), v -> !broken.contains(v));
        Value old = first.value();
        var sameAgain = cache.acquire("engine", k -> new Value(k + loads.incrementAndGet()), v -> !broken.contains(v));
        assertSame(old, sameAgain.value());  // usable: shared
        sameAgain.close();
        broken.add(old);  // its worker stopped; first's task still holds it
        try (var fresh = cache.acquire("engine", k -> new Value(k + loads.incrementAndGet()), v -> !broken.contains(v))) {
            assertTrue(fresh.loadedNow());
            assertEquals("engine2", fresh.value().name);
            assertFalse(old.closed, "a value still leased stays open");
            first.close();
            assertTrue(old.closed);
            try (var shared = cache.acquire("engine", k -> new Value(k + loads.incrementAndGet()), v -> !broken.contains(v))) {
                assertSame(fresh.value(), shared.value());
            }
        }
        assertEquals(2, loads.get());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
