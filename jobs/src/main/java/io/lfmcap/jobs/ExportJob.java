package io.lfmcap.jobs;

import io.lfmcap.pipeline.ModelFiles;
import io.lfmcap.pte.PteExporter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Exports a Hugging Face checkpoint folder to a {@code .pte} on the cluster, reading and writing any
 * Hadoop file system (the driver does the work; {@code spark.hadoop.*} settings such as S3A
 * credentials apply): {@code spark-submit --class io.lfmcap.jobs.ExportJob lfmcap-jobs.jar
 * --checkpoint s3a://models/LFM2-VL-450M --output s3a://models/lfm2-vl-450m.pte}. Remote inputs are
 * copied to a local temporary folder first (the exporter maps the weights), and the result is
 * uploaded when complete.
 */
@Command(name = "ExportJob", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Export a Hugging Face checkpoint folder to an ExecuTorch .pte (any Hadoop file system).")
public final class ExportJob implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(ExportJob.class);

    @Option(names = "--checkpoint", required = true, paramLabel = "URI", description = "The checkpoint folder (config.json, safetensors, tokenizer.json, processor config).")
    String checkpoint;

    @Option(names = "--output", required = true, paramLabel = "URI", description = "The .pte to write (with --external-weights also <name>.ptd beside it).")
    String output;

    @Option(names = "--external-weights", description = "Put the weights in a .ptd file beside the .pte.")
    boolean externalWeights;

    @Option(names = "--work-dir", paramLabel = "DIR", description = "Local folder for copies of remote files. Default: a temporary folder.")
    String workDir;

    public static void main(String[] args) {
        int code = run(args);
        if (code != 0) System.exit(code);
    }

    /** Parses {@code args} and exports; returns the exit code (0 done, 2 a user error). */
    public static int run(String... args) {
        return CaptionJob.commandLine(new ExportJob()).execute(args);
    }

    @Override
    public Integer call() throws IOException {
        if (!output.toLowerCase(Locale.ROOT).endsWith(".pte"))
            throw new IllegalArgumentException("--output " + output + " must name a .pte file");
        boolean ownSession = SparkSession.getDefaultSession().isEmpty();
        SparkSession.Builder builder = SparkSession.builder().appName("lfmcap ExportJob");
        if (!new SparkConf().contains("spark.master")) builder = builder.master("local[1]");
        SparkSession spark = builder.getOrCreate();
        try {
            Configuration conf = spark.sparkContext().hadoopConfiguration();
            Path work = workDir != null ? Files.createDirectories(Paths.get(workDir)) : Files.createTempDirectory("lfmcap-export-");
            Path localCheckpoint = localCheckpoint(conf, work);
            org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(output);
            FileSystem outFs = out.getFileSystem(conf);
            boolean localOut = "file".equals(outFs.getUri().getScheme());
            Path pte = localOut ? Paths.get(outFs.makeQualified(out).toUri()) : work.resolve(out.getName());
            long start = System.nanoTime();
            PteExporter.Result r = PteExporter.export(localCheckpoint, pte, externalWeights,
                    (item, done, total) -> LOG.debug("export {}: {} of {} bytes", item, done, total));
            if (!localOut) {
                List<Path> written = new ArrayList<>(List.of(r.pte()));
                if (r.ptd() != null) written.add(r.ptd());
                for (Path p : written)
                    outFs.copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(p.toUri()), new org.apache.hadoop.fs.Path(out.getParent(), p.getFileName().toString()));
            }
            String line = String.format(Locale.ROOT, "lfmcap export: %s -> %s (%d tensors, %.1f MB of weights%s, content sha256 %s) in %.1f s",
                    checkpoint, output, r.tensors(), r.weightBytes() / 1e6, r.ptd() == null ? "" : ", weights in .ptd",
                    r.fileSha256(), (System.nanoTime() - start) / 1e9);
            LOG.info(line);
            System.out.println(line);
            return 0;
        } finally {
            if (ownSession) spark.stop();
        }
    }

    /** The checkpoint as a local folder: itself when local, else its model files copied into {@code work}. */
    private Path localCheckpoint(Configuration conf, Path work) throws IOException {
        ModelFiles files = ModelFiles.list(checkpoint, conf);
        if (!files.folder()) throw new IllegalArgumentException("--checkpoint " + checkpoint + " is a file; give the checkpoint folder");
        URI uri = URI.create(files.uri());
        if ("file".equals(uri.getScheme())) return Paths.get(uri);
        Path local = Files.createDirectories(work.resolve(files.name()));
        FileSystem fs = new org.apache.hadoop.fs.Path(files.uri()).getFileSystem(conf);
        for (ModelFiles.Entry e : files.entries()) {
            try {
                fs.copyToLocalFile(false, files.source(e), new org.apache.hadoop.fs.Path(local.resolve(e.relativePath()).toUri()), true);
            } catch (IOException ex) {
                throw new UncheckedIOException("cannot copy " + files.source(e) + " to " + local + ": " + ex.getMessage(), ex);
            }
        }
        return local;
    }
}
