package io.lfmcap.pipeline;

import io.lfmcap.engine.CaptionResult;
import java.sql.Timestamp;
import java.time.Instant;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The captioning output: one row per input row, whatever happened to it. {@code status} is
 * {@value #OK} or {@value #ERROR}; an error row keeps its id and path and says why in
 * {@code error_class} (an {@link io.lfmcap.engine.ErrorClass} code, or {@value #READ_ERROR} when the
 * image file could not be read) and {@code error_message}.
 */
public final class CaptionSchema {
    public static final String OK = "ok";
    public static final String ERROR = "error";
    /** The image file could not be read (missing, unreadable): not a property of the image, so retried on resume. */
    public static final String READ_ERROR = "read_error";

    public static final String ID = "id";
    public static final String PATH = "path";
    public static final String CAPTION = "caption";
    public static final String STATUS = "status";
    public static final String ERROR_CLASS = "error_class";
    public static final String ERROR_MESSAGE = "error_message";
    public static final String PROMPT = "prompt";
    public static final String IMAGE_WIDTH = "image_width";
    public static final String IMAGE_HEIGHT = "image_height";
    public static final String NUM_IMAGE_TOKENS = "num_image_tokens";
    public static final String NUM_PROMPT_TOKENS = "num_prompt_tokens";
    public static final String NUM_GENERATED_TOKENS = "num_generated_tokens";
    public static final String FINISH_REASON = "finish_reason";
    public static final String LATENCY_MS = "latency_ms";
    public static final String MODEL_NAME = "model_name";
    public static final String MODEL_SHA256 = "model_sha256";
    public static final String CREATED_AT = "created_at";

    public static final StructType OUTPUT = new StructType(new StructField[] {
        DataTypes.createStructField(ID, DataTypes.StringType, false),
        DataTypes.createStructField(PATH, DataTypes.StringType, true),
        DataTypes.createStructField(CAPTION, DataTypes.StringType, true),
        DataTypes.createStructField(STATUS, DataTypes.StringType, false),
        DataTypes.createStructField(ERROR_CLASS, DataTypes.StringType, true),
        DataTypes.createStructField(ERROR_MESSAGE, DataTypes.StringType, true),
        DataTypes.createStructField(PROMPT, DataTypes.StringType, false),
        DataTypes.createStructField(IMAGE_WIDTH, DataTypes.IntegerType, true),
        DataTypes.createStructField(IMAGE_HEIGHT, DataTypes.IntegerType, true),
        DataTypes.createStructField(NUM_IMAGE_TOKENS, DataTypes.IntegerType, true),
        DataTypes.createStructField(NUM_PROMPT_TOKENS, DataTypes.IntegerType, true),
        DataTypes.createStructField(NUM_GENERATED_TOKENS, DataTypes.IntegerType, true),
        DataTypes.createStructField(FINISH_REASON, DataTypes.StringType, true),
        DataTypes.createStructField(LATENCY_MS, DataTypes.DoubleType, false),
        DataTypes.createStructField(MODEL_NAME, DataTypes.StringType, false),
        DataTypes.createStructField(MODEL_SHA256, DataTypes.StringType, false),
        DataTypes.createStructField(CREATED_AT, DataTypes.TimestampType, false),
    });

    private CaptionSchema() {}

    /** The model that wrote a row. */
    public record ModelIdentity(String name, String sha256) implements java.io.Serializable {}

    static Row ok(String id, String path, String prompt, CaptionResult r, double latencyMs, ModelIdentity model) {
        return RowFactory.create(id, path, r.text(), OK, null, null, prompt,
                r.imageWidth(), r.imageHeight(), r.imageTokens(), r.promptTokens(), r.generatedTokens(),
                r.finishReason().code(), latencyMs, model.name(), model.sha256(), now());
    }

    static Row error(String id, String path, String prompt, String errorClass, String message, double latencyMs,
                     ModelIdentity model) {
        return RowFactory.create(id, path, null, ERROR, errorClass, message, prompt,
                null, null, null, null, null, null, latencyMs, model.name(), model.sha256(), now());
    }

    private static Timestamp now() { return Timestamp.from(Instant.now()); }
}
