package io.lfmcap.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.pte.PteModelPackage;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ExportAndInspectCommandTest extends CommandTestSupport {
    @Test
    void exportWritesALoadableProgramAndReportsProgress() {
        Path pte = tmp.resolve("cli.pte");
        int status = run(new ExportCommand(), "--checkpoint", checkpoint.toString(), "--out", pte.toString(), "--external-weights");
        assertEquals(0, status, err.toString());
        assertTrue(out.toString().contains("wrote " + pte) && out.toString().contains("wrote " + tmp.resolve("cli.ptd")), out.toString());
        assertTrue(out.toString().contains("model LFM2.5-VL custom-"), out.toString());
        assertTrue(err.toString().contains("exporting 100%"), err.toString());
        try (PteModelPackage p = PteModelPackage.open(pte)) {
            assertEquals(tmp.resolve("cli.ptd"), p.weightsPath());
        }
    }

    @Test
    void exportOfAMissingFolderExplainsTheOption() {
        int status = run(new ExportCommand(), "--checkpoint", tmp.resolve("nope").toString(), "--out", tmp.resolve("x.pte").toString());
        assertEquals(1, status);
        assertTrue(err.toString().contains("--checkpoint takes a Hugging Face checkpoint folder"), err.toString());
    }

    @Test
    void inspectPrintsTheReportAndVerifies() {
        Path pte = tmp.resolve("inspect.pte");
        assertEquals(0, run(new ExportCommand(), "--checkpoint", checkpoint.toString(), "--out", pte.toString()));
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        assertEquals(0, run(new InspectCommand(), "--verify", pte.toString()), err.toString());
        assertTrue(out.toString().contains("text_decoder         LfmcapBackend"), out.toString());
        assertTrue(err.toString().contains("checksums ok"), err.toString());

        out.getBuffer().setLength(0);
        assertEquals(0, run(new InspectCommand(), "--json", pte.toString()));
        assertTrue(out.toString().startsWith("{") && out.toString().contains("\"get_max_seq_len\""), out.toString());
    }

    @Test
    void inspectOfACorruptFileFailsWithItsReason() throws Exception {
        Path bad = tmp.resolve("bad.pte");
        Files.write(bad, new byte[] {1, 2, 3, 4, 'X', 'Y', 'Z', 'W', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        assertEquals(1, run(new InspectCommand(), bad.toString()));
        assertTrue(err.toString().contains("not an ExecuTorch program (file identifier 'XYZW')"), err.toString());
    }

    @Test
    void helpDescribesTheCommands() {
        assertEquals(0, run(new ExportCommand(), "--help"));
        assertTrue(out.toString().contains("--external-weights") && out.toString().contains("Examples:"), out.toString());
        out.getBuffer().setLength(0);
        assertEquals(0, run(new InspectCommand(), "--help"));
        assertTrue(out.toString().contains("--verify"), out.toString());
    }

    private int run(Object command, String... args) { return run(new CommandLine(command), args); }
}
