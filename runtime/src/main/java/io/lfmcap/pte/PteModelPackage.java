package io.lfmcap.pte;

import io.lfmcap.model.DType;
import io.lfmcap.model.MappedFile;
import io.lfmcap.model.MappedTensor;
import io.lfmcap.model.ModelConfig;
import io.lfmcap.model.ModelPackage;
import io.lfmcap.model.ProcessorConfig;
import io.lfmcap.model.WeightSchema;
import io.lfmcap.model.WeightStore;
import io.lfmcap.pte.Manifest.Blob;
import io.lfmcap.pte.SegmentArea.Range;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model exported by {@link PteExporter}, loaded from its {@code .pte} (and {@code .ptd} when the
 * weights are external). Opening maps the files and checks every structural fact before use:
 * identifier, headers, sizes, flatbuffer offsets, segment ranges, the backend of every method (a
 * program made for another ExecuTorch backend is refused with a message naming it), the methods
 * and their declared I/O against config.json, the manifest against the named data, tensor dtypes,
 * shapes, sizes and 128-byte alignment, and the weight set against the config ({@link WeightSchema}).
 * Content checksums are verified on demand by {@link #verify()}.
 *
 * <p>Weights are views over the mapped files (windows of 2 GiB), never copied; closing the package
 * unmaps them.
 */
public final class PteModelPackage implements ModelPackage {
    private static final int MAX_CONFIG_BYTES = 16 << 20;
    private static final int MAX_TOKENIZER_BYTES = 64 << 20;

    private final PteFile pte;
    private final PtdFile ptd;
    private final Manifest manifest;
    private final ModelConfig config;
    private final ProcessorConfig processor;
    private final byte[] tokenizerJson;
    private final String chatTemplate;
    private final RunnerConstants constants;
    private final PteWeights weights;

    private PteModelPackage(PteFile pte, PtdFile ptd, Manifest manifest, ModelConfig config, ProcessorConfig processor,
                            byte[] tokenizerJson, String chatTemplate, RunnerConstants constants, PteWeights weights) {
        this.pte = pte;
        this.ptd = ptd;
        this.manifest = manifest;
        this.config = config;
        this.processor = processor;
        this.tokenizerJson = tokenizerJson;
        this.chatTemplate = chatTemplate;
        this.constants = constants;
        this.weights = weights;
    }

    /** The result of {@link #verify()}. */
    public record Verification(boolean cached, long bytesHashed, String fileSha256) {}

    /** The companion weights file of {@code pte}: same name with {@code .ptd} for {@code .pte}. */
    public static Path weightsFileFor(Path pte) {
        String name = pte.getFileName().toString();
        String stem = name.endsWith(".pte") ? name.substring(0, name.length() - 4) : name;
        return pte.resolveSibling(stem + ".ptd");
    }

    /** Opens {@code pte}; when its weights are external, reads them from {@link #weightsFileFor} it. */
    public static PteModelPackage open(Path pte) {
        return open(pte, null);
    }

    /** Opens {@code pte} with its weights file {@code ptd} (null: the default companion, if needed). */
    public static PteModelPackage open(Path pte, Path ptd) {
        if (Files.isDirectory(pte)) {
            throw new PteFormatException(pte + " is a folder; open a checkpoint folder with CheckpointPackage (or ModelPackages.open)");
        }
        PteFile file = PteFile.open(pte);
        PtdFile weightsFile = null;
        try {
            String source = pte.toString();
            CaptionProgram.requireOwnBackend(file.program(), source);
            Map<String, Range> named = file.namedData();
            Manifest manifest = Manifest.parse(blob(file, NamedDataKeys.MANIFEST, Manifest.MAX_BYTES), source);
            ModelConfig config;
            try {
                config = ModelConfig.fromJson(text(file, NamedDataKeys.CONFIG, MAX_CONFIG_BYTES), source + " " + NamedDataKeys.CONFIG);
            } catch (IllegalArgumentException e) {
                throw new PteFormatException(source + ": " + NamedDataKeys.CONFIG + " is invalid: " + e.getMessage(), e);
            }
            ProcessorConfig processor = ProcessorJson.parse(blob(file, NamedDataKeys.PROCESSOR, MAX_CONFIG_BYTES), source);
            byte[] tokenizer = blob(file, NamedDataKeys.TOKENIZER, MAX_TOKENIZER_BYTES);
            String template = named.containsKey(NamedDataKeys.CHAT_TEMPLATE) ? text(file, NamedDataKeys.CHAT_TEMPLATE, MAX_CONFIG_BYTES) : null;

            boolean external = manifest.weightsFile() != null;
            RunnerConstants constants = CaptionProgram.check(file.program(), config, processor, external, source);
            if (!constants.family().equals(manifest.family()) || !constants.variant().equals(manifest.variant())) {
                throw new PteFormatException(source + ": the manifest names " + manifest.family() + " " + manifest.variant()
                        + " but the program " + constants.family() + " " + constants.variant());
            }
            checkPteBlobs(manifest, named, external, source);
            if (external) {
                Path weightsPath = ptd != null ? ptd : weightsFileFor(pte);
                if (!Files.isRegularFile(weightsPath)) {
                    throw new PteFormatException(source + ": the weights are in a separate file (exported as '" + manifest.weightsFile()
                            + "'), expected at " + weightsPath + ", which does not exist; copy the .ptd beside the .pte under that name");
                }
                weightsFile = PtdFile.open(weightsPath);
                checkPtdBlobs(manifest, weightsFile, source);
            } else if (ptd != null) {
                throw new PteFormatException(source + ": holds its own weights; it takes no .ptd (given " + ptd + ")");
            }
            PteWeights weights = weights(manifest, file, weightsFile, source);
            try {
                WeightSchema.of(config).validate(weights);
            } catch (IllegalArgumentException e) {
                throw new PteFormatException(e.getMessage(), e);
            }
            return new PteModelPackage(file, weightsFile, manifest, config, processor, tokenizer, template, constants, weights);
        } catch (RuntimeException e) {
            file.close();
            if (weightsFile != null) weightsFile.close();
            throw e;
        }
    }

    @Override
    public ModelConfig config() { return config; }

    @Override
    public ProcessorConfig processor() { return processor; }

    @Override
    public byte[] tokenizerJson() { return tokenizerJson.clone(); }

    @Override
    public String chatTemplate() { return chatTemplate; }

    @Override
    public WeightStore weights() { return weights; }

    /** The .pte file name. */
    @Override
    public String name() { return pte.path().getFileName().toString(); }

    /** The manifest's {@code file_sha256}: the checksum the exporter computed over the .pte. */
    @Override
    public String sha256() { return manifest.fileSha256(); }

    public Path path() { return pte.path(); }

    /** The .ptd holding the weights, or null when they are inside the .pte. */
    public Path weightsPath() { return ptd == null ? null : ptd.path(); }

    public RunnerConstants constants() { return constants; }

    public ModelIdentity identity() { return new ModelIdentity(manifest.family(), manifest.variant()); }

    Manifest manifest() { return manifest; }

    PteFile pteFile() { return pte; }

    /**
     * Checks the SHA-256 of every blob and of the whole file(s) against the manifest, unless these
     * exact files (path, size, modification time) were verified before in this JVM. Throws a
     * {@link PteFormatException} listing every mismatch.
     */
    public Verification verify() {
        List<ChecksumCache.FileKey> key = new ArrayList<>();
        key.add(ChecksumCache.FileKey.of(pte.path()));
        if (ptd != null) key.add(ChecksumCache.FileKey.of(ptd.path()));
        ChecksumCache.Outcome o = ChecksumCache.verifyOnce(key, this::hashEverything);
        return new Verification(o.cached(), o.bytesHashed(), manifest.fileSha256());
    }

    @Override
    public void close() { weights.close(); }

    @Override
    public String toString() { return "PteModelPackage[" + pte.path() + (ptd == null ? "" : " + " + ptd.path()) + "]"; }

    // ---------------------------------------------------------------- open: cross-checks

    private static void checkPteBlobs(Manifest manifest, Map<String, Range> named, boolean external, String source) {
        Range manifestRange = named.get(NamedDataKeys.MANIFEST);
        if (manifest.fileSha256Bytes() != manifestRange.offset()) {
            throw new PteFormatException(source + ": the manifest covers bytes [0, " + manifest.fileSha256Bytes()
                    + ") but starts at " + manifestRange.offset());
        }
        Set<String> listed = new HashSet<>();
        for (Blob b : manifest.blobs()) {
            if (!listed.add(b.key())) throw new PteFormatException(source + ": the manifest lists '" + b.key() + "' twice");
            if (b.key().startsWith(NamedDataKeys.PREFIX) == b.isTensor()) {
                throw new PteFormatException(source + ": the manifest entry '" + b.key() + "' is " + (b.isTensor() ? "a tensor" : "not a tensor")
                        + ", but keys under " + NamedDataKeys.PREFIX + " are blobs and weights are tensors");
            }
            String home = external && b.isTensor() ? Blob.IN_PTD : Blob.IN_PTE;
            if (!b.file().equals(home)) {
                throw new PteFormatException(source + ": the manifest places '" + b.key() + "' in the ." + b.file() + ", expected the ." + home);
            }
            if (!b.file().equals(Blob.IN_PTE)) continue;
            Range r = named.get(b.key());
            if (r == null) throw new PteFormatException(source + ": the manifest lists '" + b.key() + "' but the program has no such named data");
            if (r.offset() != b.offset() || r.size() != b.size()) {
                throw new PteFormatException(source + ": named data '" + b.key() + "' lies at [" + r.offset() + ", +" + r.size()
                        + ") but the manifest says [" + b.offset() + ", +" + b.size() + ")");
            }
        }
        for (String key : named.keySet()) {
            if (!key.equals(NamedDataKeys.MANIFEST) && !listed.contains(key)) {
                throw new PteFormatException(source + ": named data '" + key + "' is missing from the manifest");
            }
        }
    }

    private static void checkPtdBlobs(Manifest manifest, PtdFile ptd, String source) {
        String where = source + " + " + ptd.path();
        Set<String> listed = new HashSet<>();
        for (Blob b : manifest.blobs()) {
            if (!b.file().equals(Blob.IN_PTD)) continue;
            listed.add(b.key());
            PtdFile.Entry e = ptd.entries().get(b.key());
            if (e == null) throw new PteFormatException(where + ": the .ptd lacks weight '" + b.key() + "'; it belongs to another export");
            if (e.range().offset() != b.offset() || e.range().size() != b.size()) {
                throw new PteFormatException(where + ": weight '" + b.key() + "' lies at [" + e.range().offset() + ", +" + e.range().size()
                        + ") in the .ptd but the manifest says [" + b.offset() + ", +" + b.size() + "); the .ptd belongs to another export");
            }
            List<Integer> sizes = new ArrayList<>();
            for (long d : b.shape()) sizes.add((int) Math.min(d, Integer.MAX_VALUE));
            FlatTensor.TensorLayout want = new FlatTensor.TensorLayout(b.dtype().executorchScalarType(), sizes, Program.contiguous(sizes.size()));
            if (!want.equals(e.layout())) {
                throw new PteFormatException(where + ": weight '" + b.key() + "' has layout " + e.layout() + " in the .ptd, the manifest says " + want);
            }
        }
        for (String key : ptd.entries().keySet()) {
            if (!listed.contains(key)) throw new PteFormatException(where + ": the .ptd holds '" + key + "', which the manifest does not list");
        }
    }

    private static PteWeights weights(Manifest manifest, PteFile pte, PtdFile ptd, String source) {
        Map<String, MappedTensor> tensors = new LinkedHashMap<>();
        for (Blob b : manifest.blobs()) {
            if (!b.isTensor()) continue;
            MappedFile file = b.file().equals(Blob.IN_PTD) ? ptd.file() : pte.file();
            long[] shape = b.shape().stream().mapToLong(Long::longValue).toArray();
            long bytes;
            try {
                long n = 1;
                for (long d : shape) n = Math.multiplyExact(n, d);
                bytes = Math.multiplyExact(n, b.dtype().bytes());
            } catch (ArithmeticException e) {
                throw new PteFormatException(source + ": weight '" + b.key() + "' has an impossible shape " + b.shape());
            }
            if (bytes != b.size()) {
                throw new PteFormatException(source + ": weight '" + b.key() + "' is " + b.dtype() + " " + b.shape() + " (" + bytes
                        + " bytes) but its blob has " + b.size() + " bytes");
            }
            if (b.offset() % SegmentLayout.ALIGNMENT != 0) {
                throw new PteFormatException(source + ": weight '" + b.key() + "' starts at byte " + b.offset() + ", not "
                        + SegmentLayout.ALIGNMENT + "-byte aligned");
            }
            tensors.put(b.key(), new MappedTensor(b.key(), b.dtype(), shape, file, b.offset()));
        }
        String label = ptd == null ? source : source + " + " + ptd.path();
        return new PteWeights(tensors, label, pte, ptd);
    }

    private static byte[] blob(PteFile file, String key, int maxBytes) {
        Range r = file.namedData().get(key);
        if (r == null) {
            throw new PteFormatException(file.path() + ": the program lacks named data '" + key
                    + "'; it was not exported by lfmcap export or is damaged");
        }
        if (r.size() > maxBytes) throw new PteFormatException(file.path() + ": named data '" + key + "' is " + r.size() + " bytes, over the limit of " + maxBytes);
        return file.file().readBytes(r.offset(), (int) r.size());
    }

    private static String text(PteFile file, String key, int maxBytes) {
        return new String(blob(file, key, maxBytes), StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- verify

    private long hashEverything() {
        List<String> problems = new ArrayList<>();
        List<Blob> inPte = new ArrayList<>();
        List<Blob> inPtd = new ArrayList<>();
        for (Blob b : manifest.blobs()) (b.file().equals(Blob.IN_PTD) ? inPtd : inPte).add(b);
        long bytes = hashFile(pte.file(), manifest.fileSha256Bytes(), manifest.fileSha256(), inPte, problems);
        if (ptd != null) bytes += hashFile(ptd.file(), ptd.file().size(), manifest.weightsFileSha256(), inPtd, problems);
        if (!problems.isEmpty()) {
            StringBuilder msg = new StringBuilder(pte.path().toString()).append(": checksum mismatch (")
                    .append(problems.size()).append(problems.size() == 1 ? " part" : " parts").append("):");
            for (String p : problems.subList(0, Math.min(20, problems.size()))) msg.append("\n  ").append(p);
            if (problems.size() > 20) msg.append("\n  ...");
            msg.append("\nThe file was damaged in transfer or on disk; copy it again or export it again.");
            throw new PteFormatException(msg.toString());
        }
        return bytes;
    }

    /**
     * One pass over bytes [0, end) of {@code file}: the whole-range digest and, from the same bytes,
     * each blob's digest (blobs lie inside the range and do not overlap).
     */
    private static long hashFile(MappedFile file, long end, String expected, List<Blob> blobs, List<String> problems) {
        List<Blob> sorted = new ArrayList<>(blobs);
        sorted.sort(Comparator.comparingLong(Blob::offset));
        MessageDigest whole = SegmentFileWriter.sha256();
        MessageDigest part = SegmentFileWriter.sha256();
        byte[] chunk = new byte[SegmentFileWriter.CHUNK];
        int next = 0;
        for (long pos = 0; pos < end; ) {
            int n = (int) Math.min(chunk.length, end - pos);
            file.read(pos, chunk, 0, n);
            whole.update(chunk, 0, n);
            long chunkEnd = pos + n;
            while (next < sorted.size() && sorted.get(next).offset() < chunkEnd) {
                Blob b = sorted.get(next);
                long from = Math.max(b.offset(), pos);
                long to = Math.min(b.offset() + b.size(), chunkEnd);
                part.update(chunk, (int) (from - pos), (int) (to - from));
                if (b.offset() + b.size() > chunkEnd) break;
                compare(b.key(), b.sha256(), part, problems);
                next++;
            }
            pos = chunkEnd;
        }
        for (; next < sorted.size(); next++) { // empty blobs at the end
            Blob b = sorted.get(next);
            if (b.size() == 0) compare(b.key(), b.sha256(), part, problems);
            else problems.add(b.key() + ": lies outside the checksummed range");
        }
        compare(file.path().getFileName() + " (whole file)", expected, whole, problems);
        return end;
    }

    private static void compare(String what, String expected, MessageDigest digest, List<String> problems) {
        String found = HexFormat.of().formatHex(digest.digest()); // digest() also resets it
        if (!found.equals(expected)) problems.add(what + ": expected " + expected + ", found " + found);
    }
}
