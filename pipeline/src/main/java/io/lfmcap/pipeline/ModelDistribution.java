package io.lfmcap.pipeline;

import java.util.Locale;

/** How the model file(s) reach the executors. */
public enum ModelDistribution {
    /**
     * The driver reads the model once and Spark's torrent broadcast spreads it (in chunks under 2 GB,
     * executors fetching pieces from each other); each executor writes one local copy and maps it.
     * The driver and each executor hold the bytes in their block managers (memory, spilling to disk).
     */
    BROADCAST,
    /** {@code SparkContext.addFile}: each executor downloads the file or folder from the driver. */
    FILES,
    /**
     * A path every executor can read (HDFS, S3A, NFS, a local path present on every host): a local
     * path is mapped in place, any other file system is copied once to executor-local disk.
     */
    SHARED;

    /** Parses {@code broadcast}, {@code files} or {@code shared} (any case). */
    public static ModelDistribution parse(String text) {
        try {
            return valueOf(text.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown model distribution '" + text + "': use broadcast, files or shared", e);
        }
    }

    public String code() { return name().toLowerCase(Locale.ROOT); }
}
