package io.lfmcap.pte;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.model.CheckpointPackage;
import io.lfmcap.model.ModelPackage;
import io.lfmcap.model.tiny.TinyCheckpoint.Variant;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelPackagesTest {
    @TempDir
    Path tmp;

    @Test
    void aFolderOpensAsACheckpointAndAFileAsAProgram() {
        try (ModelPackage folder = ModelPackages.open(TinyExports.checkpoint(Variant.LFM2_5_VL));
             ModelPackage file = ModelPackages.open(TinyExports.pte())) {
            assertInstanceOf(CheckpointPackage.class, folder);
            assertInstanceOf(PteModelPackage.class, file);
            assertEquals(folder.config(), file.config());
        }
    }

    @Test
    void aWeightsFileOrAMissingPathIsExplained() {
        Path ptd = TinyExports.pte(Variant.LFM2_5_VL, true).resolveSibling("model.ptd");
        assertTrue(assertThrows(PteFormatException.class, () -> ModelPackages.open(ptd)).getMessage().contains("open the .pte that goes with it"));
        assertTrue(assertThrows(PteFormatException.class, () -> ModelPackages.open(tmp.resolve("none.pte"))).getMessage().contains("does not exist"));
    }

    @Test
    void aRenamedWeightsFileIsFoundWhenNamedAndMissedOtherwise() throws IOException {
        Path source = TinyExports.pte(Variant.LFM2_5_VL, true);
        Path pte = Files.copy(source, tmp.resolve("renamed.pte"));
        Path ptd = Files.copy(source.resolveSibling("model.ptd"), tmp.resolve("weights-elsewhere.ptd"));
        PteFormatException e = assertThrows(PteFormatException.class, () -> PteModelPackage.open(pte));
        assertTrue(e.getMessage().contains("exported as 'model.ptd'") && e.getMessage().contains("renamed.ptd, which does not exist"), e.getMessage());
        try (PteModelPackage p = PteModelPackage.open(pte, ptd)) {
            assertEquals(ptd, p.weightsPath());
            assertEquals(tmp.resolve("renamed.ptd"), PteModelPackage.weightsFileFor(pte));
        }
    }

    @Test
    void aPteWithItsOwnWeightsTakesNoPtd() {
        Path ptd = TinyExports.pte(Variant.LFM2_5_VL, true).resolveSibling("model.ptd");
        PteFormatException e = assertThrows(PteFormatException.class, () -> PteModelPackage.open(TinyExports.pte(), ptd));
        assertTrue(e.getMessage().contains("holds its own weights"), e.getMessage());
    }
}
