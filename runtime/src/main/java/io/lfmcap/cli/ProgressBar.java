package io.lfmcap.cli;

import java.io.PrintStream;
import java.util.Locale;

/** A one-line progress bar on stderr: done/total, rate and time left, redrawn at most 10 times a second. */
final class ProgressBar implements AutoCloseable {
    private static final int WIDTH = 30;
    private final PrintStream out;
    private final int total;
    private final String unit;
    private final long start = System.nanoTime();
    private long lastDraw;
    private int done;
    private int failed;

    ProgressBar(PrintStream out, int total, String unit) {
        this.out = out;
        this.total = total;
        this.unit = unit;
    }

    synchronized void step(boolean ok) {
        done++;
        if (!ok) failed++;
        long now = System.nanoTime();
        if (done == total || now - lastDraw > 100_000_000L) {
            lastDraw = now;
            draw(now);
        }
    }

    private void draw(long now) {
        double seconds = (now - start) / 1e9;
        double rate = done / Math.max(seconds, 1e-9);
        int filled = total == 0 ? WIDTH : (int) ((long) WIDTH * done / total);
        String eta = done == 0 ? "--:--" : clock((total - done) / rate);
        out.printf(Locale.ROOT, "\r[%s%s] %d/%d %s  %.2f %s/s  %s left%s", "#".repeat(filled), "-".repeat(WIDTH - filled),
                done, total, unit, rate, unit, eta, failed == 0 ? "" : "  " + failed + " failed");
        out.flush();
    }

    private static String clock(double seconds) {
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%02d:%02d", s / 60, s % 60);
    }

    @Override
    public synchronized void close() {
        out.println();
    }
}
