package io.lfmcap.pipeline;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.util.SerializableConfiguration;

/**
 * Captioning as a Dataset transformation, usable from any Spark Java or Scala code:
 *
 * <pre>{@code
 * try (CaptionStage stage = CaptionStage.builder(spark).model("hdfs:///models/lfm2-vl-450m.pte").build()) {
 *     Dataset<Row> captions = stage.caption(ImageSources.files(spark, "s3a://bucket/images/", ImageSources.DEFAULT_GLOB, true));
 *     CaptionOutput.write(captions, "s3a://bucket/captions/", SaveMode.ErrorIfExists);
 * }
 * }</pre>
 *
 * Input: columns {@code id} (string), {@code path} (string, may be null) and optionally {@code image}
 * (binary) — see {@link ImageSources}. Output: {@link CaptionSchema#OUTPUT}, one row per input row.
 * Building the stage ships the model (see {@link ModelDistribution}); closing it releases the broadcast
 * on the driver (executors keep their engines for later stages of the application).
 */
public final class CaptionStage implements AutoCloseable {
    private final ShippedModel model;
    private final CaptionSettings settings;
    private final Broadcast<SerializableConfiguration> hadoopConf;
    private final CaptionMetrics metrics;

    private CaptionStage(ShippedModel model, CaptionSettings settings, Broadcast<SerializableConfiguration> hadoopConf,
                         CaptionMetrics metrics) {
        this.model = model;
        this.settings = settings;
        this.hadoopConf = hadoopConf;
        this.metrics = metrics;
    }

    public static Builder builder(SparkSession spark) { return new Builder(spark); }

    /** Options of a captioning stage; only the model is required. */
    public static final class Builder {
        private final SparkSession spark;
        private String modelUri;
        private ModelDistribution distribution = ModelDistribution.BROADCAST;
        private String expectedSha256;
        private CaptionSettings settings = CaptionSettings.defaults();

        private Builder(SparkSession spark) {
            this.spark = Objects.requireNonNull(spark, "spark");
        }

        /** A {@code .pte} file or a Hugging Face checkpoint folder, on any Hadoop file system. */
        public Builder model(String uri) { this.modelUri = uri; return this; }

        public Builder distribution(ModelDistribution d) { this.distribution = Objects.requireNonNull(d); return this; }

        /** The model's expected SHA-256 (see {@link ModelShipper#ship}); null to compute it. */
        public Builder expectedSha256(String sha) { this.expectedSha256 = sha; return this; }

        public Builder settings(CaptionSettings s) { this.settings = Objects.requireNonNull(s); return this; }

        /** Ships the model and registers the stage's accumulators. */
        public CaptionStage build() {
            if (modelUri == null) throw new IllegalArgumentException("no model: pass a .pte file or a checkpoint folder");
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            Broadcast<SerializableConfiguration> conf = jsc.broadcast(new SerializableConfiguration(spark.sparkContext().hadoopConfiguration()));
            ShippedModel shipped = ModelShipper.ship(spark, modelUri, distribution, expectedSha256, conf);
            return new CaptionStage(shipped, settings, conf, CaptionMetrics.register(spark.sparkContext()));
        }
    }

    /** Captions every row of {@code images} (lazily: nothing runs until an action or a write). */
    public Dataset<Row> caption(Dataset<Row> images) {
        List<String> columns = Arrays.asList(images.columns());
        if (!columns.contains(ImageSources.ID) || !columns.contains(ImageSources.PATH))
            throw new IllegalArgumentException("the captioning input needs columns id and path (and image for bytes), has " + columns
                    + ": build it with ImageSources");
        boolean hasImage = columns.contains(ImageSources.IMAGE);
        Dataset<Row> in = hasImage
                ? images.select(images.col(ImageSources.ID).cast(DataTypes.StringType), images.col(ImageSources.PATH).cast(DataTypes.StringType), images.col(ImageSources.IMAGE))
                : images.select(images.col(ImageSources.ID).cast(DataTypes.StringType), images.col(ImageSources.PATH).cast(DataTypes.StringType));
        return in.mapPartitions(new CaptionPartition(model, settings, hadoopConf, metrics, hasImage), Encoders.row(CaptionSchema.OUTPUT));
    }

    public ShippedModel model() { return model; }

    public CaptionSettings settings() { return settings; }

    public CaptionMetrics metrics() { return metrics; }

    /** Releases the model broadcast on the driver and executors (engines stay loaded). */
    @Override
    public void close() {
        if (model instanceof ShippedModel.Broadcasted b) b.bytes().destroy();
        hadoopConf.destroy();
    }
}
