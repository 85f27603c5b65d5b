package io.lfmcap.pipeline;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The files that make up a model, as found on a Hadoop file system (local, HDFS, S3A, ...): a
 * {@code .pte} file (with its {@code <name>.ptd} weights file when exported with external weights), or
 * a Hugging Face checkpoint folder's top-level {@code .json}, {@code .safetensors} and {@code .jinja}
 * files (what {@code CheckpointPackage} reads; other files such as READMEs or ONNX exports are not
 * shipped).
 *
 * @param uri     the model as given, qualified (e.g. {@code hdfs://nn/models/lfm2-vl.pte})
 * @param name    the file or folder name, used for the executor-local copy
 * @param folder  whether it is a checkpoint folder
 * @param entries the files, in path order: paths inside the folder, or for a file its name and that of
 *                its {@code .ptd} (files of the same folder)
 */
public record ModelFiles(String uri, String name, boolean folder, List<Entry> entries) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** One file: its path inside the folder (a file model: its name) and its size. */
    public record Entry(String relativePath, long length) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    public ModelFiles {
        entries = List.copyOf(entries);
    }

    /** Lists the model at {@code uri}; the message says what to pass when it is missing or empty. */
    public static ModelFiles list(String uri, Configuration hadoopConf) {
        Path path = new Path(uri);
        try {
            FileSystem fs = path.getFileSystem(hadoopConf);
            FileStatus status;
            try {
                status = fs.getFileStatus(path);
            } catch (FileNotFoundException e) {
                throw new IllegalArgumentException("model " + uri + " does not exist: pass a .pte file or a Hugging Face checkpoint folder", e);
            }
            String qualified = fs.makeQualified(path).toString();
            if (status.isFile()) {
                List<Entry> entries = new ArrayList<>(List.of(new Entry(path.getName(), status.getLen())));
                Path ptd = weightsFileOf(path);
                if (ptd != null && fs.exists(ptd)) entries.add(new Entry(ptd.getName(), fs.getFileStatus(ptd).getLen()));
                return new ModelFiles(qualified, path.getName(), false, entries);
            }
            List<Entry> entries = new ArrayList<>();
            for (FileStatus f : fs.listStatus(path)) {
                if (f.isFile() && isModelFile(f.getPath().getName()))
                    entries.add(new Entry(f.getPath().getName(), f.getLen()));
            }
            entries.sort(Comparator.comparing(Entry::relativePath));
            if (entries.isEmpty())
                throw new IllegalArgumentException("model folder " + uri + " has no .json, .safetensors or .jinja files: pass a Hugging Face checkpoint folder or a .pte file");
            return new ModelFiles(qualified, path.getName(), true, entries);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list model " + uri + ": " + e.getMessage(), e);
        }
    }

    /** {@code <name>.ptd} beside {@code <name>.pte} (where the runtime looks for external weights), or null. */
    private static Path weightsFileOf(Path pte) {
        String n = pte.getName();
        if (!n.toLowerCase(Locale.ROOT).endsWith(".pte")) return null;
        return new Path(pte.getParent(), n.substring(0, n.length() - 4) + ".ptd");
    }

    private static boolean isModelFile(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return !n.startsWith(".") && (n.endsWith(".json") || n.endsWith(".safetensors") || n.endsWith(".jinja"));
    }

    /** The Hadoop path of one entry. */
    public Path source(Entry e) {
        return folder ? new Path(new Path(uri), e.relativePath()) : new Path(new Path(uri).getParent(), e.relativePath());
    }

    /** Where one entry lies in a local layout of the model whose main path (file or folder) is {@code model}. */
    public java.nio.file.Path local(java.nio.file.Path model, Entry e) {
        return folder ? model.resolve(e.relativePath()) : model.resolveSibling(e.relativePath());
    }

    public long totalBytes() {
        long sum = 0;
        for (Entry e : entries) sum += e.length();
        return sum;
    }
}
