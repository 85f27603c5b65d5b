package io.lfmcap.jobs;

import io.lfmcap.engine.CaptionRequest;
import io.lfmcap.engine.EngineOptions;
import io.lfmcap.engine.SamplingParams;
import io.lfmcap.pipeline.CaptionOutput;
import io.lfmcap.pipeline.CaptionSettings;
import io.lfmcap.pipeline.CaptionStage;
import io.lfmcap.pipeline.CaptionSummary;
import io.lfmcap.pipeline.ImageSources;
import io.lfmcap.pipeline.ModelDistribution;
import io.lfmcap.pipeline.ProgressReporter;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.substring;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Captions images with Spark and writes Parquet, one row per input image:
 * {@code spark-submit --class io.lfmcap.jobs.CaptionJob lfmcap-jobs.jar --input ... --output ... --model ...}.
 * With no arguments (or {@code --demo}) it runs the embedded default in Spark local mode: the tiny
 * model exported to a .pte, the bundled demo images and one broken file, Parquet in
 * {@code out/captions.parquet}, a few rows printed.
 */
@Command(name = "CaptionJob", mixinStandardHelpOptions = true, sortOptions = false, usageHelpWidth = 110,
        description = "Caption image files or a Parquet table of images with LFM2-VL on Spark; write Parquet.")
public final class CaptionJob implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(CaptionJob.class);
    /** Where the embedded default writes its Parquet (relative to the working folder). */
    static final Path DEMO_OUTPUT = Paths.get("out", "captions.parquet");

    // --- input
    @Option(names = "--input", paramLabel = "PATH", description = "Image folder, file or glob, or a Parquet table (--input-format parquet); any Hadoop file system.")
    String input;

    @Option(names = "--input-format", paramLabel = "FORMAT", defaultValue = "images", description = "images (files read with Spark's binaryFile listing) or parquet. Default: ${DEFAULT-VALUE}.")
    String inputFormat;

    @Option(names = "--glob", paramLabel = "GLOB", defaultValue = ImageSources.DEFAULT_GLOB, description = "File-name filter for images (pathGlobFilter; '*' for every file). Default: common image extensions.")
    String glob;

    @Option(names = "--recursive", negatable = true, defaultValue = "true", fallbackValue = "true", description = "Descend into sub-folders (--no-recursive: only the folder itself). Default: ${DEFAULT-VALUE}.")
    boolean recursive;

    @Option(names = "--id-column", paramLabel = "NAME", defaultValue = "id", description = "Parquet input: the id column. Default: ${DEFAULT-VALUE}.")
    String idColumn;

    @Option(names = "--image-column", paramLabel = "NAME", defaultValue = "image", description = "Parquet input: the image-bytes column. Default: ${DEFAULT-VALUE}.")
    String imageColumn;

    @Option(names = "--path-column", paramLabel = "NAME", description = "Parquet input: a column copied to the output's path (optional).")
    String pathColumn;

    // --- output
    @Option(names = "--output", paramLabel = "PATH", description = "Output Parquet folder (partitioned by status).")
    String output;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "error", description = "When the output exists: error, append or overwrite. Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = "--resume", description = "Skip ids that already have an ok row in the output; caption the rest, appending; earlier error rows are replaced.")
    boolean resume;

    @Option(names = "--show", paramLabel = "N", defaultValue = "0", description = "Print N output rows at the end. Default: ${DEFAULT-VALUE}.")
    int show;

    // --- model
    @Option(names = "--model", paramLabel = "URI", description = "A .pte file or a Hugging Face checkpoint folder; any Hadoop file system (file:, hdfs:, s3a:, ...).")
    String model;

    @Option(names = "--model-distribution", paramLabel = "HOW", defaultValue = "broadcast", description = "broadcast, files (addFile) or shared (every executor reads the path). Default: ${DEFAULT-VALUE}.")
    String distribution;

    @Option(names = "--model-sha256", paramLabel = "HEX", description = "Expected SHA-256 of the model (saves the driver a full read for files/shared).")
    String modelSha256;

    @Option(names = "--local-model-dir", paramLabel = "DIR", description = "Executor-local folder for model copies. Default: the executor's Spark work folder.")
    String localModelDir;

    // --- generation
    @Option(names = "--prompt", paramLabel = "TEXT", defaultValue = CaptionRequest.DEFAULT_PROMPT, description = "The instruction. Default: '${DEFAULT-VALUE}'.")
    String prompt;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "" + CaptionSettings.DEFAULT_MAX_NEW_TOKENS, description = "Longest caption in tokens. Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--recommended-sampling", description = "LiquidAI's sampling: temperature 0.1, min-p 0.15, repetition penalty 1.05 (flags below override).")
    boolean recommendedSampling;

    @Option(names = "--temperature", paramLabel = "T", description = "0 = greedy (default).")
    Double temperature;

    @Option(names = "--top-p", paramLabel = "P", description = "Default 1.")
    Double topP;

    @Option(names = "--min-p", paramLabel = "P", description = "Default 0.")
    Double minP;

    @Option(names = "--repetition-penalty", paramLabel = "R", description = "Default 1.")
    Double repetitionPenalty;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Sampling seed of every request. Default: ${DEFAULT-VALUE}.")
    long seed;

    // --- engine
    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "auto", description = "auto (the task's Spark GPU, else CPU), cuda or cpu. Default: ${DEFAULT-VALUE}.")
    String backend;

    @Option(names = "--engine-threads", paramLabel = "N", defaultValue = "0", description = "Engine preprocessing (and CPU math) threads per executor; 0 = spark.executor.cores. Default: ${DEFAULT-VALUE}.")
    int engineThreads;

    @Option(names = "--max-batch", paramLabel = "N", defaultValue = "0", description = "Sequences one engine decodes together; 0: "
            + CaptionSettings.GPU_MAX_BATCH + " on a GPU, 8 on the CPU. Default: ${DEFAULT-VALUE}.")
    int maxBatch;

    @Option(names = "--max-image-pixels", paramLabel = "N", description = "Images declaring more pixels become too_large rows. Default: " + EngineOptions.DEFAULT_MAX_IMAGE_PIXELS + ".")
    Long maxImagePixels;

    @Option(names = "--max-sequence-tokens", paramLabel = "N", description = "Longest prompt + image + caption tokens per request. Default: the engine's (4096).")
    Integer maxSequenceTokens;

    @Option(names = "--max-file-bytes", paramLabel = "N", defaultValue = "" + CaptionSettings.DEFAULT_MAX_FILE_BYTES, description = "Larger files become too_large rows. Default: ${DEFAULT-VALUE}.")
    long maxFileBytes;

    // --- parallelism
    @Option(names = "--partitions", paramLabel = "N", defaultValue = "0", description = "Repartition the input into N tasks (0: as listed/stored). Default: ${DEFAULT-VALUE}.")
    int partitions;

    @Option(names = "--in-flight", paramLabel = "N", defaultValue = "0", description = "Requests each task keeps submitted ahead; 0: enough for the executor's tasks to fill a batch (at least "
            + CaptionSettings.DEFAULT_IN_FLIGHT + "). Default: ${DEFAULT-VALUE}.")
    int inFlight;

    @Option(names = "--progress-interval", paramLabel = "SECONDS", defaultValue = "30", description = "Seconds between progress lines in the driver log. Default: ${DEFAULT-VALUE}.")
    long progressInterval;

    // --- demo
    @Option(names = "--demo", description = "Run the embedded default (also what no arguments do): tiny model, bundled images, local mode.")
    boolean demo;

    @Option(names = "--demo-dir", paramLabel = "DIR", defaultValue = "out/demo", description = "Where the demo writes its model and images. Default: ${DEFAULT-VALUE}.")
    String demoDir;

    public static void main(String[] args) {
        int code = run(args);
        if (code != 0) System.exit(code);
    }

    /**
     * Parses {@code args} and runs the job; returns the exit code: 0 done, 2 a usage or input error
     * (message on stderr), 1 any other failure (stack trace on stderr).
     */
    public static int run(String... args) {
        String[] effective = args.length == 0 ? new String[] {"--demo"} : args;
        return commandLine(new CaptionJob()).execute(effective);
    }

    /** A command line whose user errors (bad option, missing input or model) print one line and exit 2. */
    static CommandLine commandLine(Object command) {
        CommandLine cl = new CommandLine(command);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof IllegalArgumentException || e instanceof io.lfmcap.pipeline.ModelChecksumException
                    || e instanceof org.apache.spark.sql.AnalysisException) {
                cmd.getErr().println(cmd.getCommandName() + ": " + e.getMessage());
                return 2;
            }
            throw e;
        });
        return cl;
    }

    @Override
    public Integer call() {
        if (demo) applyDemoDefaults();
        if (input == null || output == null || model == null)
            throw new CommandLine.ParameterException(new CommandLine(this), "--input, --output and --model are required (or --demo)");
        SaveMode saveMode = saveMode();
        CaptionSettings settings = settings();
        ModelDistribution how = ModelDistribution.parse(distribution);

        boolean ownSession = SparkSession.getDefaultSession().isEmpty();
        SparkSession spark = session();
        try {
            SparkContext sc = spark.sparkContext();
            Dataset<Row> images = source(spark);
            CaptionOutput.Resume resumed = null;
            if (resume) {
                resumed = CaptionOutput.Resume.of(spark, output);
                long done = resumed.doneIds().count();
                LOG.info("lfmcap resume: {} ids already have an ok row in {}; captioning the rest, {} earlier error file(s) to replace",
                        done, output, resumed.staleErrorFiles().size());
                images = resumed.remaining(images);
            }
            if (partitions > 0) images = images.repartition(partitions);

            long start = System.nanoTime();
            CaptionSummary summary;
            try (CaptionStage stage = CaptionStage.builder(spark).model(model).distribution(how).expectedSha256(modelSha256)
                    .settings(settings).build()) {
                String name = stage.model().files().name();
                sc.setJobDescription("lfmcap: caption " + input + " with " + name + " into " + output);
                sc.setCallSite("lfmcap caption (" + name + ", " + how.code() + ")");
                ProgressReporter progress = ProgressReporter.start(sc, stage.metrics(), progressInterval);
                try {
                    CaptionOutput.write(stage.caption(images), output, saveMode);
                } finally {
                    progress.close();
                    sc.clearCallSite();
                    sc.setJobDescription(null);
                }
                if (resumed != null) resumed.dropSupersededErrors();
                summary = stage.metrics().summary((System.nanoTime() - start) / 1e9);
            }
            String line = "lfmcap summary: " + summary.format() + "; output " + output;
            LOG.info(line);
            System.out.println(line);
            if (show > 0) CaptionOutput.read(spark, output)
                    .select(col("id"), col("status"), col("error_class"), substring(col("caption"), 1, 60).as("caption"),
                            col("num_generated_tokens"), col("latency_ms"))
                    .show(show, false);
            return 0;
        } finally {
            if (ownSession) spark.stop();
        }
    }

    private void applyDemoDefaults() {
        DemoInputs.Prepared demoInputs = DemoInputs.prepare(Paths.get(demoDir));
        if (input == null) input = demoInputs.imagesDir().toUri().toString();
        if (model == null) model = demoInputs.model().toUri().toString();
        if (output == null) {
            output = DEMO_OUTPUT.toAbsolutePath().toUri().toString();
            if ("error".equals(mode)) mode = "overwrite";
        }
        if (show == 0) show = 10;
        if (maxNewTokens == CaptionSettings.DEFAULT_MAX_NEW_TOKENS) maxNewTokens = 24;
        if (progressInterval == 30) progressInterval = 5;
    }

    private SparkSession session() {
        SparkSession.Builder b = SparkSession.builder().appName("lfmcap CaptionJob");
        if (!new SparkConf().contains("spark.master")) b = b.master("local[*]");
        return b.getOrCreate();
    }

    private Dataset<Row> source(SparkSession spark) {
        return switch (inputFormat.toLowerCase(Locale.ROOT)) {
            case "images" -> ImageSources.files(spark, input, "*".equals(glob) ? null : glob, recursive);
            case "parquet" -> ImageSources.parquet(spark, input, idColumn, imageColumn, pathColumn);
            default -> throw new CommandLine.ParameterException(new CommandLine(this), "unknown --input-format '" + inputFormat + "': use images or parquet");
        };
    }

    private SaveMode saveMode() {
        SaveMode m = switch (mode.toLowerCase(Locale.ROOT)) {
            case "error", "errorifexists", "error-if-exists" -> SaveMode.ErrorIfExists;
            case "append" -> SaveMode.Append;
            case "overwrite" -> SaveMode.Overwrite;
            default -> throw new CommandLine.ParameterException(new CommandLine(this), "unknown --mode '" + mode + "': use error, append or overwrite");
        };
        if (resume && m == SaveMode.Overwrite)
            throw new CommandLine.ParameterException(new CommandLine(this), "--resume keeps what the output holds: it cannot be combined with --mode overwrite");
        return resume ? SaveMode.Append : m;
    }

    private CaptionSettings settings() {
        SamplingParams base = recommendedSampling ? SamplingParams.recommended(seed) : new SamplingParams(0, 1, 0, 1, seed);
        SamplingParams sampling = new SamplingParams(
                temperature != null ? temperature : base.temperature(),
                topP != null ? topP : base.topP(),
                minP != null ? minP : base.minP(),
                repetitionPenalty != null ? repetitionPenalty : base.repetitionPenalty(),
                seed);
        EngineOptions.Backend b;
        try {
            b = EngineOptions.Backend.valueOf(backend.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(new CommandLine(this), "unknown --backend '" + backend + "': use auto, cuda or cpu");
        }
        CaptionSettings s = CaptionSettings.defaults().withPrompt(prompt).withMaxNewTokens(maxNewTokens).withSampling(sampling)
                .withBackend(b).withEngineThreads(engineThreads).withInFlight(inFlight).withMaxFileBytes(maxFileBytes)
                .withLocalModelDir(localModelDir).withMaxBatch(maxBatch);
        if (maxImagePixels != null) s = s.withMaxImagePixels(maxImagePixels);
        if (maxSequenceTokens != null) s = s.withMaxSequenceTokens(maxSequenceTokens);
        return s;
    }
}
