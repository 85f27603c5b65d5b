package io.lfmcap.cli;

import io.lfmcap.pte.ModelIdentity;
import io.lfmcap.pte.ProgressListener;
import io.lfmcap.pte.PteExporter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lfmcap export}: a Hugging Face checkpoint folder to one ExecuTorch .pte (and optionally a .ptd). */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        headerHeading = "%n", header = "Export a Hugging Face LFM2-VL / LFM2.5-VL checkpoint to an ExecuTorch .pte file.",
        descriptionHeading = "%n", description = {
            "Writes a genuine ExecuTorch program (ET12 with the eh00 header, 128-byte aligned segments) whose methods "
                    + "vision_encoder, token_embedding and text_decoder are delegated to the LfmcapBackend, with the LLM "
                    + "runner's constant methods (get_max_seq_len, get_vocab_size, get_bos_id, get_eos_ids, use_kv_cache, ...), "
                    + "the model family and variant, and as named data: every weight once under its Hugging Face name, "
                    + "bytes exactly as stored in the checkpoint (bf16 as published), each 128-byte aligned so it can be "
                    + "mapped and copied to a GPU as is; config, processor settings, tokenizer, chat template; and a "
                    + "manifest with the SHA-256 of every part and of the whole file.",
            "",
            "This one file is what a Spark job broadcasts to its executors; 'lfmcap caption' and the Spark stage load it "
                    + "directly, as they load a checkpoint folder, with identical results. Weights are streamed: memory "
                    + "stays flat whatever the model size. The file is written under <out>.part and renamed when complete.",
        },
        footerHeading = "%nExamples:%n", footer = {
            "  lfmcap export --checkpoint ~/models/LFM2.5-VL-450M --out lfm2.5-vl-450m.pte",
            "  lfmcap export --checkpoint ./LFM2-VL-1.6B --out lfm2-vl-1.6b.pte --external-weights",
            "      (writes lfm2-vl-1.6b.pte and lfm2-vl-1.6b.ptd; keep them side by side)",
            "",
            "Exit status: 0 written, 1 the checkpoint or output could not be used (the message says why)."
        })
public final class ExportCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, paramLabel = "DIR",
            description = "Hugging Face checkpoint folder: config.json, model.safetensors (or an index and shards), "
                    + "tokenizer.json, processor_config.json and/or preprocessor_config.json, optional chat template.")
    Path checkpoint;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The .pte to write (replaced if it exists).")
    Path out;

    @Option(names = "--external-weights",
            description = "Put the weights in a companion FlatTensor file <out name>.ptd instead of the .pte; "
                    + "the .pte then holds only the program and metadata. Loaders look for the .ptd beside the .pte.")
    boolean externalWeights;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter stdout = spec.commandLine().getOut();
        if (!Files.isDirectory(checkpoint)) {
            err.println("lfmcap export: " + checkpoint + " is not a folder; --checkpoint takes a Hugging Face checkpoint folder");
            return 1;
        }
        long start = System.nanoTime();
        try {
            PteExporter.Result r = PteExporter.export(checkpoint, out, externalWeights, new ProgressLine(err));
            double seconds = (System.nanoTime() - start) / 1e9;
            ModelIdentity id = r.identity();
            stdout.printf(Locale.ROOT, "wrote %s (%s bytes)%n", r.pte(), grouped(size(r.pte())));
            if (r.ptd() != null) stdout.printf(Locale.ROOT, "wrote %s (%s bytes)%n", r.ptd(), grouped(size(r.ptd())));
            stdout.printf(Locale.ROOT, "model %s %s, %d tensors, %s weight bytes, max sequence %d, sha256 %s, %.1f s%n",
                    id.family(), id.variant(), r.tensors(), grouped(r.weightBytes()), r.constants().maxSeqLen(), r.fileSha256(), seconds);
            stdout.flush();
            return 0;
        } catch (IllegalArgumentException | UncheckedIOException e) {
            err.println();
            err.println("lfmcap export: " + e.getMessage());
            err.flush();
            return 1;
        }
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String grouped(long n) { return String.format(Locale.ROOT, "%,d", n); }

    /**
     * Progress on stderr: one self-overwriting line on a terminal (at most 5 updates a second), plain
     * lines at every 10% otherwise (logs of batch jobs).
     */
    static final class ProgressLine implements ProgressListener {
        private final PrintWriter err;
        private final boolean terminal = System.console() != null;
        private long lastNanos;
        private int lastDecile = -1;

        ProgressLine(PrintWriter err) { this.err = err; }

        @Override
        public void progress(String item, long done, long total) {
            int percent = total == 0 ? 100 : (int) (100 * done / total);
            if (terminal) {
                long now = System.nanoTime();
                if (now - lastNanos < 200_000_000L && done < total) return;
                lastNanos = now;
                err.printf(Locale.ROOT, "\rexporting %3d%%  %s / %s MB  %-60.60s", percent, grouped(done >> 20), grouped(total >> 20), item);
                if (done == total) err.println();
            } else {
                if (percent / 10 == lastDecile) return;
                lastDecile = percent / 10;
                err.printf(Locale.ROOT, "exporting %3d%%  %s / %s MB  %s%n", percent, grouped(done >> 20), grouped(total >> 20), item);
            }
            err.flush();
        }
    }
}
