package io.lfmcap.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lfmcap.engine.EngineOptions;
import io.lfmcap.engine.EngineOptions.Backend;
import org.junit.jupiter.api.Test;

class TaskDevicesTest {
    private final CaptionSettings auto = CaptionSettings.defaults();

    @Test
    void autoRunsCudaOnTheTasksGpu() {
        EngineOptions o = TaskDevices.engineOptions(auto, 3, 8);
        assertEquals(Backend.CUDA, o.backend());
        assertEquals(3, o.deviceIndex());
    }

    @Test
    void autoWithoutGpuSchedulingRunsOnTheCpu() {
        EngineOptions o = TaskDevices.engineOptions(auto, -1, 8);
        assertEquals(Backend.CPU, o.backend());
        assertEquals(0, o.deviceIndex());
    }

    @Test
    void cudaWithoutGpuSchedulingUsesDeviceZero() {
        EngineOptions o = TaskDevices.engineOptions(auto.withBackend(Backend.CUDA), -1, 8);
        assertEquals(Backend.CUDA, o.backend());
        assertEquals(0, o.deviceIndex());
    }

    @Test
    void cpuIgnoresTheTasksGpu() {
        EngineOptions o = TaskDevices.engineOptions(auto.withBackend(Backend.CPU), 2, 8);
        assertEquals(Backend.CPU, o.backend());
        assertEquals(0, o.deviceIndex());
    }

    @Test
    void anUnsetBatchFollowsTheDevice() {
        assertEquals(CaptionSettings.GPU_MAX_BATCH, TaskDevices.engineOptions(auto, 0, 8).maxBatch(), "a GPU task");
        assertEquals(EngineOptions.defaults().maxBatch(), TaskDevices.engineOptions(auto, -1, 8).maxBatch(), "a CPU task");
        assertEquals(CaptionSettings.GPU_MAX_BATCH, TaskDevices.engineOptions(auto.withBackend(Backend.CUDA), -1, 8).maxBatch());
        assertEquals(32, TaskDevices.engineOptions(auto.withMaxBatch(32), 0, 8).maxBatch(), "a given batch stays");
        assertEquals(32, TaskDevices.engineOptions(auto.withMaxBatch(32), -1, 8).maxBatch());
    }

    @Test
    void anUnsetInFlightLetsTheExecutorsTasksFillABatch() {
        assertEquals(16, auto.inFlightPerTask(128, 8), "8 tasks x 16 = 128");
        assertEquals(22, auto.inFlightPerTask(128, 6), "rounded up");
        assertEquals(CaptionSettings.DEFAULT_IN_FLIGHT, auto.inFlightPerTask(8, 4), "never below the default");
        assertEquals(3, auto.withInFlight(3).inFlightPerTask(128, 8), "a given window stays");
    }

    @Test
    void engineThreadsDefaultToTheExecutorsCoresUnlessGiven() {
        assertEquals(6, TaskDevices.engineOptions(auto, -1, 6).threads());
        assertEquals(2, TaskDevices.engineOptions(auto.withEngineThreads(2), -1, 6).threads());
    }
}
