package io.lfmcap.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class CaptionEnginesTest {
    @Test
    void aGpuEngineLeavesTwoCoresToItsOwnThreadsAndACpuEngineTakesWhatItIsGiven() {
        assertEquals(14, CaptionEngines.preprocessThreads(true, 16, 16));
        assertEquals(8, CaptionEngines.preprocessThreads(true, 8, 16), "an explicit smaller --threads stands");
        assertEquals(1, CaptionEngines.preprocessThreads(true, 2, 2), "at least one");
        assertEquals(16, CaptionEngines.preprocessThreads(false, 16, 16));
    }
}
