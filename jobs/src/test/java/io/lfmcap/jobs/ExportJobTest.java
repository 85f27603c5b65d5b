package io.lfmcap.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.model.tiny.TinyCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExportJobTest {
    @TempDir Path tmp;

    @Test
    void exportsACheckpointFolderToTheSamePteTheDemoMakes() throws Exception {
        JobTestSupport.spark();
        Path checkpoint = tmp.resolve("ckpt");
        TinyCheckpoint.write(checkpoint, TinyCheckpoint.Variant.LFM2_5_VL, TinyCheckpoint.DEFAULT_SEED);
        Path out = tmp.resolve("models/tiny.pte");
        Files.createDirectories(out.getParent());
        assertEquals(0, ExportJob.run("--checkpoint", checkpoint.toUri().toString(), "--output", out.toUri().toString()));
        assertArrayEquals(Files.readAllBytes(JobTestSupport.demo().model()), Files.readAllBytes(out), "the export is deterministic");
    }

    @Test
    void externalWeightsGoToAPtdBesideThePte() {
        JobTestSupport.spark();
        Path checkpoint = tmp.resolve("ckpt");
        TinyCheckpoint.write(checkpoint, TinyCheckpoint.Variant.LFM2_5_VL, TinyCheckpoint.DEFAULT_SEED);
        Path out = tmp.resolve("tiny.pte");
        assertEquals(0, ExportJob.run("--checkpoint", checkpoint.toString(), "--output", out.toString(), "--external-weights"));
        assertTrue(Files.isRegularFile(tmp.resolve("tiny.ptd")));
    }

    @Test
    void aFileInsteadOfAFolderIsAUserError() {
        JobTestSupport.spark();
        assertEquals(2, ExportJob.run("--checkpoint", JobTestSupport.demo().model().toString(), "--output", tmp.resolve("x.pte").toString()));
    }
}
