package io.lfmcap.cli;

import io.lfmcap.pte.PteInspector;
import io.lfmcap.pte.PteModelPackage;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code lfmcap inspect}: what an exported .pte holds. */
@Command(name = "inspect", mixinStandardHelpOptions = true, sortOptions = false,
        headerHeading = "%n", header = "Show what an ExecuTorch .pte file holds.",
        descriptionHeading = "%n", description = {
            "Prints the container format (identifier, extended header, program and segment sizes, format versions), "
                    + "the model family and variant, every method with its inputs and outputs (dtype, upper-bound sizes, "
                    + "dynamic or not) and the backend it is delegated to, the constant methods' values (get_max_seq_len, "
                    + "get_eos_ids, ...), and every named data entry (weights, config, tokenizer, manifest) with its file, "
                    + "offset, size, SHA-256 and, for weights, dtype and shape.",
            "",
            "Programs exported by ExecuTorch for other backends (CudaBackend, XnnpackBackend, ...) are described too, "
                    + "and marked as not runnable by lfmcap with the reason."
        },
        footerHeading = "%nExamples:%n", footer = {
            "  lfmcap inspect lfm2.5-vl-450m.pte",
            "  lfmcap inspect --json lfm2.5-vl-450m.pte | jq '.constants'",
            "  lfmcap inspect --verify lfm2.5-vl-450m.pte",
            "",
            "Exit status: 0 shown (and verified), 1 the file is unreadable, corrupt, not runnable with --verify, "
                    + "or fails its checksums."
        })
public final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "The .pte to inspect (its .ptd is found beside it).")
    Path file;

    @Option(names = "--json", description = "Print the report as JSON instead of text.")
    boolean json;

    @Option(names = "--verify", description = "Also check the SHA-256 of every part and of the whole file(s) against the manifest.")
    boolean verify;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!Files.isRegularFile(file)) {
            err.println("lfmcap inspect: " + file + " is not a file; give a .pte made by 'lfmcap export'");
            return 1;
        }
        try {
            PteInspector report = PteInspector.inspect(file);
            out.print(json ? report.toJson() : report.toText());
            out.flush();
            if (!verify) return 0;
            if (!report.json().path("runnable").asBoolean()) {
                err.println("lfmcap inspect: not verified: " + report.json().path("problem").asText());
                return 1;
            }
            try (PteModelPackage pkg = PteModelPackage.open(file)) {
                PteModelPackage.Verification v = pkg.verify();
                err.println("checksums ok: " + ExportCommand.grouped(v.bytesHashed()) + " bytes hashed, file sha256 " + v.fileSha256());
            }
            return 0;
        } catch (IllegalArgumentException | UncheckedIOException e) {
            err.println("lfmcap inspect: " + e.getMessage());
            return 1;
        } finally {
            err.flush();
        }
    }
}
