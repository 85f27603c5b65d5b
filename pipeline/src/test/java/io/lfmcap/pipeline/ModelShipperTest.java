package io.lfmcap.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelShipperTest {
    @TempDir Path tmp;
    private final SparkSession spark = TestSpark.session();
    private final JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    private final Broadcast<SerializableConfiguration> conf = jsc.broadcast(new SerializableConfiguration(spark.sparkContext().hadoopConfiguration()));

    private Path model(String name, int size) throws Exception {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        return Files.write(tmp.resolve(name), bytes);
    }

    private static String sha(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    /** Localizes in a task and returns the local copy's path. */
    private Path localizeInTask(ShippedModel shipped, Path cache) {
        String root = cache.toString();
        List<String> paths = jsc.parallelize(List.of(1), 1).map(i -> shipped.localPath(new LocalModelStore(Paths.get(root))).toString()).collect();
        return Paths.get(paths.get(0));
    }

    @Test
    void broadcastGivesEachExecutorAVerifiedLocalCopy() throws Exception {
        Path pte = model("broadcast.pte", 3 * 1024 * 1024 + 17);
        ShippedModel shipped = ModelShipper.ship(spark, pte.toUri().toString(), ModelDistribution.BROADCAST, null, conf);
        byte[] bytes = Files.readAllBytes(pte);
        assertEquals(sha(bytes), shipped.digest());
        Path local = localizeInTask(shipped, tmp.resolve("cache"));
        assertEquals(tmp.resolve("cache").resolve(shipped.digest()).resolve("broadcast.pte"), local);
        assertArrayEquals(bytes, Files.readAllBytes(local));
    }

    @Test
    void addedFilesAreFetchedBySparkAndVerified() throws Exception {
        Path pte = model("files.pte", 4096);
        ShippedModel shipped = ModelShipper.ship(spark, pte.toUri().toString(), ModelDistribution.FILES, null, conf);
        Path local = localizeInTask(shipped, tmp.resolve("cache"));
        assertEquals("files.pte", local.getFileName().toString());
        assertArrayEquals(Files.readAllBytes(pte), Files.readAllBytes(local));
    }

    @Test
    void aSharedLocalPathIsUsedInPlace() throws Exception {
        Path pte = model("shared.pte", 4096);
        ShippedModel shipped = ModelShipper.ship(spark, pte.toUri().toString(), ModelDistribution.SHARED, null, conf);
        assertEquals(pte, localizeInTask(shipped, tmp.resolve("cache")));
    }

    @Test
    void aWrongExpectedChecksumStopsABroadcastOnTheDriver() throws Exception {
        Path pte = model("wrong.pte", 1000);
        var e = assertThrows(ModelChecksumException.class, () ->
                ModelShipper.ship(spark, pte.toUri().toString(), ModelDistribution.BROADCAST, "00".repeat(32), conf));
        assertTrue(e.getMessage().contains(sha(Files.readAllBytes(pte))), e.getMessage());
    }

    @Test
    void aWrongExpectedChecksumFailsTheTaskOfASharedModel() throws Exception {
        Path pte = model("shared-wrong.pte", 1000);
        ShippedModel shipped = ModelShipper.ship(spark, pte.toUri().toString(), ModelDistribution.SHARED, "11".repeat(32), conf);
        var e = assertThrows(Exception.class, () -> localizeInTask(shipped, tmp.resolve("cache")));
        assertTrue(e.getMessage().contains("11".repeat(32)), e.getMessage());
    }
}
