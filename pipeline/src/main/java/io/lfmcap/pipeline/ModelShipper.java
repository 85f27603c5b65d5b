package io.lfmcap.pipeline;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Driver side of model distribution: lists the model, fixes its digest, and ships it as chosen. */
public final class ModelShipper {
    private static final Logger LOG = LoggerFactory.getLogger(ModelShipper.class);

    private ModelShipper() {}

    /**
     * Ships the model at {@code uri} (a {@code .pte} file or a checkpoint folder on any Hadoop file
     * system). {@code expectedSha256}, when not null, is checked against the bytes read (broadcast)
     * or trusted and checked on every executor (files, shared), which saves the driver a full read.
     */
    public static ShippedModel ship(SparkSession spark, String uri, ModelDistribution distribution, String expectedSha256,
                                    Broadcast<SerializableConfiguration> hadoopConf) {
        Configuration conf = hadoopConf.value().value();
        ModelFiles files = ModelFiles.list(uri, conf);
        String expected = expectedSha256 == null ? null : expectedSha256.trim().toLowerCase(Locale.ROOT);
        long start = System.nanoTime();
        try {
            FileSystem fs = new org.apache.hadoop.fs.Path(files.uri()).getFileSystem(conf);
            ShippedModel shipped = switch (distribution) {
                case BROADCAST -> {
                    List<String> digests = new ArrayList<>();
                    ModelBytes bytes = ModelBytes.read(files, e -> fs.open(files.source(e)), digests);
                    String digest = checked(files, Sha256.modelDigest(files, digests), expected);
                    Broadcast<ModelBytes> bc = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(bytes);
                    yield new ShippedModel.Broadcasted(files, digest, bc);
                }
                case FILES -> {
                    String digest = expected != null ? expected : digest(files, fs);
                    if (files.folder()) spark.sparkContext().addFile(files.uri(), true);
                    else for (ModelFiles.Entry e : files.entries()) spark.sparkContext().addFile(files.source(e).toString());
                    yield new ShippedModel.AddedFile(files, digest);
                }
                case SHARED -> new ShippedModel.SharedPath(files, expected != null ? expected : digest(files, fs), hadoopConf);
            };
            LOG.info("lfmcap: model {} ({} MB, sha256 {}) shipped by {} in {} ms", files.uri(),
                    String.format(Locale.ROOT, "%.1f", files.totalBytes() / 1e6), shipped.digest(), distribution.code(),
                    (System.nanoTime() - start) / 1_000_000);
            return shipped;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read model " + files.uri() + ": " + e.getMessage(), e);
        }
    }

    private static String digest(ModelFiles files, FileSystem fs) throws IOException {
        List<String> digests = new ArrayList<>();
        for (ModelFiles.Entry e : files.entries()) {
            try (InputStream in = fs.open(files.source(e))) {
                digests.add(Sha256.copy(in, null));
            }
        }
        return Sha256.modelDigest(files, digests);
    }

    private static String checked(ModelFiles files, String actual, String expected) {
        if (expected != null && !expected.equals(actual))
            throw new ModelChecksumException("model " + files.uri() + " has SHA-256 " + actual + " but " + expected
                    + " was expected: check the path and the checksum you passed");
        return actual;
    }
}
