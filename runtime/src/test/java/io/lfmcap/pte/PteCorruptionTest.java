package io.lfmcap.pte;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.flatbuffers.FlatBufferBuilder;
import io.lfmcap.model.tiny.TinyCheckpoint.Variant;
import io.lfmcap.pte.Program.DataSegment;
import io.lfmcap.pte.Program.ExecutionPlan;
import io.lfmcap.pte.Program.NamedData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged files give one clear {@link PteFormatException} naming the file, either when opened or when
 * their checksums are verified, and never an OOM, a hang or a crash: hundreds of variants of
 * truncation, bit flips, wrong identifiers, bad headers, bad segment tables, foreign edits and
 * checksum mismatches, each run under a time limit.
 */
class PteCorruptionTest {
    private static final Duration LIMIT = Duration.ofSeconds(20);

    @TempDir
    static Path tmp;

    private static int counter;

    @TestFactory
    Stream<DynamicTest> truncationAtManyOffsets() {
        byte[] file = ProgramFiles.read(TinyExports.pte());
        long programSize = header(file).getLong(16);
        long base = header(file).getLong(24);
        List<Integer> cuts = new ArrayList<>();
        for (int i = 0; i < 64; i++) cuts.add(i);
        for (int i = 1; i <= 100; i++) cuts.add((int) ((long) file.length * i / 101));
        for (long c : new long[] {programSize - 1, programSize, base, base + 1, file.length - 1}) cuts.add((int) c);
        return cuts.stream().distinct().map(cut -> variant("truncated at " + cut, java.util.Arrays.copyOf(file, cut)));
    }

    @TestFactory
    Stream<DynamicTest> bitFlipsInHeaderAndFlatbuffer() {
        byte[] file = ProgramFiles.read(TinyExports.pte());
        int programSize = (int) header(file).getLong(16);
        Random random = new Random(1);
        List<DynamicTest> tests = new ArrayList<>();
        for (int i = 0; i < 40 * 8; i += 3) tests.add(variant("header bit " + i, flip(file, i / 8, i % 8)));
        for (int i = 0; i < 250; i++) {
            int pos = 40 + random.nextInt(programSize - 40);
            int bit = random.nextInt(8);
            tests.add(variant("flatbuffer byte " + pos + " bit " + bit, flip(file, pos, bit)));
        }
        for (int i = 0; i < 40; i++) {
            byte[] v = file.clone();
            int pos = 40 + random.nextInt(programSize - 44);
            for (int k = 0; k < 4; k++) v[pos + k] = (byte) random.nextInt(256);
            tests.add(variant("flatbuffer bytes " + pos + "..+3 random", v));
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> bitFlipsInTheSegments() {
        byte[] file = ProgramFiles.read(TinyExports.pte());
        int base = (int) header(file).getLong(24);
        Random random = new Random(2);
        List<DynamicTest> tests = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            int pos = base + random.nextInt(file.length - base);
            int bit = random.nextInt(8);
            tests.add(variant("segment byte " + pos + " bit " + bit, flip(file, pos, bit)));
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> wrongIdentifiers() {
        byte[] file = ProgramFiles.read(TinyExports.pte());
        return Stream.of("ET13", "XXXX", "FT01", "\0\0\0\0", "et12").map(id -> {
            byte[] v = file.clone();
            System.arraycopy(id.getBytes(StandardCharsets.ISO_8859_1), 0, v, 4, 4);
            return variant("identifier " + ProgramCodec.printable(id), v);
        });
    }

    @TestFactory
    Stream<DynamicTest> badHeaderFields() {
        byte[] file = ProgramFiles.read(TinyExports.pte());
        List<DynamicTest> tests = new ArrayList<>();
        tests.add(variant("header length 16", edit(file, b -> b.putInt(12, 16))));
        tests.add(variant("program_size past the end", edit(file, b -> b.putLong(16, file.length + 1L))));
        tests.add(variant("program_size 0", edit(file, b -> b.putLong(16, 0))));
        tests.add(variant("program_size -1", edit(file, b -> b.putLong(16, -1))));
        tests.add(variant("segment base inside the program", edit(file, b -> b.putLong(24, b.getLong(16) - 8))));
        tests.add(variant("segment base -1", edit(file, b -> b.putLong(24, -1))));
        tests.add(variant("segment data size +1", edit(file, b -> b.putLong(32, b.getLong(32) + 1))));
        tests.add(variant("segment data size -1", edit(file, b -> b.putLong(32, -1))));
        tests.add(variant("segment data size 1", edit(file, b -> b.putLong(32, 1))));
        tests.add(variant("root offset past the end", edit(file, b -> b.putInt(0, file.length))));
        tests.add(variant("root offset 0", edit(file, b -> b.putInt(0, 0))));
        tests.add(variant("no extended header", edit(file, b -> b.put(8, (byte) 'x'))));
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> badSegmentTablesAndNamedData() {
        Path pte = TinyExports.pte();
        List<DynamicTest> tests = new ArrayList<>();
        tests.add(rewritten("segments 2 and 3 overlap", pte, p -> segments(p, s -> s.set(3, new DataSegment(s.get(2).offset() + 1, s.get(3).size())))));
        tests.add(rewritten("segment past the area", pte, p -> segments(p, s -> s.set(4, new DataSegment(s.get(4).offset(), 1L << 40)))));
        tests.add(rewritten("segment offset 2^64-1", pte, p -> segments(p, s -> s.set(4, new DataSegment(-1, 16)))));
        tests.add(rewritten("segment size 2^64-1", pte, p -> segments(p, s -> s.set(4, new DataSegment(s.get(4).offset(), -1)))));
        tests.add(rewritten("last segment shifted by one", pte, p -> segments(p, s -> {
            DataSegment last = s.get(s.size() - 1);
            s.set(s.size() - 1, new DataSegment(last.offset() + 1, last.size()));
        })));
        tests.add(rewritten("weight segment moved off the 128-byte grid", pte, p -> segments(p, s -> s.set(1, new DataSegment(s.get(1).offset() + 16, s.get(1).size())))));
        tests.add(rewritten("named data index out of range", pte, p -> named(p, n -> n.set(0, new NamedData(n.get(0).key(), 9999)))));
        tests.add(rewritten("duplicate key", pte, p -> named(p, n -> n.set(1, new NamedData(n.get(0).key(), n.get(1).segmentIndex())))));
        tests.add(rewritten("weight renamed", pte, p -> named(p, n -> n.set(0, new NamedData("model.renamed.weight", n.get(0).segmentIndex())))));
        tests.add(rewritten("weight dropped", pte, p -> named(p, n -> n.remove(0))));
        tests.add(rewritten("manifest dropped", pte, p -> named(p, n -> n.remove(n.size() - 1))));
        tests.add(rewritten("config points at the tokenizer", pte, p -> named(p, n -> {
            int config = index(n, NamedDataKeys.CONFIG);
            n.set(config, new NamedData(NamedDataKeys.CONFIG, n.get(index(n, NamedDataKeys.TOKENIZER)).segmentIndex()));
        })));
        tests.add(rewritten("no segments", pte, p -> segments(p, List::clear)));
        tests.add(rewritten("vision_encoder method removed", pte, p -> plans(p, l -> l.remove(2))));
        tests.add(rewritten("get_max_seq_len removed", pte, p -> plans(p, l -> l.remove(3))));
        tests.add(rewritten("method duplicated", pte, p -> plans(p, l -> l.add(l.get(0)))));
        tests.add(rewritten("logits declared with the wrong vocabulary", pte, p -> plans(p, l -> {
            ExecutionPlan d = l.get(0);
            List<Program.EValue> values = new ArrayList<>(d.values());
            Program.TensorValue t = (Program.TensorValue) values.get(2);
            values.set(2, new Program.TensorValue(t.scalarType(), List.of(1, 7), t.dimOrder(), t.dataBufferIdx(), t.allocationInfo(), t.shapeDynamism()));
            l.set(0, new ExecutionPlan(d.name(), d.containerMetaType(), values, d.inputs(), d.outputs(), d.chains(), d.operators(), d.delegates(), d.nonConstBufferSizes()));
        })));
        tests.add(rewritten("delegate call without its output", pte, p -> plans(p, l -> {
            ExecutionPlan d = l.get(1);
            l.set(1, new ExecutionPlan(d.name(), d.containerMetaType(), d.values(), d.inputs(), d.outputs(),
                    List.of(new Program.Chain(List.of(Program.Instruction.delegateCall(0, List.of(0))))), d.operators(), d.delegates(), d.nonConstBufferSizes()));
        })));
        tests.add(rewritten("vocab size constant changed", pte, p -> plans(p, l -> {
            ExecutionPlan c = l.get(5);
            l.set(5, new ExecutionPlan(c.name(), c.containerMetaType(), List.of(new Program.IntValue(12)), c.inputs(), c.outputs(), c.chains(), c.operators(), c.delegates(), c.nonConstBufferSizes()));
        })));
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> damagedWeightsFiles() {
        Path pte = TinyExports.pte(Variant.LFM2_5_VL, true);
        byte[] pteBytes = ProgramFiles.read(pte);
        byte[] ptd = ProgramFiles.read(pte.resolveSibling("model.ptd"));
        ByteBuffer h = ByteBuffer.wrap(ptd).order(ByteOrder.LITTLE_ENDIAN);
        int flatbufferEnd = (int) (h.getLong(16) + h.getLong(24));
        Random random = new Random(3);
        List<DynamicTest> tests = new ArrayList<>();
        for (int i = 1; i <= 25; i++) {
            int cut = (int) ((long) ptd.length * i / 26);
            tests.add(pair("ptd truncated at " + cut, pteBytes, java.util.Arrays.copyOf(ptd, cut)));
        }
        for (int i = 0; i < 60; i++) {
            int pos = random.nextInt(flatbufferEnd);
            tests.add(pair("ptd flatbuffer byte " + pos, pteBytes, flip(ptd, pos, random.nextInt(8))));
        }
        for (int i = 0; i < 20; i++) {
            int pos = flatbufferEnd + random.nextInt(ptd.length - flatbufferEnd);
            tests.add(pair("ptd segment byte " + pos, pteBytes, flip(ptd, pos, random.nextInt(8))));
        }
        tests.add(pair("ptd of another model", pteBytes, ProgramFiles.read(TinyExports.pte(Variant.LFM2_VL, true).resolveSibling("model.ptd"))));
        tests.add(pair("ptd missing", pteBytes, null));
        tests.add(pair("a .pte given as the .ptd", pteBytes, pteBytes));
        return tests.stream();
    }

    @Test
    void aChecksumMismatchNamesTheDamagedWeight() throws IOException {
        byte[] file = ProgramFiles.read(TinyExports.pte());
        long offset;
        try (PteModelPackage p = PteModelPackage.open(TinyExports.pte())) {
            offset = ((io.lfmcap.model.MappedTensor) p.weights().get("model.language_model.layers.1.self_attn.k_proj.weight")).fileOffset();
        }
        Path damaged = tmp.resolve("damaged-weight.pte");
        Files.write(damaged, flip(file, (int) offset + 5, 3));
        try (PteModelPackage p = assertDoesNotThrow(() -> PteModelPackage.open(damaged), "structure intact: opens")) {
            PteFormatException e = assertThrows(PteFormatException.class, p::verify);
            assertTrue(e.getMessage().contains("checksum mismatch (2 parts)"), e.getMessage());
            assertTrue(e.getMessage().contains("model.language_model.layers.1.self_attn.k_proj.weight: expected "), e.getMessage());
            assertTrue(e.getMessage().contains("damaged-weight.pte (whole file): expected "), e.getMessage());
        }
    }

    @Test
    void sharedReferencesAreRefusedInsteadOfExpanded() throws IOException {
        // 200,000 EValues that all point at one IntList of 20,000 items: 0.8 MB on disk, 4e9 longs if expanded.
        FlatBufferBuilder b = new FlatBufferBuilder(1 << 20);
        int items = ProgramCodec.longs(b, java.util.Collections.nCopies(20_000, 7L));
        b.startTable(1);
        b.addOffset(0, items, 0);
        int list = b.endTable();
        b.startTable(2);
        b.addByte(0, (byte) 7, 0);
        b.addOffset(1, list, 0);
        int value = b.endTable();
        int[] same = new int[200_000];
        java.util.Arrays.fill(same, value);
        int values = b.createVectorOfTables(same);
        int name = b.createString("forward");
        b.startTable(10);
        b.addOffset(0, name, 0);
        b.addOffset(2, values, 0);
        int plan = b.endTable();
        int plans = b.createVectorOfTables(new int[] {plan});
        b.startTable(8);
        b.addOffset(1, plans, 0);
        b.finish(b.endTable(), "ET12");
        Path file = tmp.resolve("shared.pte");
        Files.write(file, b.sizedByteArray());
        PteFormatException e = assertTimeoutPreemptively(LIMIT, () -> assertThrows(PteFormatException.class, () -> PteModelPackage.open(file)));
        assertTrue(e.getMessage().contains("far more work than its size allows"), e.getMessage());
    }

    // ---------------------------------------------------------------- helpers

    /** A damaged .pte that must fail to open or to verify with a PteFormatException naming it. */
    private static DynamicTest variant(String name, byte[] content) {
        Path file = tmp.resolve("v" + (counter++) + ".pte");
        return DynamicTest.dynamicTest(name, () -> {
            Files.write(file, content);
            expectFormatError(file);
        });
    }

    /** A good .pte with a damaged .ptd beside it (null: no .ptd). */
    private static DynamicTest pair(String name, byte[] pte, byte[] ptd) {
        Path dir = tmp.resolve("pair" + (counter++));
        return DynamicTest.dynamicTest(name, () -> {
            Files.createDirectories(dir);
            Files.write(dir.resolve("m.pte"), pte);
            if (ptd != null) Files.write(dir.resolve("m.ptd"), ptd);
            expectFormatError(dir.resolve("m.pte"));
        });
    }

    private static DynamicTest rewritten(String name, Path pte, UnaryOperator<Program> change) {
        Path file = tmp.resolve("r" + (counter++) + ".pte");
        return DynamicTest.dynamicTest(name, () -> {
            ProgramFiles.rewrite(pte, change, file);
            expectFormatError(file);
        });
    }

    private static void expectFormatError(Path file) {
        PteFormatException e = assertTimeoutPreemptively(LIMIT, () -> assertThrows(PteFormatException.class, () -> {
            try (PteModelPackage p = PteModelPackage.open(file)) {
                p.verify();
            }
        }));
        assertTrue(e.getMessage().contains(file.getParent().toString()), "names the file: " + e.getMessage());
    }

    private static Program segments(Program p, Consumer<List<DataSegment>> change) {
        List<DataSegment> s = new ArrayList<>(p.segments());
        change.accept(s);
        return new Program(p.version(), p.executionPlan(), p.backendDelegateData(), s, p.constantSegment(), p.namedData());
    }

    private static Program named(Program p, Consumer<List<NamedData>> change) {
        List<NamedData> n = new ArrayList<>(p.namedData());
        change.accept(n);
        return new Program(p.version(), p.executionPlan(), p.backendDelegateData(), p.segments(), p.constantSegment(), n);
    }

    private static Program plans(Program p, Consumer<List<ExecutionPlan>> change) {
        List<ExecutionPlan> l = new ArrayList<>(p.executionPlan());
        change.accept(l);
        return new Program(p.version(), l, p.backendDelegateData(), p.segments(), p.constantSegment(), p.namedData());
    }

    private static int index(List<NamedData> n, String key) {
        for (int i = 0; i < n.size(); i++) if (n.get(i).key().equals(key)) return i;
        throw new IllegalArgumentException(key);
    }

    private static ByteBuffer header(byte[] file) { return ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN); }

    private static byte[] flip(byte[] file, int pos, int bit) {
        byte[] v = file.clone();
        v[pos] ^= (byte) (1 << bit);
        return v;
    }

    private static byte[] edit(byte[] file, Consumer<ByteBuffer> change) {
        byte[] v = file.clone();
        change.accept(header(v));
        return v;
    }
}
