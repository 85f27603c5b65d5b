package io.lfmcap.pte;

import io.lfmcap.model.ModelConfig;
import io.lfmcap.model.ModelConfigJson;
import io.lfmcap.model.ModelPackage;
import io.lfmcap.model.Tensor;
import io.lfmcap.model.WeightSchema;
import io.lfmcap.model.WeightStore;
import io.lfmcap.pte.FlatTensor.TensorLayout;
import io.lfmcap.pte.Manifest.Blob;
import io.lfmcap.pte.Program.DataSegment;
import io.lfmcap.pte.Program.NamedData;
import io.lfmcap.pte.Program.SubsegmentOffsets;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Writes a model as an ExecuTorch program ({@code .pte}, optionally with a {@code .ptd} for the
 * weights) that this runtime loads with {@link PteModelPackage}:
 *
 * <pre>
 * .pte  [0]    root offset, "ET12", eh00 header (program_size, segment_base_offset, segment_data_size)
 *              Program flatbuffer: methods (see {@link CaptionProgram}), segments, named_data
 *       [base] segment 0: empty constant segment (constant_segment = {0, [0]}; no constant tensors)
 *              segment 1..: each weight, by its Hugging Face name, bytes as stored in the checkpoint
 *                     (unless --external-weights), then config, processor settings, tokenizer,
 *                     chat template; each at a multiple of 128 bytes from the file start
 *              last segment: the manifest (checksums of all the above, see {@link Manifest})
 * .ptd  FlatTensor with FH01 header: one segment per weight, 128-byte aligned, with its tensor layout
 * </pre>
 *
 * Weight data is streamed in 4 MiB chunks from the mapped checkpoint to the output file, so heap use
 * does not grow with the model. Files are written under a {@code .part} name and renamed when
 * complete; the output is byte-for-byte deterministic for a given checkpoint.
 */
public final class PteExporter {

    /**
     * What an export wrote.
     *
     * @param pte        the program file
     * @param ptd        the weights file, or null when the weights are inside the .pte
     * @param fileSha256 the .pte's content checksum (its manifest's {@code file_sha256})
     * @param tensors    weights written
     * @param weightBytes bytes of weight data written
     */
    public record Result(Path pte, Path ptd, String fileSha256, int tensors, long weightBytes,
                         ModelIdentity identity, RunnerConstants constants) {}

    private PteExporter() {}

    /**
     * Exports the Hugging Face checkpoint folder {@code checkpointDir} (config.json, safetensors
     * weights, tokenizer, processor config) to {@code outPte}; with {@code externalWeights} the weights
     * go to {@code <name>.ptd} beside it.
     */
    public static Result export(Path checkpointDir, Path outPte, boolean externalWeights, ProgressListener progress) {
        try (ModelPackage pkg = io.lfmcap.model.CheckpointPackage.open(checkpointDir)) {
            return export(pkg, outPte, externalWeights, progress);
        }
    }

    /** Exports an open model package (a checkpoint folder or another exported file). */
    public static Result export(ModelPackage pkg, Path outPte, boolean externalWeights, ProgressListener progress) {
        ModelConfig cfg = pkg.config();
        WeightStore store = pkg.weights();
        WeightSchema.of(cfg).validate(store);
        List<Tensor> tensors = orderedWeights(store, cfg);
        long params = 0;
        long weightBytes = 0;
        for (Tensor t : tensors) {
            params += t.numElements();
            weightBytes += t.byteSize();
        }
        ModelIdentity identity = ModelIdentity.of(cfg, params);
        CaptionProgram.Shape shape = new CaptionProgram.Shape(cfg, pkg.processor(), identity,
                cfg.text().maxPositionEmbeddings(), externalWeights);
        RunnerConstants constants = CaptionProgram.constants(shape);

        List<Item> metadata = new ArrayList<>();
        metadata.add(new Item(NamedDataKeys.CONFIG, ModelConfigJson.write(cfg).getBytes(StandardCharsets.UTF_8)));
        metadata.add(new Item(NamedDataKeys.PROCESSOR, ProcessorJson.write(pkg.processor())));
        metadata.add(new Item(NamedDataKeys.TOKENIZER, pkg.tokenizerJson()));
        if (pkg.chatTemplate() != null) {
            metadata.add(new Item(NamedDataKeys.CHAT_TEMPLATE, pkg.chatTemplate().getBytes(StandardCharsets.UTF_8)));
        }
        long total = weightBytes;
        for (Item m : metadata) total += m.bytes().length;
        Progress p = new Progress(progress, total);

        List<Blob> blobs = new ArrayList<>();
        Path ptd = null;
        String ptdSha = null;
        List<Item> pteItems = new ArrayList<>();
        if (externalWeights) {
            ptd = PteModelPackage.weightsFileFor(outPte);
            ptdSha = writePtd(ptd, tensors, blobs, p);
        } else {
            for (Tensor t : tensors) pteItems.add(new Item(t.name(), t));
        }
        pteItems.addAll(metadata);
        String fileSha = writePte(outPte, shape, constants, pteItems, blobs, ptd, ptdSha, p);
        return new Result(outPte, ptd, fileSha, tensors.size(), weightBytes, identity, constants);
    }

    /** A named-data segment to write: a weight (streamed) or a small blob. */
    private record Item(String key, Tensor tensor, byte[] bytes) {
        Item(String key, Tensor tensor) { this(key, tensor, null); }

        Item(String key, byte[] bytes) { this(key, null, bytes); }

        long size() { return tensor != null ? tensor.byteSize() : bytes.length; }
    }

    /** WeightSchema order (text, vision, projector), then anything else it tolerates (a tied lm_head). */
    private static List<Tensor> orderedWeights(WeightStore store, ModelConfig cfg) {
        List<Tensor> out = new ArrayList<>();
        TreeSet<String> rest = new TreeSet<>(store.names());
        for (String name : WeightSchema.of(cfg).expected().keySet()) {
            out.add(store.get(name));
            rest.remove(name);
        }
        for (String name : rest) out.add(store.get(name));
        return out;
    }

    private static String writePtd(Path ptd, List<Tensor> tensors, List<Blob> blobs, Progress p) {
        List<Long> sizes = new ArrayList<>();
        List<FlatTensor.Entry> entries = new ArrayList<>();
        for (Tensor t : tensors) {
            entries.add(new FlatTensor.Entry(t.name(), sizes.size(), layout(t)));
            sizes.add(t.byteSize());
        }
        List<DataSegment> segments = SegmentLayout.place(sizes);
        byte[] flatbuffer = new FlatTensor(0, segments, entries).encode();
        long base = SegmentLayout.align(FlatTensorHeader.PADDED_LENGTH + flatbuffer.length, SegmentLayout.ALIGNMENT);
        FlatTensorHeader header = new FlatTensorHeader(FlatTensorHeader.PADDED_LENGTH, flatbuffer.length, base, SegmentLayout.dataSize(segments));
        try (SegmentFileWriter w = SegmentFileWriter.create(ptd)) {
            w.write(ExtendedHeader.splice(flatbuffer, header.toBytes()));
            for (int i = 0; i < tensors.size(); i++) {
                Tensor t = tensors.get(i);
                long offset = base + segments.get(i).offset();
                w.padTo(offset);
                p.item(t.name());
                String sha = w.write(t, p::advance);
                blobs.add(new Blob(t.name(), Blob.IN_PTD, offset, t.byteSize(), sha, t.dtype(), shapeList(t)));
            }
            String sha = w.fileSha256();
            w.commit();
            return sha;
        }
    }

    private static String writePte(Path pte, CaptionProgram.Shape shape, RunnerConstants constants, List<Item> items,
                                   List<Blob> blobs, Path ptd, String ptdSha, Progress p) {
        // The manifest's length depends on the absolute offsets it lists, which depend on the
        // flatbuffer's length, which does not depend on the manifest's length (uint64 fields are
        // fixed-width): one or two rounds settle it.
        long manifestSize = 1;
        Layout layout;
        byte[] manifest;
        while (true) {
            layout = layout(shape, constants, items, manifestSize);
            List<Blob> all = new ArrayList<>(blobs);
            all.addAll(pteBlobs(items, layout, null));
            manifest = manifest(shape, ptd, ptdSha, Manifest.PENDING_SHA256, layout.manifestOffset(), all).toJson();
            if (manifest.length == manifestSize) break;
            manifestSize = manifest.length;
        }
        try (SegmentFileWriter w = SegmentFileWriter.create(pte)) {
            w.write(layout.head());
            List<String> shas = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) {
                Item item = items.get(i);
                w.padTo(layout.offset(i));
                p.item(item.key());
                if (item.tensor() != null) {
                    shas.add(w.write(item.tensor(), p::advance));
                } else {
                    shas.add(w.write(item.bytes()));
                    p.advance(item.bytes().length);
                }
            }
            w.padTo(layout.manifestOffset());
            String fileSha = w.fileSha256();
            List<Blob> all = new ArrayList<>(blobs);
            all.addAll(pteBlobs(items, layout, shas));
            byte[] finalManifest = manifest(shape, ptd, ptdSha, fileSha, layout.manifestOffset(), all).toJson();
            if (finalManifest.length != manifest.length) {
                throw new IllegalStateException("manifest length changed from " + manifest.length + " to " + finalManifest.length);
            }
            p.item(NamedDataKeys.MANIFEST);
            w.write(finalManifest);
            w.commit();
            return fileSha;
        }
    }

    /**
     * Where everything goes in the .pte: the spliced flatbuffer ({@code head}) and the absolute offset
     * of each item's segment and of the manifest.
     */
    private record Layout(byte[] head, long base, List<DataSegment> segments) {
        /** Segment 0 is the empty constant segment; item i is segment i+1. */
        long offset(int item) { return base + segments.get(item + 1).offset(); }

        long manifestOffset() { return base + segments.get(segments.size() - 1).offset(); }
    }

    private static Layout layout(CaptionProgram.Shape shape, RunnerConstants constants, List<Item> items, long manifestSize) {
        List<Long> sizes = new ArrayList<>();
        List<NamedData> named = new ArrayList<>();
        sizes.add(0L); // constant segment
        for (Item item : items) {
            named.add(new NamedData(item.key(), sizes.size()));
            sizes.add(item.size());
        }
        named.add(new NamedData(NamedDataKeys.MANIFEST, sizes.size()));
        sizes.add(manifestSize);
        List<DataSegment> segments = SegmentLayout.place(sizes);
        Program program = new Program(0, CaptionProgram.plans(shape, constants), List.of(new byte[0]), segments,
                new SubsegmentOffsets(0, List.of(0L)), named);
        byte[] flatbuffer = ProgramCodec.encode(program);
        long programSize = flatbuffer.length + ExtendedHeader.PADDED_LENGTH;
        long base = SegmentLayout.align(programSize, SegmentLayout.ALIGNMENT);
        ExtendedHeader header = new ExtendedHeader(programSize, base, SegmentLayout.dataSize(segments));
        return new Layout(ExtendedHeader.splice(flatbuffer, header.toBytes()), base, segments);
    }

    private static List<Blob> pteBlobs(List<Item> items, Layout layout, List<String> shas) {
        List<Blob> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            Item item = items.get(i);
            String sha = shas == null ? Manifest.PENDING_SHA256 : shas.get(i);
            Tensor t = item.tensor();
            out.add(new Blob(item.key(), Blob.IN_PTE, layout.offset(i), item.size(), sha,
                    t == null ? null : t.dtype(), t == null ? null : shapeList(t)));
        }
        return out;
    }

    private static Manifest manifest(CaptionProgram.Shape shape, Path ptd, String ptdSha, String fileSha, long manifestOffset, List<Blob> blobs) {
        return new Manifest(shape.identity().family(), shape.identity().variant(),
                ptd == null ? null : ptd.getFileName().toString(), ptdSha, fileSha, manifestOffset, blobs);
    }

    private static TensorLayout layout(Tensor t) {
        List<Integer> sizes = new ArrayList<>();
        for (long d : t.shape()) {
            if (d > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor '" + t.name() + "' has dimension " + d + ", beyond ExecuTorch's int32 sizes");
            sizes.add((int) d);
        }
        return new TensorLayout(t.dtype().executorchScalarType(), sizes, Program.contiguous(sizes.size()));
    }

    private static List<Long> shapeList(Tensor t) {
        List<Long> out = new ArrayList<>();
        for (long d : t.shape()) out.add(d);
        return out;
    }

    /** Counts bytes written against the total and tells the listener. */
    private static final class Progress {
        private final ProgressListener listener;
        private final long total;
        private long done;
        private String item = "program";

        Progress(ProgressListener listener, long total) {
            this.listener = listener == null ? ProgressListener.NONE : listener;
            this.total = total;
        }

        void item(String name) {
            item = name;
            listener.progress(item, done, total);
        }

        void advance(long bytes) {
            done += bytes;
            listener.progress(item, done, total);
        }
    }
}
