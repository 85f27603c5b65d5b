package io.lfmcap.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.engine.CaptionEngine;
import io.lfmcap.engine.CaptionEngines;
import io.lfmcap.engine.CaptionRequest;
import io.lfmcap.engine.EngineOptions;
import io.lfmcap.engine.ImageInput;
import io.lfmcap.model.ModelPackage;
import io.lfmcap.pte.ModelPackages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stage end to end in local mode, on the tiny model. */
class CaptionStageTest {
    private static final int MAX_NEW_TOKENS = 12;
    @TempDir Path tmp;
    private final SparkSession spark = TestSpark.session();

    private CaptionSettings settings() {
        return CaptionSettings.defaults().withBackend(EngineOptions.Backend.CPU).withEngineThreads(2)
                .withMaxNewTokens(MAX_NEW_TOKENS).withMaxImagePixels(TestImages.TEST_MAX_PIXELS).withInFlight(3);
    }

    private CaptionStage stage(ModelDistribution how, CaptionSettings s) {
        return CaptionStage.builder(spark).model(TinyModel.pte().toUri().toString()).distribution(how).settings(s).build();
    }

    private static Map<String, Row> byFileName(List<Row> rows) {
        Map<String, Row> m = new TreeMap<>();
        for (Row r : rows) m.put(Path.of(java.net.URI.create(r.getString(0))).getFileName().toString(), r);
        return m;
    }

    /** Captions of the same images by the engine alone, keyed by file name. */
    private static Map<String, String> engineCaptions(Path dir, List<String> names) throws Exception {
        Map<String, String> out = new HashMap<>();
        try (ModelPackage pkg = ModelPackages.open(TinyModel.pte());
             CaptionEngine engine = CaptionEngines.open(pkg, EngineOptions.defaults().withBackend(EngineOptions.Backend.CPU).withThreads(2))) {
            for (String n : names) {
                byte[] bytes = Files.readAllBytes(dir.resolve(n));
                out.put(n, engine.submit(new CaptionRequest(n, ImageInput.of(n, bytes), CaptionRequest.DEFAULT_PROMPT,
                        io.lfmcap.engine.SamplingParams.GREEDY, MAX_NEW_TOKENS)).get().text());
            }
        }
        return out;
    }

    @Test
    void everyImageFileGivesOneRowAndBrokenOnesBecomeErrorRows() throws Exception {
        Path images = tmp.resolve("images");
        TestImages.good(images, 6);
        TestImages.bad(images);
        TestImages.write(images, "huge.jpg", new byte[4096]); // over the file-size limit below
        TestImages.write(images, "notes.txt", new byte[] {1}); // not an image name: not listed

        List<Row> rows;
        try (CaptionStage stage = stage(ModelDistribution.BROADCAST, settings().withMaxFileBytes(4000))) {
            Dataset<Row> in = ImageSources.files(spark, images.toUri().toString(), ImageSources.DEFAULT_GLOB, true).repartition(3);
            rows = stage.caption(in).collectAsList();
            CaptionSummary summary = stage.metrics().summary(1);
            assertEquals(11, summary.rows());
            assertEquals(6, summary.ok());
            assertEquals(Map.of("decode_error", 1L, "empty_input", 1L, "unsupported_format", 1L, "too_large", 2L), summary.failedByClass());
        }
        Map<String, Row> byName = byFileName(rows);
        assertEquals(11, rows.size());
        assertEquals(11, byName.size());
        Map<String, String> expectedClass = Map.of("truncated.jpg", "decode_error", "empty.jpg", "empty_input",
                "not-an-image.jpg", "unsupported_format", "oversized.png", "too_large", "huge.jpg", "too_large");
        for (var e : byName.entrySet()) {
            Row r = e.getValue();
            String wanted = expectedClass.get(e.getKey());
            if (wanted == null) {
                assertEquals(CaptionSchema.OK, r.getAs(CaptionSchema.STATUS), e.getKey());
                assertNotNull(r.getAs(CaptionSchema.CAPTION));
                assertEquals(64, (int) r.getAs(CaptionSchema.IMAGE_WIDTH));
                assertEquals(48, (int) r.getAs(CaptionSchema.IMAGE_HEIGHT));
                assertTrue((int) r.getAs(CaptionSchema.NUM_GENERATED_TOKENS) <= MAX_NEW_TOKENS);
            } else {
                assertEquals(CaptionSchema.ERROR, r.getAs(CaptionSchema.STATUS), e.getKey());
                assertEquals(wanted, r.getAs(CaptionSchema.ERROR_CLASS), e.getKey());
                assertTrue(((String) r.getAs(CaptionSchema.ERROR_MESSAGE)).contains(e.getKey()), (String) r.getAs(CaptionSchema.ERROR_MESSAGE));
                assertNull(r.getAs(CaptionSchema.CAPTION));
            }
            assertEquals("tiny.pte", r.getAs(CaptionSchema.MODEL_NAME));
            assertEquals(64, ((String) r.getAs(CaptionSchema.MODEL_SHA256)).length());
            assertEquals(CaptionRequest.DEFAULT_PROMPT, r.getAs(CaptionSchema.PROMPT));
        }
    }

    @Test
    void captionsEqualTheEnginesOwnForTheSameImages() throws Exception {
        Path images = tmp.resolve("images");
        TestImages.good(images, 5);
        List<Row> rows;
        try (CaptionStage stage = stage(ModelDistribution.FILES, settings())) {
            rows = stage.caption(ImageSources.files(spark, images.toUri().toString(), null, false)).collectAsList();
        }
        Map<String, String> expected = engineCaptions(images, List.of("img-0.jpg", "img-1.jpg", "img-2.jpg", "img-3.jpg", "img-4.jpg"));
        Map<String, String> actual = new HashMap<>();
        byFileName(rows).forEach((name, r) -> actual.put(name, r.getAs(CaptionSchema.CAPTION)));
        assertEquals(expected, actual);
    }

    @Test
    void concurrentTasksShareOneEngineLoadedOnce() {
        Path images = tmp.resolve("images");
        TestImages.good(images, 8);
        ExecutorEngines.invalidateAll();
        int before = ExecutorEngines.loads();
        try (CaptionStage stage = stage(ModelDistribution.SHARED, settings())) {
            long n = stage.caption(ImageSources.files(spark, images.toUri().toString(), null, false).repartition(8)).count();
            assertEquals(8, n);
            assertEquals(1, stage.metrics().summary(1).modelLoads().size());
            // A second job of the application reuses the engine.
            assertEquals(8, stage.caption(ImageSources.files(spark, images.toUri().toString(), null, false).repartition(4)).count());
        }
        assertEquals(1, ExecutorEngines.loads() - before);
    }

    @Test
    void aTableWithIdsAndImageBytesIsCaptionedWithNullBytesAsEmptyInput() {
        StructType schema = new StructType().add("key", DataTypes.LongType).add("jpeg", DataTypes.BinaryType).add("source", DataTypes.StringType);
        List<Row> table = new ArrayList<>();
        for (int i = 0; i < 4; i++) table.add(RowFactory.create((long) i, TestImages.encode(40, 40, i, "jpg"), "s3a://bucket/" + i + ".jpg"));
        table.add(RowFactory.create(99L, null, "s3a://bucket/missing.jpg"));
        Dataset<Row> input = ImageSources.table(spark.createDataFrame(table, schema), "table", "key", "jpeg", "source");

        List<Row> rows;
        try (CaptionStage stage = stage(ModelDistribution.BROADCAST, settings())) {
            rows = stage.caption(input).collectAsList();
        }
        assertEquals(5, rows.size());
        Map<String, Row> byId = new HashMap<>();
        for (Row r : rows) byId.put(r.getString(0), r);
        assertEquals(CaptionSchema.OK, byId.get("3").getAs(CaptionSchema.STATUS));
        assertEquals("s3a://bucket/3.jpg", byId.get("3").getAs(CaptionSchema.PATH));
        assertEquals("empty_input", byId.get("99").getAs(CaptionSchema.ERROR_CLASS));
    }

    @Test
    void aRequestTheEngineRejectsBecomesAnErrorRowAndTheOthersGoOn() {
        Path images = tmp.resolve("images");
        TestImages.good(images, 3);
        TestImages.write(images, "large.png", TestImages.encode(512, 512, 5, "png")); // 256 image tokens: more than the limit allows
        List<Row> rows;
        try (CaptionStage stage = stage(ModelDistribution.BROADCAST, settings().withMaxSequenceTokens(160).withMaxImagePixels(1L << 20))) {
            rows = stage.caption(ImageSources.files(spark, images.toUri().toString(), null, false).coalesce(1)).collectAsList();
        }
        Map<String, Row> byName = byFileName(rows);
        assertEquals(4, byName.size());
        assertEquals("invalid_request", byName.get("large.png").getAs(CaptionSchema.ERROR_CLASS));
        assertTrue(((String) byName.get("large.png").getAs(CaptionSchema.ERROR_MESSAGE)).contains("exceeds the engine's limit of 160"));
        for (int i = 0; i < 3; i++) assertEquals(CaptionSchema.OK, byName.get("img-" + i + ".jpg").getAs(CaptionSchema.STATUS));
    }

    @Test
    void rowsComeBackInInputOrderWithinATask() {
        Path images = tmp.resolve("images");
        TestImages.good(images, 7);
        Dataset<Row> in = ImageSources.files(spark, images.toUri().toString(), null, false).coalesce(1).sort("id");
        List<String> inputOrder = in.select("id").collectAsList().stream().map(r -> r.getString(0)).toList();
        List<String> outputOrder;
        try (CaptionStage stage = stage(ModelDistribution.BROADCAST, settings().withInFlight(4))) {
            outputOrder = stage.caption(in).select(CaptionSchema.ID).collectAsList().stream().map(r -> r.getString(0)).toList();
        }
        assertEquals(inputOrder, outputOrder);
    }
}
