package io.lfmcap.pipeline;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;

/**
 * Inputs of the captioning stage, in its input layout: {@value #ID} (string), {@value #PATH} (string,
 * may be null) and, for tables that carry the bytes, {@value #IMAGE} (binary). Without an
 * {@value #IMAGE} column the stage reads each file from its path in the task.
 */
public final class ImageSources {
    public static final String ID = "id";
    public static final String PATH = "path";
    public static final String IMAGE = "image";
    /** Common image file names, both cases (Hadoop glob filters are case-sensitive). */
    public static final String DEFAULT_GLOB = "*.{jpg,jpeg,png,webp,gif,bmp,tif,tiff,JPG,JPEG,PNG,WEBP,GIF,BMP,TIF,TIFF}";

    private ImageSources() {}

    /**
     * Image files under a folder or matching a glob (any Hadoop file system), listed by Spark's
     * {@code binaryFile} source (its file index, listing in parallel on large trees); contents are
     * read by the tasks. The id is the file's full path. Empty files are kept (a binaryFile scan
     * would drop them) so that they become {@code empty_input} rows. About {@value #FILES_PER_TASK}
     * files per task, at least {@code spark.default.parallelism} tasks.
     *
     * @param globFilter file-name filter ({@code pathGlobFilter}), or null for every file
     * @param recursive  whether to descend into sub-folders
     */
    public static Dataset<Row> files(SparkSession spark, String pathOrGlob, String globFilter, boolean recursive) {
        var reader = spark.read().format("binaryFile").option("recursiveFileLookup", recursive);
        if (globFilter != null && !globFilter.isEmpty()) reader = reader.option("pathGlobFilter", globFilter);
        String[] paths = reader.load(pathOrGlob).inputFiles();
        Arrays.sort(paths);
        List<Row> rows = new ArrayList<>(paths.length);
        for (String p : paths) rows.add(RowFactory.create(p, p));
        int parallelism = spark.sparkContext().defaultParallelism();
        int slices = Math.max(1, Math.min(paths.length, Math.max(parallelism, (paths.length + FILES_PER_TASK - 1) / FILES_PER_TASK)));
        StructType schema = new StructType().add(ID, DataTypes.StringType, false).add(PATH, DataTypes.StringType, false);
        return spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(rows, slices), schema);
    }

    /** Files per task when listing image files. */
    public static final int FILES_PER_TASK = 256;

    /**
     * A Parquet table with an id column and an image-bytes column (and optionally a path column
     * kept in the output); the names are the table's.
     */
    public static Dataset<Row> parquet(SparkSession spark, String path, String idColumn, String imageColumn, String pathColumn) {
        return table(spark.read().parquet(path), path, idColumn, imageColumn, pathColumn);
    }

    /** Any table with an id column and an image-bytes column, as {@link #parquet} takes it. */
    public static Dataset<Row> table(Dataset<Row> table, String name, String idColumn, String imageColumn, String pathColumn) {
        requireColumn(table, name, idColumn, "--id-column");
        requireColumn(table, name, imageColumn, "--image-column");
        if (!(table.schema().apply(imageColumn).dataType() instanceof org.apache.spark.sql.types.BinaryType))
            throw new IllegalArgumentException("column '" + imageColumn + "' of " + name + " is "
                    + table.schema().apply(imageColumn).dataType().simpleString() + ", not binary: name the column holding the image bytes with --image-column");
        Column pathCol = pathColumn == null ? lit(null).cast(DataTypes.StringType) : col(pathColumn).cast(DataTypes.StringType);
        if (pathColumn != null) requireColumn(table, name, pathColumn, "--path-column");
        return table.select(col(idColumn).cast(DataTypes.StringType).as(ID), pathCol.as(PATH), col(imageColumn).as(IMAGE));
    }

    private static void requireColumn(Dataset<Row> table, String name, String column, String option) {
        if (!Arrays.asList(table.columns()).contains(column))
            throw new IllegalArgumentException(name + " has no column '" + column + "' (columns: " + String.join(", ", table.columns())
                    + "): name it with " + option);
    }
}
