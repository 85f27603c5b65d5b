package io.lfmcap.pipeline;

import io.lfmcap.engine.CaptionException;
import io.lfmcap.engine.ErrorClass;
import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Reads one image file's bytes in a task, through the Hadoop file system of its path. */
final class ImageFileReader {
    private final Configuration conf;
    private final long maxBytes;

    ImageFileReader(Configuration conf, long maxBytes) {
        this.conf = conf;
        this.maxBytes = maxBytes;
    }

    /**
     * The whole file.
     *
     * @throws CaptionException ({@code too_large}) when the file has more than {@code maxBytes} bytes
     * @throws IOException      when it cannot be read
     */
    byte[] read(String path) throws IOException {
        Path p = new Path(path);
        FileSystem fs = p.getFileSystem(conf);
        try (InputStream in = fs.open(p)) {
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
            if (bytes.length > maxBytes)
                throw new CaptionException(ErrorClass.TOO_LARGE, path, "the file has more than " + maxBytes
                        + " bytes (the max file bytes setting): raise it or leave the file out");
            return bytes;
        }
    }
}
