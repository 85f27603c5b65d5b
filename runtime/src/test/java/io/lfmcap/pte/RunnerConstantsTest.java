package io.lfmcap.pte;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.lfmcap.model.ModelConfig;
import io.lfmcap.model.tiny.TinyCheckpoint;
import io.lfmcap.model.tiny.TinyCheckpoint.Variant;
import io.lfmcap.pte.Program.ExecutionPlan;
import io.lfmcap.text.TinyTokenizer;
import java.util.List;
import org.junit.jupiter.api.Test;

class RunnerConstantsTest {
    @Test
    void constantMethodsCarryTheRunnerValuesOfTheConfig() {
        ModelConfig cfg = TinyCheckpoint.config(Variant.LFM2_5_VL);
        try (PteModelPackage p = PteModelPackage.open(TinyExports.pte())) {
            RunnerConstants c = p.constants();
            assertEquals(cfg.text().maxPositionEmbeddings(), c.maxSeqLen());
            assertEquals(c.maxSeqLen(), c.maxContextLen());
            assertEquals(TinyTokenizer.VOCAB_SIZE, c.vocabSize());
            assertEquals(1, c.bosId());
            assertEquals(List.of(7L), c.eosIds(), "<|im_end|>");
            assertEquals(true, c.useKvCache());
            assertEquals(true, c.enableDynamicShape());
            assertEquals("LFM2.5-VL", c.family());
            assertEquals(p.identity().variant(), c.variant());
        }
    }

    @Test
    void constantMethodsAreShapedAsToEdgeEmitsThem() {
        Program program = ProgramFiles.program(TinyExports.pte());
        ExecutionPlan maxSeq = program.executionPlan().get(3);
        assertEquals("get_max_seq_len", maxSeq.name());
        assertEquals(List.of(), maxSeq.inputs());
        assertEquals(List.of(0), maxSeq.outputs());
        assertEquals(List.of(new Program.Chain(List.of())), maxSeq.chains());
        assertEquals(List.of(), maxSeq.delegates());
        assertEquals(List.of(0L), maxSeq.nonConstBufferSizes());
        assertInstanceOf(Program.IntValue.class, maxSeq.values().get(0));
        assertEquals("[1, {\"type\": null, \"context\": null, \"children_spec\": []}]", maxSeq.containerMetaType().encodedOutStr());

        ExecutionPlan eos = program.executionPlan().get(7);
        assertEquals("get_eos_ids", eos.name());
        assertEquals(List.of(new Program.IntValue(7)), eos.values());
        assertEquals(true, eos.containerMetaType().encodedOutStr().contains("builtins.list"));
    }

    @Test
    void graphMethodsDeclareWhatTheBackendConsumes() {
        ModelConfig cfg = TinyCheckpoint.config(Variant.LFM2_5_VL);
        Program program = ProgramFiles.program(TinyExports.pte());
        int n = cfg.text().maxPositionEmbeddings();
        int h = cfg.text().hiddenSize();
        // ProcessorConfig defaults: 10 tiles + thumbnail, 1024 padded patches of 768 values, 256 tokens each.
        assertEquals("[FLOAT[11, 1024, 768] dynamic, LONG[11, 2] dynamic, FLOAT[1, 2816, " + h + "] dynamic, planned in arena 1 at 0]",
                program.executionPlan().get(2).values().toString());
        assertEquals("[LONG[1, " + n + "] dynamic, FLOAT[1, " + n + ", " + h + "] dynamic, planned in arena 1 at 0]",
                program.executionPlan().get(1).values().toString());
        assertEquals("[FLOAT[1, " + n + ", " + h + "] dynamic, LONG[" + n + "] dynamic, FLOAT[1, " + TinyTokenizer.VOCAB_SIZE
                + "], planned in arena 1 at 0]", program.executionPlan().get(0).values().toString());
        assertEquals(List.of(0L, 4L * TinyTokenizer.VOCAB_SIZE), program.executionPlan().get(0).nonConstBufferSizes());
        assertEquals(List.of(new Program.Chain(List.of(Program.Instruction.delegateCall(0, List.of(0, 1, 2))))),
                program.executionPlan().get(2).chains());
    }
}
