package io.lfmcap.pte;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.model.CheckpointPackage;
import io.lfmcap.model.DType;
import io.lfmcap.model.MappedTensor;
import io.lfmcap.model.ModelPackage;
import io.lfmcap.model.ProcessorConfig;
import io.lfmcap.model.SafetensorsWriter;
import io.lfmcap.model.Tensor;
import io.lfmcap.model.WeightStore;
import io.lfmcap.model.tiny.TinyCheckpoint.Variant;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PteRoundTripTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0}, external weights {1}")
    @CsvSource({"LFM2_VL, false", "LFM2_VL, true", "LFM2_5_VL, false", "LFM2_5_VL, true"})
    void exportedWeightsAreBitIdenticalToTheCheckpoint(Variant variant, boolean external) {
        try (CheckpointPackage ckpt = CheckpointPackage.open(TinyExports.checkpoint(variant));
             PteModelPackage pte = PteModelPackage.open(TinyExports.pte(variant, external))) {
            assertEquals(ckpt.weights().names(), pte.weights().names());
            for (String name : ckpt.weights().names()) {
                Tensor a = ckpt.weights().get(name);
                Tensor b = pte.weights().get(name);
                assertEquals(a.dtype(), b.dtype(), name);
                assertArrayEquals(a.shape(), b.shape(), name);
                assertEquals(a.rawBytes(0, (int) a.byteSize()), b.rawBytes(0, (int) b.byteSize()), name);
            }
        }
    }

    @ParameterizedTest(name = "{0}, external weights {1}")
    @CsvSource({"LFM2_VL, false", "LFM2_5_VL, true"})
    void configProcessorTokenizerAndTemplateRoundTrip(Variant variant, boolean external) {
        try (CheckpointPackage ckpt = CheckpointPackage.open(TinyExports.checkpoint(variant));
             PteModelPackage pte = PteModelPackage.open(TinyExports.pte(variant, external))) {
            assertEquals(ckpt.config(), pte.config());
            assertProcessorEquals(ckpt.processor(), pte.processor());
            assertArrayEquals(ckpt.tokenizerJson(), pte.tokenizerJson());
            assertNotNull(ckpt.chatTemplate());
            assertEquals(ckpt.chatTemplate(), pte.chatTemplate());
        }
    }

    @Test
    void f32AndF16WeightsAreStoredAsPublishedNotConverted() throws IOException {
        // The tiny checkpoint rewritten with F32 weights and one F16 tensor.
        Path dir = tmp.resolve("mixed");
        Path source = TinyExports.checkpoint(Variant.LFM2_5_VL);
        Files.createDirectories(dir);
        try (var files = Files.list(source)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (!f.getFileName().toString().equals("model.safetensors")) Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        String f16 = "model.language_model.embedding_norm.weight";
        try (CheckpointPackage ckpt = CheckpointPackage.open(source)) {
            List<SafetensorsWriter.Entry> entries = new ArrayList<>();
            for (String name : ckpt.weights().names()) {
                entries.add(new SafetensorsWriter.Entry(name, name.equals(f16) ? DType.F16 : DType.F32, ckpt.weights().get(name).shape()));
            }
            try (SafetensorsWriter w = SafetensorsWriter.create(dir.resolve("model.safetensors"), entries, Map.of("format", "pt"))) {
                for (SafetensorsWriter.Entry e : entries) w.writeFloats(ckpt.weights().get(e.name()).toFloats());
            }
        }
        Path pte = tmp.resolve("mixed.pte");
        PteExporter.export(dir, pte, false, ProgressListener.NONE);
        try (CheckpointPackage ckpt = CheckpointPackage.open(dir); PteModelPackage p = PteModelPackage.open(pte)) {
            assertEquals(DType.F16, p.weights().get(f16).dtype());
            assertEquals(DType.F32, p.weights().get("model.language_model.embed_tokens.weight").dtype());
            for (String name : ckpt.weights().names()) {
                Tensor a = ckpt.weights().get(name);
                assertEquals(a.rawBytes(0, (int) a.byteSize()), p.weights().get(name).rawBytes(0, (int) a.byteSize()), name);
            }
        }
    }

    @Test
    void weightsAreViewsOfTheMappedFileAt128ByteAlignedOffsets() {
        Path pte = TinyExports.pte();
        try (PteModelPackage p = PteModelPackage.open(pte)) {
            for (String name : p.weights().names()) {
                MappedTensor t = (MappedTensor) p.weights().get(name);
                assertEquals(pte, t.file().path());
                assertEquals(0, t.fileOffset() % 128, name + " at " + t.fileOffset());
            }
        }
    }

    @Test
    void externalWeightsLiveInThePtdAndThePteKeepsOnlyMetadata() throws IOException {
        Path pte = TinyExports.pte(Variant.LFM2_5_VL, true);
        Path ptd = pte.resolveSibling("model.ptd");
        long weightBytes = 0;
        try (PteModelPackage p = PteModelPackage.open(pte)) {
            assertEquals(ptd, p.weightsPath());
            for (String name : p.weights().names()) {
                assertEquals(ptd, ((MappedTensor) p.weights().get(name)).file().path());
                weightBytes += p.weights().get(name).byteSize();
            }
            for (String key : p.pteFile().namedData().keySet()) assertTrue(key.startsWith("lfmcap/"), key);
        }
        assertTrue(Files.size(ptd) >= weightBytes);
        assertTrue(Files.size(pte) < Files.size(TinyExports.pte()) - weightBytes + 4096, "the .pte holds no weights");
    }

    @Test
    void containerFollowsExecuTorchLayout() throws IOException {
        byte[] file = Files.readAllBytes(TinyExports.pte());
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals("ET12", new String(file, 4, 4, "US-ASCII"));
        assertEquals("eh00", new String(file, 8, 4, "US-ASCII"));
        assertEquals(32, b.getInt(12));
        long programSize = b.getLong(16);
        long base = b.getLong(24);
        long dataSize = b.getLong(32);
        assertEquals(0, base % 128);
        assertEquals(base, (programSize + 127) / 128 * 128, "segments start at the next 128-byte boundary");
        assertEquals(file.length, base + dataSize, "the last segment ends the file");
        assertTrue(b.getInt(0) >= 40 && b.getInt(0) < programSize, "root table after the header, inside the program");
    }

    @Test
    void exportIsDeterministic() throws IOException {
        Path again = tmp.resolve("again.pte");
        PteExporter.export(TinyExports.checkpoint(Variant.LFM2_5_VL), again, false, ProgressListener.NONE);
        assertArrayEquals(Files.readAllBytes(TinyExports.pte()), Files.readAllBytes(again));
    }

    @Test
    void reExportingAnExportedModelGivesTheSameFile() throws IOException {
        Path again = tmp.resolve("again.pte");
        try (PteModelPackage p = PteModelPackage.open(TinyExports.pte())) {
            PteExporter.export(p, again, false, ProgressListener.NONE);
        }
        assertArrayEquals(Files.readAllBytes(TinyExports.pte()), Files.readAllBytes(again));
    }

    @Test
    void identityComesFromTheArchitecture() {
        try (PteModelPackage v1 = PteModelPackage.open(TinyExports.pte(Variant.LFM2_VL, false));
             PteModelPackage v25 = PteModelPackage.open(TinyExports.pte(Variant.LFM2_5_VL, false))) {
            assertEquals("LFM2-VL", v1.identity().family(), "v1 keeps the projector LayerNorm");
            assertEquals("LFM2.5-VL", v25.identity().family());
            assertTrue(v25.identity().variant().matches("custom-[0-9.]+[KM]"), v25.identity().variant());
            assertEquals(v25.identity().family(), v25.constants().family());
            assertEquals("model.pte", v25.name());
        }
    }

    @Test
    void progressReportsEveryByteInOrder() {
        List<long[]> calls = new ArrayList<>();
        List<String> items = new ArrayList<>();
        PteExporter.Result r = PteExporter.export(TinyExports.checkpoint(Variant.LFM2_5_VL), tmp.resolve("p.pte"), true,
                (item, done, total) -> {
                    calls.add(new long[] {done, total});
                    if (!items.contains(item)) items.add(item);
                });
        long total = calls.get(0)[1];
        for (int i = 1; i < calls.size(); i++) assertTrue(calls.get(i)[0] >= calls.get(i - 1)[0]);
        assertEquals(total, calls.get(calls.size() - 1)[0]);
        assertTrue(total > r.weightBytes());
        assertEquals(r.tensors() + 5, items.size(), "every weight, config, processor, tokenizer, template, manifest: " + items);
    }

    @Test
    void aFailedExportLeavesNoFile() {
        Path out = tmp.resolve("broken.pte");
        try (CheckpointPackage ckpt = CheckpointPackage.open(TinyExports.checkpoint(Variant.LFM2_5_VL))) {
            ModelPackage failing = new FailingWeights(ckpt);
            assertThrows(IllegalStateException.class, () -> PteExporter.export(failing, out, false, ProgressListener.NONE));
        }
        assertFalse(Files.exists(out));
        assertFalse(Files.exists(tmp.resolve("broken.pte.part")));
    }

    @Test
    void exportRefusesWeightsThatDoNotMatchTheConfig() {
        try (CheckpointPackage ckpt = CheckpointPackage.open(TinyExports.checkpoint(Variant.LFM2_5_VL))) {
            ModelPackage missing = new FailingWeights(ckpt) {
                @Override
                public WeightStore weights() { return new FilteredStore(ckpt.weights(), Set.of("model.language_model.embedding_norm.weight")); }
            };
            var e = assertThrows(IllegalArgumentException.class, () -> PteExporter.export(missing, tmp.resolve("m.pte"), false, ProgressListener.NONE));
            assertTrue(e.getMessage().contains("missing     model.language_model.embedding_norm.weight"), e.getMessage());
        }
    }

    static void assertProcessorEquals(ProcessorConfig a, ProcessorConfig b) {
        assertArrayEquals(ProcessorJson.write(a), ProcessorJson.write(b));
        assertArrayEquals(a.imageMean(), b.imageMean());
        assertEquals(a.maxNumPatches(), b.maxNumPatches());
    }

    /** The checkpoint with a weight store whose last tensor fails to read. */
    private static class FailingWeights implements ModelPackage {
        final CheckpointPackage inner;

        FailingWeights(CheckpointPackage inner) { this.inner = inner; }

        @Override public io.lfmcap.model.ModelConfig config() { return inner.config(); }
        @Override public ProcessorConfig processor() { return inner.processor(); }
        @Override public byte[] tokenizerJson() { return inner.tokenizerJson(); }
        @Override public String chatTemplate() { return inner.chatTemplate(); }
        @Override public String name() { return inner.name(); }
        @Override public String sha256() { return inner.sha256(); }
        @Override public void close() { }

        @Override
        public WeightStore weights() {
            WeightStore w = inner.weights();
            return new FilteredStore(w, Set.of()) {
                @Override
                public Tensor get(String name) {
                    Tensor t = w.get(name);
                    if (!name.equals("model.multi_modal_projector.linear_2.bias")) return t;
                    return new Tensor() {
                        @Override public String name() { return t.name(); }
                        @Override public io.lfmcap.model.DType dtype() { return t.dtype(); }
                        @Override public long[] shape() { return t.shape(); }
                        @Override public float[] toFloats() { return t.toFloats(); }
                        @Override public ByteBuffer rawBytes(long offset, int length) { throw new IllegalStateException("disk error"); }
                    };
                }
            };
        }
    }

    /** A store without some names. */
    private static class FilteredStore implements WeightStore {
        private final WeightStore inner;
        private final Set<String> hidden;

        FilteredStore(WeightStore inner, Set<String> hidden) {
            this.inner = inner;
            this.hidden = hidden;
        }

        @Override
        public Set<String> names() {
            Set<String> s = new java.util.LinkedHashSet<>(inner.names());
            s.removeAll(hidden);
            return s;
        }

        @Override public Tensor get(String name) { return inner.get(name); }
        @Override public String source() { return inner.source(); }
        @Override public void close() { }
    }
}
