package io.lfmcap.cuda;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lfmcap.engine.CaptionEngine;
import io.lfmcap.engine.CaptionEngines;
import io.lfmcap.engine.EngineOptions;
import io.lfmcap.model.CheckpointPackage;
import io.lfmcap.model.ModelPackage;
import io.lfmcap.model.tiny.TinyCheckpoint;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Backend choice on a machine without a usable GPU (the CI case): nothing CUDA-related is needed. */
class CudaAvailabilityTest {
    @TempDir
    Path dir;

    @Test
    void theProbeNeverThrowsAndGivesAReasonWhenThereIsNoDevice() {
        int n = CudaDevices.count();
        assertTrue(n >= 0);
        if (n == 0) assertNotNull(CudaDevices.unavailableReason());
        assertFalse(CudaDevices.usable(-1));
        assertFalse(CudaDevices.usable(n));
    }

    @Test
    void autoFallsBackToTheCpuAndCudaSaysWhyItCannotRun() {
        assumeTrue(CudaDevices.count() == 0, "a CUDA device is present");
        TinyCheckpoint.write(dir, TinyCheckpoint.Variant.LFM2_5_VL, 1);
        try (ModelPackage pkg = CheckpointPackage.open(dir)) {
            EngineOptions auto = EngineOptions.defaults().withThreads(1);
            assertEquals(EngineOptions.Backend.AUTO, auto.backend());
            try (CaptionEngine engine = CaptionEngines.open(pkg, auto)) {
                assertTrue(engine.describe().contains("cpu"), engine.describe());
            }
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> CaptionEngines.open(pkg, auto.withBackend(EngineOptions.Backend.CUDA)));
            assertTrue(e.getMessage().contains("cannot run here") && e.getMessage().contains("--backend cpu"), e.getMessage());
        }
    }
}
