package org.rapaio.jupyter.kernel.channels;

/**
 * lfmcap's fix of rapaio-jupyter-kernel 3.0.1's {@code LoopThread}: same package, name and public
 * API; the notebook kernelspec puts this module's classes before the kernel jar, so this class is the
 * one that loads. The kernel's shell, control and heartbeat channels each poll their socket in one.
 *
 * <p>3.0.1 starts the thread and only then sets {@code running}; a thread that reaches its first
 * check before that sees {@code false} and ends at once, leaving its channel dead: a dead shell
 * channel never answers Jupyter ("Kernel didn't respond"), a dead heartbeat makes Jupyter restart
 * the kernel. Here {@code running} is set before the thread starts.
 */
public final class LoopThread extends Thread {
    private volatile boolean running;
    private final long sleep;
    private final Runnable loopBody;

    /** A thread that runs {@code loopBody}, then sleeps {@code sleep} ms, until {@link #shutdown()}. */
    public LoopThread(String name, long sleep, Runnable loopBody) {
        super(name);
        this.sleep = sleep;
        this.loopBody = loopBody;
    }

    @Override
    public void run() {
        while (running) {
            loopBody.run();
            try {
                Thread.sleep(sleep);
            } catch (InterruptedException e) {
                running = false;
                return;
            }
        }
    }

    @Override
    public synchronized void start() {
        running = true;
        super.start();
    }

    /** Ends the loop after the current iteration. */
    public void shutdown() {
        running = false;
    }
}
