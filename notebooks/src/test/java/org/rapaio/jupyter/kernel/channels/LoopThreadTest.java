package org.rapaio.jupyter.kernel.channels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class LoopThreadTest {
    @Test
    void everyStartedLoopRunsItsBody() throws InterruptedException {
        // rapaio-jupyter-kernel 3.0.1's LoopThread let some freshly started threads end before their
        // first iteration; of 200 started loops, each must run its body.
        int n = 200;
        CountDownLatch ranOnce = new CountDownLatch(n);
        List<LoopThread> loops = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            AtomicInteger runs = new AtomicInteger();
            LoopThread loop = new LoopThread("loop-" + i, 1, () -> { if (runs.getAndIncrement() == 0) ranOnce.countDown(); });
            loops.add(loop);
            loop.start();
        }
        assertTrue(ranOnce.await(30, TimeUnit.SECONDS), ranOnce.getCount() + " of " + n + " loops never ran");
        for (LoopThread loop : loops) assertTrue(loop.isAlive(), loop.getName() + " ended before shutdown");
        for (LoopThread loop : loops) loop.shutdown();
        for (LoopThread loop : loops) {
            loop.join(5_000);
            assertFalse(loop.isAlive(), loop.getName() + " still runs after shutdown");
        }
    }

    @Test
    void anInterruptEndsTheLoop() throws InterruptedException {
        AtomicInteger runs = new AtomicInteger();
        LoopThread loop = new LoopThread("interrupted", 10_000, runs::incrementAndGet);
        loop.start();
        while (runs.get() == 0) Thread.onSpinWait();
        loop.interrupt();
        loop.join(5_000);
        assertFalse(loop.isAlive());
        assertEquals(1, runs.get());
    }
}
