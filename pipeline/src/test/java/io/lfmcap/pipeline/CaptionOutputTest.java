package io.lfmcap.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CaptionOutputTest {
    @TempDir Path tmp;
    private final SparkSession spark = TestSpark.session();

    private static Row row(String id, String status, String errorClass) {
        boolean ok = CaptionSchema.OK.equals(status);
        return RowFactory.create(id, "file:/img/" + id + ".jpg", ok ? "a caption of " + id : null, status, errorClass,
                ok ? null : "failed", "Describe this image.", ok ? 32 : null, ok ? 32 : null, ok ? 64 : null, ok ? 80 : null,
                ok ? 5 : null, ok ? "stop" : null, 1.5, "tiny.pte", "ab".repeat(32), new Timestamp(0));
    }

    private Dataset<Row> rows(Row... rows) {
        return spark.createDataFrame(Arrays.asList(rows), CaptionSchema.OUTPUT);
    }

    private Dataset<Row> input(String... ids) {
        List<Row> rows = new ArrayList<>();
        for (String id : ids) rows.add(RowFactory.create(id, "file:/img/" + id + ".jpg"));
        StructType schema = new StructType().add(ImageSources.ID, DataTypes.StringType).add(ImageSources.PATH, DataTypes.StringType);
        return spark.createDataFrame(rows, schema);
    }

    private Map<String, List<String>> statusesById(String out) {
        Map<String, List<String>> m = new TreeMap<>();
        for (Row r : CaptionOutput.read(spark, out).collectAsList())
            m.computeIfAbsent(r.getString(0), k -> new ArrayList<>()).add(r.getString(3));
        return m;
    }

    @Test
    void theTableIsPartitionedByStatusAndReadsBackInSchemaOrder() {
        String out = tmp.resolve("captions").toUri().toString();
        CaptionOutput.write(rows(row("a", "ok", null), row("b", "error", "decode_error")), out, SaveMode.ErrorIfExists);
        assertTrue(Files.isDirectory(tmp.resolve("captions/status=ok")));
        assertTrue(Files.isDirectory(tmp.resolve("captions/status=error")));
        Dataset<Row> back = CaptionOutput.read(spark, out);
        assertEquals(Arrays.asList(CaptionSchema.OUTPUT.fieldNames()), Arrays.asList(back.columns()));
        assertEquals(Map.of("a", List.of("ok"), "b", List.of("error")), statusesById(out));
    }

    @Test
    void resumeSkipsIdsWithAnOkRowAndReplacesEarlierErrorRows() {
        String out = tmp.resolve("captions").toUri().toString();
        CaptionOutput.write(rows(row("a", "ok", null), row("b", "error", "engine_error"), row("c", "ok", null)), out, SaveMode.ErrorIfExists);

        CaptionOutput.Resume resume = CaptionOutput.Resume.of(spark, out);
        List<String> todo = resume.remaining(input("a", "b", "c", "d")).select(ImageSources.ID).collectAsList()
                .stream().map(r -> r.getString(0)).sorted().collect(Collectors.toList());
        assertEquals(List.of("b", "d"), todo);
        assertEquals(1, resume.staleErrorFiles().size());

        CaptionOutput.write(rows(row("b", "ok", null), row("d", "error", "decode_error")), out, SaveMode.Append);
        resume.dropSupersededErrors();
        assertEquals(Map.of("a", List.of("ok"), "b", List.of("ok"), "c", List.of("ok"), "d", List.of("error")), statusesById(out));
    }

    @Test
    void resumingIntoNothingCaptionsEverything() {
        String out = tmp.resolve("absent").toUri().toString();
        CaptionOutput.Resume resume = CaptionOutput.Resume.of(spark, out);
        assertEquals(3, resume.remaining(input("a", "b", "c")).count());
        assertTrue(resume.staleErrorFiles().isEmpty());
        assertFalse(CaptionOutput.exists(out, spark.sparkContext().hadoopConfiguration()));
    }

    @Test
    void filesLeftByAKilledWriteAreNotPartOfTheTable() throws Exception {
        String out = tmp.resolve("captions").toUri().toString();
        CaptionOutput.write(rows(row("a", "ok", null)), out, SaveMode.ErrorIfExists);
        // A task attempt of a job that died before committing it.
        Path attempt = tmp.resolve("captions/_temporary/0/_temporary/attempt_1/status=ok");
        Files.createDirectories(attempt);
        Files.copy(Files.list(tmp.resolve("captions/status=ok")).filter(p -> p.toString().endsWith(".parquet")).findFirst().orElseThrow(),
                attempt.resolve("part-00000-dead.snappy.parquet"));
        assertEquals(Map.of("a", List.of("ok")), statusesById(out));
        assertEquals(List.of("b"), CaptionOutput.Resume.of(spark, out).remaining(input("a", "b")).select(ImageSources.ID)
                .collectAsList().stream().map(r -> r.getString(0)).collect(Collectors.toList()));
    }
}
