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
    void engineThreadsDefaultToTheExecutorsCoresUnlessGiven() {
        assertEquals(6, TaskDevices.engineOptions(auto, -1, 6).threads());
        assertEquals(2, TaskDevices.engineOptions(auto.withEngineThreads(2), -1, 6).threads());
    }
}
