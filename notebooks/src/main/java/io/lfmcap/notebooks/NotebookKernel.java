package io.lfmcap.notebooks;

import java.io.PrintStream;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.rapaio.jupyter.kernel.MainApp;
import org.rapaio.jupyter.kernel.channels.Channels;
import org.rapaio.jupyter.kernel.core.ConnectionProperties;
import org.rapaio.jupyter.kernel.core.Transform;

/**
 * The notebook kernel's entry point (kernel.json's main class): rapaio-jupyter-kernel 3.0.1's
 * {@code MainApp.runKernel} with the fixes Spark notebooks need (a third, the start-up race of the
 * channels' loop threads, is {@link org.rapaio.jupyter.kernel.channels.LoopThread}'s).
 *
 * <ul>
 *   <li>Logging: MainApp sets java.util.logging's root level to FINEST. Spark routes
 *       java.util.logging into log4j, so every library's FINEST call gets formatted, and Janino's
 *       (Spark's SQL code generator) fail to format, which breaks code generation. Root stays at INFO.
 *   <li>Handlers: {@code Channels.connect} starts the shell channel before it installs the message
 *       handlers, and a request that arrives in between (Jupyter sends {@code kernel_info_request} as
 *       soon as it has started the process) meets a null handler map and ends the shell loop. With an
 *       empty map until the real one is installed, that request goes unanswered; Jupyter asks again.
 *   <li>A channel thread that dies reports why on the kernel's own stderr (Jupyter's log) instead of
 *       into the stream of whichever cell was running.
 * </ul>
 */
public final class NotebookKernel {
    private NotebookKernel() {}

    /** {@code args[0]}: the connection file Jupyter wrote (kernel.json's {@code {connection_file}}). */
    public static void main(String[] args) throws Exception {
        if (args.length != 1)
            throw new IllegalArgumentException("usage: NotebookKernel CONNECTION_FILE (Jupyter starts it through kernel.json)");
        Logger.getLogger("").setLevel(Level.INFO);
        PrintStream kernelErr = System.err;
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
            kernelErr.println("lfmcap notebook kernel: thread " + thread.getName() + " died:");
            e.printStackTrace(kernelErr);
        });
        ConnectionProperties connection = Transform.fromJson(Files.readString(Path.of(args[0])), ConnectionProperties.class);
        Channels channels = new Channels(connection);
        Field handlers = Channels.class.getDeclaredField("handlers");
        handlers.setAccessible(true);
        handlers.set(channels, new HashMap<>());
        channels.connect(MainApp.kernel);
        channels.joinUntilClose();
    }
}
