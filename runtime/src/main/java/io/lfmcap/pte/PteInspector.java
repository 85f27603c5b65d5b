package io.lfmcap.pte;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lfmcap.pte.Manifest.Blob;
import io.lfmcap.pte.Program.BackendDelegate;
import io.lfmcap.pte.Program.BoolValue;
import io.lfmcap.pte.Program.CompileSpec;
import io.lfmcap.pte.Program.DoubleValue;
import io.lfmcap.pte.Program.EValue;
import io.lfmcap.pte.Program.ExecutionPlan;
import io.lfmcap.pte.Program.IntListValue;
import io.lfmcap.pte.Program.IntValue;
import io.lfmcap.pte.Program.StringValue;
import io.lfmcap.pte.Program.TensorValue;
import io.lfmcap.pte.SegmentArea.Range;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code lfmcap inspect} shows of a {@code .pte}: container format, model family and variant,
 * each method with its inputs and outputs (and backend), the constant methods' values, and every
 * named data entry with its size and checksum. Works on programs made for other backends too: they
 * are described and marked as not runnable, with the reason.
 *
 * <p>The report is a JSON tree ({@link #toJson()}); {@link #toText()} renders it for a terminal.
 */
public final class PteInspector {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final ObjectNode report;

    private PteInspector(ObjectNode report) { this.report = report; }

    /** Reads {@code pte} (and its .ptd when the weights are external). */
    public static PteInspector inspect(Path pte) {
        ObjectNode r = JSON.createObjectNode();
        try (PteFile file = PteFile.open(pte)) {
            r.put("file", pte.toString());
            r.put("size", file.size());
            describeFormat(r.putObject("format"), file);
            ArrayNode methods = r.putArray("methods");
            for (ExecutionPlan plan : CaptionProgram.nonNull(file.program().executionPlan())) describeMethod(methods.addObject(), plan);
            try (PteModelPackage pkg = PteModelPackage.open(pte)) {
                r.put("runnable", true);
                ((ObjectNode) r.get("format")).put("lfmcap_format_version", Manifest.FORMAT_VERSION);
                describeModel(r.putObject("model"), pkg);
                describeConstants(r.putObject("constants"), pkg.constants());
                ArrayNode named = r.putArray("named_data");
                for (Blob b : pkg.manifest().blobs()) describeBlob(named.addObject(), b);
                Range m = file.namedData().get(NamedDataKeys.MANIFEST);
                named.addObject().put("key", NamedDataKeys.MANIFEST).put("file", Blob.IN_PTE).put("offset", m.offset()).put("size", m.size());
            } catch (PteFormatException e) {
                r.put("runnable", false);
                r.put("problem", e.getMessage());
                ArrayNode named = r.putArray("named_data");
                for (Map.Entry<String, Range> e2 : file.namedData().entrySet()) {
                    named.addObject().put("key", e2.getKey()).put("file", Blob.IN_PTE).put("offset", e2.getValue().offset()).put("size", e2.getValue().size());
                }
            }
        }
        return new PteInspector(r);
    }

    /** The report as a JSON tree: file, size, format, runnable (+ problem), model, methods, constants, named_data. */
    public ObjectNode json() { return report.deepCopy(); }

    public String toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize the inspect report", e);
        }
    }

    public String toText() {
        StringBuilder s = new StringBuilder();
        JsonNode f = report.get("format");
        s.append(report.get("file").asText()).append("  (").append(grouped(report.get("size").asLong())).append(" bytes)\n");
        s.append(String.format(Locale.ROOT, "  format       ExecuTorch program %s, extended header %s, Program.version %d%s%n",
                f.get("identifier").asText(), f.path("extended_header").asText("none"), f.get("program_version").asLong(),
                f.has("lfmcap_format_version") ? ", lfmcap format " + f.get("lfmcap_format_version").asInt() : ""));
        s.append(String.format(Locale.ROOT, "  layout       program %s bytes; %d segments from byte %s (%s bytes)%n",
                grouped(f.get("program_size").asLong()), f.get("segments").asInt(), grouped(f.get("segment_base_offset").asLong()),
                grouped(f.get("segment_data_size").asLong())));
        JsonNode model = report.get("model");
        if (model != null) {
            s.append("  model        ").append(model.get("family").asText()).append(' ').append(model.get("variant").asText()).append('\n');
            s.append("  weights      ").append(model.get("weights").asText()).append(", ").append(model.get("tensors").asInt())
                    .append(" tensors, ").append(grouped(model.get("weight_bytes").asLong())).append(" bytes\n");
            s.append("  file sha256  ").append(model.get("file_sha256").asText()).append('\n');
            if (model.hasNonNull("weights_file_sha256")) s.append("  .ptd sha256  ").append(model.get("weights_file_sha256").asText()).append('\n');
        }
        s.append("  runnable     ").append(report.get("runnable").asBoolean() ? "yes" : "no: " + report.get("problem").asText()).append('\n');

        s.append("\nmethods\n");
        for (JsonNode m : report.get("methods")) {
            s.append(String.format(Locale.ROOT, "  %-21s", m.get("name").asText()));
            if (m.has("backends")) {
                s.append(join(m.get("backends"))).append("  ").append(ports(m.get("inputs"))).append(" -> ").append(ports(m.get("outputs")));
            } else {
                s.append(m.get("kind").asText()).append("  ").append(ports(m.get("outputs")));
            }
            s.append('\n');
        }
        JsonNode constants = report.get("constants");
        if (constants != null) {
            s.append("\nconstants\n");
            for (Iterator<Map.Entry<String, JsonNode>> it = constants.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                s.append(String.format(Locale.ROOT, "  %-21s%s%n", e.getKey(), e.getValue()));
            }
        }
        JsonNode named = report.get("named_data");
        s.append("\nnamed data (").append(named.size()).append(")\n");
        for (JsonNode n : named) {
            s.append(String.format(Locale.ROOT, "  %-58s %s %12s %14s", n.get("key").asText(), n.get("file").asText(),
                    grouped(n.get("offset").asLong()), grouped(n.get("size").asLong())));
            if (n.has("sha256")) s.append("  ").append(n.get("sha256").asText());
            if (n.has("dtype")) s.append("  ").append(n.get("dtype").asText()).append(list(n.get("shape")));
            s.append('\n');
        }
        return s.toString();
    }

    private static void describeFormat(ObjectNode f, PteFile file) {
        f.put("identifier", ProgramCodec.IDENTIFIER);
        ExtendedHeader h = file.header();
        if (h != null) {
            f.put("extended_header", ExtendedHeader.MAGIC);
            f.put("program_size", h.programSize());
            f.put("segment_base_offset", h.segmentBaseOffset());
            f.put("segment_data_size", h.segmentDataSize());
        } else {
            f.put("program_size", file.size());
            f.put("segment_base_offset", 0);
            f.put("segment_data_size", 0);
        }
        f.put("segments", file.segments().size());
        f.put("program_version", file.program().version());
    }

    private static void describeModel(ObjectNode m, PteModelPackage pkg) {
        Manifest manifest = pkg.manifest();
        m.put("family", manifest.family());
        m.put("variant", manifest.variant());
        m.put("weights", manifest.weightsFile() == null ? "inside the .pte" : "in " + pkg.weightsPath().getFileName());
        long tensors = manifest.blobs().stream().filter(Blob::isTensor).count();
        m.put("tensors", tensors);
        m.put("weight_bytes", manifest.blobs().stream().filter(Blob::isTensor).mapToLong(Blob::size).sum());
        m.put("file_sha256", manifest.fileSha256());
        m.put("weights_file_sha256", manifest.weightsFileSha256());
    }

    private static void describeConstants(ObjectNode c, RunnerConstants k) {
        c.put(CaptionProgram.MAX_SEQ_LEN, k.maxSeqLen());
        c.put(CaptionProgram.MAX_CONTEXT_LEN, k.maxContextLen());
        c.put(CaptionProgram.VOCAB_SIZE, k.vocabSize());
        c.put(CaptionProgram.BOS_ID, k.bosId());
        ArrayNode eos = c.putArray(CaptionProgram.EOS_IDS);
        k.eosIds().forEach(eos::add);
        c.put(CaptionProgram.USE_KV_CACHE, k.useKvCache());
        c.put(CaptionProgram.ENABLE_DYNAMIC_SHAPE, k.enableDynamicShape());
        c.put(CaptionProgram.MODEL_FAMILY, k.family());
        c.put(CaptionProgram.MODEL_VARIANT, k.variant());
    }

    private static void describeMethod(ObjectNode m, ExecutionPlan plan) {
        m.put("name", String.valueOf(plan.name()));
        List<BackendDelegate> delegates = CaptionProgram.nonNull(plan.delegates());
        List<EValue> values = CaptionProgram.nonNull(plan.values());
        Map<String, String> specs = new java.util.LinkedHashMap<>();
        if (!delegates.isEmpty()) {
            ArrayNode ids = m.putArray("backends");
            for (BackendDelegate d : delegates) ids.add(String.valueOf(d.id()));
            for (CompileSpec spec : CaptionProgram.nonNull(delegates.get(0).compileSpecs())) specs.put(String.valueOf(spec.key()), printable(spec.value()));
            ObjectNode specNode = m.putObject("compile_specs");
            specs.forEach(specNode::put);
        } else {
            boolean noInstructions = CaptionProgram.nonNull(plan.chains()).stream().allMatch(c -> CaptionProgram.nonNull(c.instructions()).isEmpty());
            m.put("kind", noInstructions && CaptionProgram.nonNull(plan.inputs()).isEmpty() ? "constant" : "ExecuTorch operators");
        }
        ports(m.putArray("inputs"), plan.inputs(), values, specs.get(CaptionProgram.SPEC_INPUTS));
        ports(m.putArray("outputs"), plan.outputs(), values, specs.get(CaptionProgram.SPEC_OUTPUTS));
    }

    private static void ports(ArrayNode out, List<Integer> indices, List<EValue> values, String names) {
        String[] n = names == null ? new String[0] : names.split(",");
        int k = 0;
        for (int i : CaptionProgram.nonNull(indices)) {
            ObjectNode p = out.addObject();
            if (k < n.length) p.put("name", n[k]);
            k++;
            EValue v = i >= 0 && i < values.size() ? values.get(i) : null;
            if (v instanceof TensorValue t) {
                p.put("dtype", Program.scalarTypeName(t.scalarType()));
                ArrayNode sizes = p.putArray("sizes");
                t.sizes().forEach(sizes::add);
                p.put("dynamic", t.shapeDynamism() != Program.STATIC);
            } else if (v instanceof IntValue iv) {
                p.put("value", iv.value());
            } else if (v instanceof BoolValue bv) {
                p.put("value", bv.value());
            } else if (v instanceof DoubleValue dv) {
                p.put("value", dv.value());
            } else if (v instanceof StringValue sv) {
                p.put("value", sv.value());
            } else if (v instanceof IntListValue lv) {
                ArrayNode a = p.putArray("value");
                lv.items().forEach(a::add);
            } else {
                p.put("kind", v == null ? "missing value " + i : v.getClass().getSimpleName());
            }
        }
    }

    private static void describeBlob(ObjectNode n, Blob b) {
        n.put("key", b.key());
        n.put("file", b.file());
        n.put("offset", b.offset());
        n.put("size", b.size());
        n.put("sha256", b.sha256());
        if (b.isTensor()) {
            n.put("dtype", b.dtype().safetensorsName());
            ArrayNode shape = n.putArray("shape");
            b.shape().forEach(shape::add);
        }
    }

    private static String ports(JsonNode ports) {
        StringBuilder s = new StringBuilder("(");
        for (JsonNode p : ports) {
            if (s.length() > 1) s.append(", ");
            if (p.has("name")) s.append(p.get("name").asText()).append(": ");
            if (p.has("dtype")) s.append(p.get("dtype").asText()).append(list(p.get("sizes"))).append(p.get("dynamic").asBoolean() ? " dynamic" : "");
            else if (p.has("value")) s.append(p.get("value"));
            else s.append(p.path("kind").asText());
        }
        return s.append(')').toString();
    }

    /** A JSON array of numbers as {@code [1, 2, 3]}. */
    private static String list(JsonNode array) {
        StringBuilder s = new StringBuilder("[");
        for (JsonNode n : array) s.append(s.length() == 1 ? "" : ", ").append(n.asText());
        return s.append(']').toString();
    }

    private static String join(JsonNode array) {
        StringBuilder s = new StringBuilder();
        for (JsonNode n : array) s.append(s.length() == 0 ? "" : ",").append(n.asText());
        return s.toString();
    }

    /** UTF-8 text when the bytes are valid UTF-8, else hex. */
    private static String printable(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return "0x" + HexFormat.of().formatHex(bytes);
        }
    }

    private static String grouped(long n) { return String.format(Locale.ROOT, "%,d", n); }
}
