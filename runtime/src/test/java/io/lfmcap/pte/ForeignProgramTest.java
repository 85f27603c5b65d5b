package io.lfmcap.pte;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.pte.Program.BackendDelegate;
import io.lfmcap.pte.Program.Chain;
import io.lfmcap.pte.Program.CompileSpec;
import io.lfmcap.pte.Program.ContainerMetadata;
import io.lfmcap.pte.Program.DataReference;
import io.lfmcap.pte.Program.EValue;
import io.lfmcap.pte.Program.ExecutionPlan;
import io.lfmcap.pte.Program.Instruction;
import io.lfmcap.pte.Program.IntValue;
import io.lfmcap.pte.Program.NamedData;
import io.lfmcap.pte.Program.Operator;
import io.lfmcap.pte.Program.SubsegmentOffsets;
import io.lfmcap.pte.Program.TensorValue;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Programs ExecuTorch makes for other backends are refused with a message naming the backend. */
class ForeignProgramTest {
    @TempDir
    Path tmp;

    @Test
    void aCudaProgramIsRefusedNamingTheBackendAndHowToExport() {
        // The shape of ExecuTorch's LFM2.5-VL CUDA export (docs/pte-format.md section 5): three methods,
        // each one DelegateCall to CudaBackend, the AOTI shared library as named data.
        List<ExecutionPlan> plans = new ArrayList<>();
        for (String method : List.of("text_decoder", "token_embedding", "vision_encoder")) plans.add(delegated(method, "CudaBackend"));
        plans.add(constant("get_max_seq_len", 2048));
        Program p = new Program(0, plans, List.of(new byte[0]), null, new SubsegmentOffsets(0, List.of(0L)),
                List.of(new NamedData("vision_encoder_so_blob", 1)));
        Path file = ProgramFiles.write(tmp.resolve("lfm2_5_vl_cuda.pte"), p, List.of(new byte[0], new byte[4096]));

        PteFormatException e = assertThrows(PteFormatException.class, () -> PteModelPackage.open(file));
        assertTrue(e.getMessage().contains("lfm2_5_vl_cuda.pte"), e.getMessage());
        assertTrue(e.getMessage().contains("'CudaBackend' (methods text_decoder, token_embedding, vision_encoder)"), e.getMessage());
        assertTrue(e.getMessage().contains("lfmcap export --checkpoint DIR --out model.pte"), e.getMessage());
    }

    @Test
    void anXnnpackProgramWithItsPayloadInASegmentIsRefused() {
        ExecutionPlan forward = delegated("forward", "XnnpackBackend");
        BackendDelegate d = forward.delegates().get(0);
        forward = new ExecutionPlan(forward.name(), forward.containerMetaType(), forward.values(), forward.inputs(), forward.outputs(),
                forward.chains(), forward.operators(),
                List.of(new BackendDelegate(d.id(), new DataReference(Program.SEGMENT, 1), d.compileSpecs())), forward.nonConstBufferSizes());
        Program p = new Program(0, List.of(forward), List.of(), null, new SubsegmentOffsets(0, List.of(0L)), null);
        Path file = ProgramFiles.write(tmp.resolve("xnn.pte"), p, List.of(new byte[0], new byte[300]));

        PteFormatException e = assertThrows(PteFormatException.class, () -> PteModelPackage.open(file));
        assertTrue(e.getMessage().contains("'XnnpackBackend' (methods forward)"), e.getMessage());
    }

    @Test
    void ourExportWithOneMethodRedelegatedIsRefused() {
        Path file = ProgramFiles.rewrite(TinyExports.pte(), p -> {
            List<ExecutionPlan> plans = new ArrayList<>(p.executionPlan());
            ExecutionPlan v = plans.get(2);
            BackendDelegate d = v.delegates().get(0);
            plans.set(2, new ExecutionPlan(v.name(), v.containerMetaType(), v.values(), v.inputs(), v.outputs(), v.chains(),
                    v.operators(), List.of(new BackendDelegate("QnnBackend", d.processed(), d.compileSpecs())), v.nonConstBufferSizes()));
            return new Program(p.version(), plans, p.backendDelegateData(), p.segments(), p.constantSegment(), p.namedData());
        }, tmp.resolve("mixed.pte"));
        PteFormatException e = assertThrows(PteFormatException.class, () -> PteModelPackage.open(file));
        assertTrue(e.getMessage().contains("'QnnBackend' (methods vision_encoder)"), e.getMessage());
    }

    @Test
    void aPortableOperatorProgramIsRefusedListingItsOperators() {
        // add.pte style: aten::add.out as a KernelCall with args [a, b, alpha, out, out].
        List<EValue> values = List.of(tensor(), tensor(), new IntValue(1), tensor());
        ExecutionPlan forward = new ExecutionPlan("forward", new ContainerMetadata("", ""), values, List.of(0, 1), List.of(3),
                List.of(new Chain(List.of(new Instruction(Instruction.KERNEL_CALL, 0, List.of(0, 1, 2, 3, 3))))),
                List.of(new Operator("aten::add", "out")), List.of(), List.of(0L, 64L));
        Program p = new Program(0, List.of(forward), List.of(), null, new SubsegmentOffsets(0, List.of(0L)), null);
        Path file = ProgramFiles.write(tmp.resolve("add.pte"), p, List.of(new byte[0]));

        PteFormatException e = assertThrows(PteFormatException.class, () -> PteModelPackage.open(file));
        assertTrue(e.getMessage().contains("no method delegated to a backend") && e.getMessage().contains("aten::add.out"), e.getMessage());
    }

    @Test
    void inspectDescribesAForeignProgramAsNotRunnable() {
        Program p = new Program(0, List.of(delegated("forward", "CudaBackend")), List.of(new byte[0]), null,
                new SubsegmentOffsets(0, List.of(0L)), null);
        Path file = ProgramFiles.write(tmp.resolve("cuda.pte"), p, List.of(new byte[0]));
        PteInspector report = PteInspector.inspect(file);
        assertFalse(report.json().get("runnable").asBoolean());
        assertEquals("CudaBackend", report.json().get("methods").get(0).get("backends").get(0).asText());
        assertTrue(report.toText().contains("runnable     no: ") && report.toText().contains("CudaBackend"), report.toText());
    }

    @Test
    void decodingThenEncodingAnExportGivesTheSameBytes() {
        Path same = ProgramFiles.rewrite(TinyExports.pte(), p -> p, tmp.resolve("same.pte"));
        assertArrayEquals(ProgramFiles.read(TinyExports.pte()), ProgramFiles.read(same));
    }

    private static ExecutionPlan delegated(String name, String backend) {
        List<EValue> values = List.of(tensor(), tensor());
        return new ExecutionPlan(name, new ContainerMetadata("", ""), values, List.of(0), List.of(1),
                List.of(new Chain(List.of(Instruction.delegateCall(0, List.of(0, 1))))), List.of(),
                List.of(new BackendDelegate(backend, new DataReference(Program.INLINE, 0), List.of(CompileSpec.text("device", "cuda:0")))),
                List.of(0L, 64L));
    }

    private static ExecutionPlan constant(String name, long value) {
        return new ExecutionPlan(name, new ContainerMetadata("", ""), List.of(new IntValue(value)), List.of(), List.of(0),
                List.of(new Chain(List.of())), List.of(), List.of(), List.of(0L));
    }

    private static TensorValue tensor() {
        return new TensorValue(Program.SCALAR_FLOAT, List.of(4, 4), List.of(0, 1), 0, null, Program.STATIC);
    }
}
