package io.lfmcap.pte;

/**
 * Told how an export advances, after each chunk written (a few MiB) and at each new item. Called
 * from the exporting thread.
 */
@FunctionalInterface
public interface ProgressListener {
    /**
     * @param item       what is being written (a weight name, "program", "manifest")
     * @param bytesDone  bytes of segment data written so far
     * @param bytesTotal bytes of segment data the export writes in all
     */
    void progress(String item, long bytesDone, long bytesTotal);

    ProgressListener NONE = (item, done, total) -> { };
}
