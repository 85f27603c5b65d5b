package io.lfmcap.pipeline;

import static org.apache.spark.sql.functions.col;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * The caption table on disk: Parquet partitioned by {@code status} ({@code status=ok/},
 * {@code status=error/}), so that error rows can be superseded on resume without rewriting good ones.
 * Each task's files are committed when the task ends (Hadoop's file output committer, algorithm 2),
 * so a job that dies keeps every finished task's rows for {@code --resume}.
 */
public final class CaptionOutput {
    private CaptionOutput() {}

    /** The table at {@code path} with its columns in {@link CaptionSchema#OUTPUT} order. */
    public static Dataset<Row> read(SparkSession spark, String path) {
        Column[] columns = Arrays.stream(CaptionSchema.OUTPUT.fieldNames()).map(org.apache.spark.sql.functions::col).toArray(Column[]::new);
        return spark.read().schema(CaptionSchema.OUTPUT).parquet(path).select(columns);
    }

    /** Whether a caption table (any committed file) is at {@code path}. */
    public static boolean exists(String path, Configuration conf) {
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem(conf);
            return fs.exists(p) && !dataFiles(fs, p).isEmpty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot look at output " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes {@code captions} (in {@link CaptionSchema#OUTPUT}) to {@code path}.
     *
     * @param mode {@link SaveMode#ErrorIfExists}, {@link SaveMode#Append} or {@link SaveMode#Overwrite}
     */
    public static void write(Dataset<Row> captions, String path, SaveMode mode) {
        captions.write()
                .mode(mode)
                .partitionBy(CaptionSchema.STATUS)
                .option("mapreduce.fileoutputcommitter.algorithm.version", "2")
                .parquet(path);
    }

    /**
     * What is already done in the output before a resumed run: the ids with an ok row, and the files
     * of error rows (all superseded once the run has captioned every id without an ok row again).
     */
    public static final class Resume {
        private final Dataset<Row> doneIds;
        private final List<Path> staleErrorFiles;
        private final FileSystem fs;

        private Resume(Dataset<Row> doneIds, List<Path> staleErrorFiles, FileSystem fs) {
            this.doneIds = doneIds;
            this.staleErrorFiles = staleErrorFiles;
            this.fs = fs;
        }

        /** Reads what {@code path} holds now (nothing when it does not exist yet). */
        public static Resume of(SparkSession spark, String path) {
            Configuration conf = spark.sparkContext().hadoopConfiguration();
            try {
                Path root = new Path(path);
                FileSystem fs = root.getFileSystem(conf);
                if (!exists(path, conf))
                    return new Resume(spark.createDataFrame(List.of(), CaptionSchema.OUTPUT).select(CaptionSchema.ID), List.of(), fs);
                Path errors = new Path(root, CaptionSchema.STATUS + "=" + CaptionSchema.ERROR);
                List<Path> stale = fs.exists(errors) ? dataFiles(fs, errors) : List.of();
                Dataset<Row> ok = read(spark, path).filter(col(CaptionSchema.STATUS).equalTo(CaptionSchema.OK))
                        .select(CaptionSchema.ID).distinct();
                return new Resume(ok, stale, fs);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read output " + path + " to resume: " + e.getMessage(), e);
            }
        }

        /** The ids that already have an ok row. */
        public Dataset<Row> doneIds() { return doneIds; }

        /** The rows of {@code input} (in the stage's input layout) whose id has no ok row yet. */
        public Dataset<Row> remaining(Dataset<Row> input) {
            return input.join(doneIds, input.col(ImageSources.ID).equalTo(doneIds.col(CaptionSchema.ID)), "left_anti");
        }

        /** The error-row files found before this run; delete them with {@link #dropSupersededErrors()}. */
        public List<Path> staleErrorFiles() { return staleErrorFiles; }

        /**
         * After the run's write has committed: deletes the error rows written before it, whose ids were
         * all captioned again (or already had an ok row), so each id keeps exactly one row.
         */
        public void dropSupersededErrors() {
            try {
                for (Path p : staleErrorFiles) fs.delete(p, false);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete superseded error rows: " + e.getMessage()
                        + "; rerun with --resume to finish", e);
            }
        }
    }

    /** Committed Parquet files under {@code dir} (Spark's hidden files and folders left out). */
    private static List<Path> dataFiles(FileSystem fs, Path dir) throws IOException {
        List<Path> files = new ArrayList<>();
        RemoteIterator<LocatedFileStatus> it = fs.listFiles(dir, true);
        while (it.hasNext()) {
            LocatedFileStatus f = it.next();
            if (!hidden(dir, f.getPath()) && f.getPath().getName().endsWith(".parquet")) files.add(f.getPath());
        }
        return files;
    }

    private static boolean hidden(Path root, Path file) {
        for (Path p = file; p != null && !p.equals(root) && p.depth() > root.depth(); p = p.getParent()) {
            String n = p.getName();
            if (n.startsWith("_") || n.startsWith(".")) return true;
        }
        return false;
    }
}
