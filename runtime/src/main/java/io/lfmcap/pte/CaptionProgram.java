package io.lfmcap.pte;

import io.lfmcap.model.ModelConfig;
import io.lfmcap.model.ProcessorConfig;
import io.lfmcap.model.WeightSchema;
import io.lfmcap.pte.Program.AllocationDetails;
import io.lfmcap.pte.Program.BackendDelegate;
import io.lfmcap.pte.Program.BoolValue;
import io.lfmcap.pte.Program.Chain;
import io.lfmcap.pte.Program.CompileSpec;
import io.lfmcap.pte.Program.ContainerMetadata;
import io.lfmcap.pte.Program.DataReference;
import io.lfmcap.pte.Program.EValue;
import io.lfmcap.pte.Program.ExecutionPlan;
import io.lfmcap.pte.Program.Instruction;
import io.lfmcap.pte.Program.IntValue;
import io.lfmcap.pte.Program.StringValue;
import io.lfmcap.pte.Program.TensorValue;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The ExecuTorch methods lfmcap exports for an LFM2-VL model, and the checks a loaded program must
 * pass. Shaped after ExecuTorch's multimodal LLM runner (docs/pte-format.md section 4):
 *
 * <pre>
 *  vision_encoder   pixel_values  f32 [views, max_patches, patch_dim]  (dynamic, rows past a view's patches unused)
 *                   spatial_shapes i64 [views, 2]  (patch grid height, width per view)
 *               ->  image_embeddings f32 [1, views * max_image_tokens, hidden]
 *  token_embedding  tokens i64 [1, n]                    ->  embeddings f32 [1, n, hidden]
 *  text_decoder     embeddings f32 [1, n, hidden], cache_position i64 [n]  ->  logits f32 [1, vocab] (last position)
 * </pre>
 *
 * Each is one {@code DelegateCall} to {@value #BACKEND_ID}: the KV and conv caches live inside the
 * backend, never in the method I/O; inputs are unplanned and outputs planned in arena 1, as ExecuTorch
 * plans with {@code alloc_graph_input=False}. The constant methods follow, in the order
 * {@code to_edge(constant_methods=...)} emits them: graph methods sorted by name, then constants.
 */
final class CaptionProgram {
    /** The delegate id of every method this runtime executes. */
    static final String BACKEND_ID = "LfmcapBackend";
    static final String VISION_ENCODER = "vision_encoder";
    static final String TOKEN_EMBEDDING = "token_embedding";
    static final String TEXT_DECODER = "text_decoder";
    /** Graph methods in file order (sorted by name). */
    static final List<String> GRAPH_METHODS = List.of(TEXT_DECODER, TOKEN_EMBEDDING, VISION_ENCODER);

    static final String MAX_SEQ_LEN = "get_max_seq_len";
    static final String MAX_CONTEXT_LEN = "get_max_context_len";
    static final String VOCAB_SIZE = "get_vocab_size";
    static final String BOS_ID = "get_bos_id";
    static final String EOS_IDS = "get_eos_ids";
    static final String USE_KV_CACHE = "use_kv_cache";
    static final String ENABLE_DYNAMIC_SHAPE = "enable_dynamic_shape";
    static final String MODEL_FAMILY = "get_model_family";
    static final String MODEL_VARIANT = "get_model_variant";

    /** Compile spec keys of each delegate (values are UTF-8 text). */
    static final String SPEC_FORMAT_VERSION = "lfmcap.format_version";
    static final String SPEC_METHOD = "lfmcap.method";
    static final String SPEC_FAMILY = "lfmcap.family";
    static final String SPEC_VARIANT = "lfmcap.variant";
    static final String SPEC_WEIGHTS = "lfmcap.weights";
    static final String SPEC_WEIGHTS_LOCATION = "lfmcap.weights_location";
    static final String SPEC_INPUTS = "lfmcap.inputs";
    static final String SPEC_OUTPUTS = "lfmcap.outputs";

    // torch.utils._pytree JSON treespecs (protocol 1), as official ExecuTorch builds write them.
    private static final String LEAF = "{\"type\": null, \"context\": null, \"children_spec\": []}";
    private static final String ONE_OUTPUT = "[1, " + LEAF + "]";

    private CaptionProgram() {}

    /** What the exported methods are shaped by. */
    record Shape(ModelConfig config, ProcessorConfig processor, ModelIdentity identity, int maxSeqLen, boolean externalWeights) {
        /** Views (tiles plus thumbnail) one image can have. */
        int maxViews() {
            if (!processor.doImageSplitting()) return 1;
            return processor.maxTiles() + (processor.useThumbnail() ? 1 : 0);
        }

        int maxTokensPerView() {
            return processor.maxNumPatches() / (processor.downsampleFactor() * processor.downsampleFactor());
        }
    }

    // ================================================================ build

    static List<ExecutionPlan> plans(Shape s, RunnerConstants c) {
        List<ExecutionPlan> plans = new ArrayList<>();
        for (String method : GRAPH_METHODS) plans.add(graphPlan(s, method));
        plans.add(constantPlan(MAX_SEQ_LEN, new IntValue(c.maxSeqLen())));
        plans.add(constantPlan(MAX_CONTEXT_LEN, new IntValue(c.maxContextLen())));
        plans.add(constantPlan(VOCAB_SIZE, new IntValue(c.vocabSize())));
        plans.add(constantPlan(BOS_ID, new IntValue(c.bosId())));
        plans.add(eosPlan(c.eosIds()));
        plans.add(constantPlan(USE_KV_CACHE, new BoolValue(c.useKvCache())));
        plans.add(constantPlan(ENABLE_DYNAMIC_SHAPE, new BoolValue(c.enableDynamicShape())));
        plans.add(constantPlan(MODEL_FAMILY, new StringValue(c.family())));
        plans.add(constantPlan(MODEL_VARIANT, new StringValue(c.variant())));
        return plans;
    }

    /** The constants an export of {@code s} records. */
    static RunnerConstants constants(Shape s) {
        ModelConfig.TextConfig t = s.config().text();
        return new RunnerConstants(s.maxSeqLen(), s.maxSeqLen(), t.vocabSize(), t.bosTokenId(), List.of((long) t.eosTokenId()),
                true, true, s.identity().family(), s.identity().variant());
    }

    private static ExecutionPlan graphPlan(Shape s, String method) {
        int h = s.config().text().hiddenSize();
        int n = s.maxSeqLen();
        List<Port> in;
        Port out;
        List<String> weights;
        switch (method) {
            case VISION_ENCODER -> {
                int views = s.maxViews();
                in = List.of(new Port("pixel_values", Program.SCALAR_FLOAT, List.of(views, s.processor().maxNumPatches(), s.config().vision().patchDim())),
                        new Port("spatial_shapes", Program.SCALAR_LONG, List.of(views, 2)));
                out = new Port("image_embeddings", Program.SCALAR_FLOAT, List.of(1, views * s.maxTokensPerView(), h));
                weights = List.of(WeightSchema.VISION, WeightSchema.PROJECTOR);
            }
            case TOKEN_EMBEDDING -> {
                in = List.of(new Port("tokens", Program.SCALAR_LONG, List.of(1, n)));
                out = new Port("embeddings", Program.SCALAR_FLOAT, List.of(1, n, h));
                weights = List.of(WeightSchema.TEXT + "embed_tokens.");
            }
            case TEXT_DECODER -> {
                in = List.of(new Port("embeddings", Program.SCALAR_FLOAT, List.of(1, n, h)),
                        new Port("cache_position", Program.SCALAR_LONG, List.of(n)));
                out = new Port("logits", Program.SCALAR_FLOAT, List.of(1, s.config().text().vocabSize()), Program.STATIC);
                weights = List.of(WeightSchema.TEXT, WeightSchema.LM_HEAD);
            }
            default -> throw new IllegalArgumentException("unknown method " + method);
        }
        List<EValue> values = new ArrayList<>();
        List<Integer> inputs = new ArrayList<>();
        for (Port p : in) {
            inputs.add(values.size());
            values.add(p.tensor(null));
        }
        int outIndex = values.size();
        values.add(out.tensor(new AllocationDetails(1, 0)));
        List<Integer> args = new ArrayList<>(inputs);
        args.add(outIndex);

        List<CompileSpec> specs = List.of(
                CompileSpec.text(SPEC_FORMAT_VERSION, Integer.toString(Manifest.FORMAT_VERSION)),
                CompileSpec.text(SPEC_METHOD, method),
                CompileSpec.text(SPEC_FAMILY, s.identity().family()),
                CompileSpec.text(SPEC_VARIANT, s.identity().variant()),
                CompileSpec.text(SPEC_WEIGHTS, String.join(",", weights)),
                CompileSpec.text(SPEC_WEIGHTS_LOCATION, s.externalWeights() ? Manifest.Blob.IN_PTD : Manifest.Blob.IN_PTE),
                CompileSpec.text(SPEC_INPUTS, in.stream().map(Port::name).collect(Collectors.joining(","))),
                CompileSpec.text(SPEC_OUTPUTS, out.name()));
        // processed: the empty inline payload 0 (ExecuTorch keeps empty payloads inline)
        BackendDelegate delegate = new BackendDelegate(BACKEND_ID, new DataReference(Program.INLINE, 0), specs);
        return new ExecutionPlan(method, new ContainerMetadata(inputSpec(in.size()), ONE_OUTPUT), values, inputs,
                List.of(outIndex), List.of(new Chain(List.of(Instruction.delegateCall(0, args)))), List.of(),
                List.of(delegate), List.of(0L, out.bytes()));
    }

    /** A method input or output: name (for compile specs and inspect), dtype, upper-bound sizes. */
    private record Port(String name, int scalarType, List<Integer> sizes, int dynamism) {
        Port(String name, int scalarType, List<Integer> sizes) { this(name, scalarType, sizes, Program.DYNAMIC_BOUND); }

        TensorValue tensor(AllocationDetails allocation) {
            return new TensorValue(scalarType, sizes, Program.contiguous(sizes.size()), 0, allocation, dynamism);
        }

        long bytes() {
            long n = scalarType == Program.SCALAR_LONG ? 8 : 4;
            for (int d : sizes) n *= d;
            return n;
        }
    }

    private static ExecutionPlan constantPlan(String name, EValue value) {
        return new ExecutionPlan(name, new ContainerMetadata("", ONE_OUTPUT), List.of(value), List.of(), List.of(0),
                List.of(new Chain(List.of())), List.of(), List.of(), List.of(0L));
    }

    private static ExecutionPlan eosPlan(List<Long> eosIds) {
        List<EValue> values = new ArrayList<>();
        List<Integer> outputs = new ArrayList<>();
        List<String> leaves = new ArrayList<>();
        for (long id : eosIds) {
            outputs.add(values.size());
            values.add(new IntValue(id));
            leaves.add(LEAF);
        }
        String spec = "[1, {\"type\": \"builtins.list\", \"context\": \"null\", \"children_spec\": [" + String.join(", ", leaves) + "]}]";
        return new ExecutionPlan(EOS_IDS, new ContainerMetadata("", spec), values, List.of(), outputs,
                List.of(new Chain(List.of())), List.of(), List.of(), List.of(0L));
    }

    /** torch.export's input spec: a tuple of (positional args tuple, kwargs dict). */
    private static String inputSpec(int args) {
        List<String> leaves = new ArrayList<>();
        for (int i = 0; i < args; i++) leaves.add(LEAF);
        return "[1, {\"type\": \"builtins.tuple\", \"context\": \"null\", \"children_spec\": ["
                + "{\"type\": \"builtins.tuple\", \"context\": \"null\", \"children_spec\": [" + String.join(", ", leaves) + "]}, "
                + "{\"type\": \"builtins.dict\", \"context\": \"[]\", \"children_spec\": []}]}]";
    }

    // ================================================================ check

    /**
     * Refuses a program any of whose methods is delegated to another backend, or that has no method
     * delegated to this one: such files were made by ExecuTorch for another runtime.
     */
    static void requireOwnBackend(Program p, String source) {
        Map<String, List<String>> foreign = new java.util.LinkedHashMap<>();
        boolean own = false;
        for (ExecutionPlan plan : nonNull(p.executionPlan())) {
            for (BackendDelegate d : nonNull(plan.delegates())) {
                if (BACKEND_ID.equals(d.id())) own = true;
                else foreign.computeIfAbsent(String.valueOf(d.id()), k -> new ArrayList<>()).add(String.valueOf(plan.name()));
            }
        }
        String howTo = " lfmcap runs only programs whose methods are delegated to '" + BACKEND_ID
                + "'. Export one from the Hugging Face checkpoint folder: lfmcap export --checkpoint DIR --out model.pte";
        if (!foreign.isEmpty()) {
            String found = foreign.entrySet().stream().map(e -> "'" + e.getKey() + "' (methods " + String.join(", ", e.getValue()) + ")")
                    .collect(Collectors.joining(", "));
            throw new PteFormatException(source + ": this ExecuTorch program was exported for backend " + found + "." + howTo);
        }
        if (!own) {
            throw new PteFormatException(source + ": this ExecuTorch program has no method delegated to a backend (it runs "
                    + "ExecuTorch's own operators: " + operators(p) + ")." + howTo);
        }
    }

    /**
     * Checks that {@code p} has exactly the methods {@link #plans} makes for this config, processor and
     * identity, with the declared I/O, delegate and instruction, and returns its constants.
     */
    static RunnerConstants check(Program p, ModelConfig cfg, ProcessorConfig proc, boolean externalWeights, String source) {
        Map<String, ExecutionPlan> byName = new HashMap<>();
        for (ExecutionPlan plan : nonNull(p.executionPlan())) {
            if (plan.name() == null) throw new PteFormatException(source + ": a method has no name");
            if (byName.put(plan.name(), plan) != null) throw new PteFormatException(source + ": method '" + plan.name() + "' appears twice");
        }
        RunnerConstants c = readConstants(byName, source);
        if (c.vocabSize() != cfg.text().vocabSize()) {
            throw new PteFormatException(source + ": " + VOCAB_SIZE + " is " + c.vocabSize() + " but config.json says vocab_size " + cfg.text().vocabSize());
        }
        if (c.maxSeqLen() < 1 || c.maxSeqLen() > Integer.MAX_VALUE / 8) throw new PteFormatException(source + ": " + MAX_SEQ_LEN + " " + c.maxSeqLen() + " is out of range");
        Shape shape = new Shape(cfg, proc, new ModelIdentity(c.family(), c.variant()), (int) c.maxSeqLen(), externalWeights);
        List<ExecutionPlan> expected = plans(shape, c);
        if (byName.size() != expected.size()) {
            throw new PteFormatException(source + ": the program has methods " + byName.keySet() + ", expected exactly "
                    + expected.stream().map(ExecutionPlan::name).toList());
        }
        for (ExecutionPlan want : expected) {
            ExecutionPlan found = byName.get(want.name());
            if (found == null) throw new PteFormatException(source + ": the program lacks method '" + want.name() + "'");
            checkPlan(found, want, source);
        }
        return c;
    }

    private static void checkPlan(ExecutionPlan found, ExecutionPlan want, String source) {
        String where = source + ": method '" + want.name() + "' ";
        if (!Objects.equals(found.values(), want.values()) || !Objects.equals(found.inputs(), want.inputs())
                || !Objects.equals(found.outputs(), want.outputs())) {
            throw new PteFormatException(where + "declares values " + found.values() + " (inputs " + found.inputs()
                    + ", outputs " + found.outputs() + "), but config.json, the processor settings and get_max_seq_len call for "
                    + want.values() + " (inputs " + want.inputs() + ", outputs " + want.outputs() + ")");
        }
        if (!Objects.equals(found.chains(), want.chains())) {
            throw new PteFormatException(where + "has instructions " + found.chains() + ", expected " + want.chains());
        }
        if (!Objects.equals(found.nonConstBufferSizes(), want.nonConstBufferSizes())) {
            throw new PteFormatException(where + "plans buffers " + found.nonConstBufferSizes() + ", expected " + want.nonConstBufferSizes());
        }
        List<BackendDelegate> delegates = nonNull(found.delegates());
        if (delegates.size() != want.delegates().size()) {
            throw new PteFormatException(where + "has " + delegates.size() + " delegates, expected " + want.delegates().size());
        }
        if (!delegates.isEmpty()) {
            BackendDelegate d = delegates.get(0);
            BackendDelegate w = want.delegates().get(0);
            if (!Objects.equals(d.processed(), w.processed()) || !specs(d).equals(specs(w))) {
                throw new PteFormatException(where + "has delegate payload " + d.processed() + " and compile specs " + specs(d)
                        + ", expected " + w.processed() + " and " + specs(w));
            }
        }
    }

    private static RunnerConstants readConstants(Map<String, ExecutionPlan> byName, String source) {
        List<EValue> eos = outputs(byName, EOS_IDS, source);
        List<Long> eosIds = new ArrayList<>();
        for (EValue v : eos) eosIds.add(as(v, IntValue.class, EOS_IDS, source).value());
        return new RunnerConstants(
                single(byName, MAX_SEQ_LEN, IntValue.class, source).value(),
                single(byName, MAX_CONTEXT_LEN, IntValue.class, source).value(),
                single(byName, VOCAB_SIZE, IntValue.class, source).value(),
                single(byName, BOS_ID, IntValue.class, source).value(),
                eosIds,
                single(byName, USE_KV_CACHE, BoolValue.class, source).value(),
                single(byName, ENABLE_DYNAMIC_SHAPE, BoolValue.class, source).value(),
                single(byName, MODEL_FAMILY, StringValue.class, source).value(),
                single(byName, MODEL_VARIANT, StringValue.class, source).value());
    }

    private static <T extends EValue> T single(Map<String, ExecutionPlan> byName, String method, Class<T> type, String source) {
        List<EValue> out = outputs(byName, method, source);
        if (out.size() != 1) throw new PteFormatException(source + ": constant method '" + method + "' returns " + out.size() + " values, expected 1");
        return as(out.get(0), type, method, source);
    }

    /** The output values of a constant method: no inputs, no instructions, outputs index its values. */
    private static List<EValue> outputs(Map<String, ExecutionPlan> byName, String method, String source) {
        ExecutionPlan plan = byName.get(method);
        if (plan == null) throw new PteFormatException(source + ": the program lacks constant method '" + method + "'");
        List<EValue> values = nonNull(plan.values());
        List<EValue> out = new ArrayList<>();
        for (int i : nonNull(plan.outputs())) {
            if (i < 0 || i >= values.size()) throw new PteFormatException(source + ": constant method '" + method + "' returns value " + i + " of " + values.size());
            out.add(values.get(i));
        }
        return out;
    }

    private static <T extends EValue> T as(EValue v, Class<T> type, String method, String source) {
        if (!type.isInstance(v) || (v instanceof StringValue s && s.value() == null)) {
            throw new PteFormatException(source + ": constant method '" + method + "' returns " + v + ", expected " + type.getSimpleName());
        }
        return type.cast(v);
    }

    private static Map<String, String> specs(BackendDelegate d) {
        Map<String, String> m = new java.util.TreeMap<>();
        for (CompileSpec s : nonNull(d.compileSpecs())) m.put(String.valueOf(s.key()), s.textValue());
        return m;
    }

    private static String operators(Program p) {
        List<String> ops = new ArrayList<>();
        for (ExecutionPlan plan : nonNull(p.executionPlan())) {
            for (Program.Operator op : nonNull(plan.operators())) {
                String name = op.name() + (op.overload() == null || op.overload().isEmpty() ? "" : "." + op.overload());
                if (!ops.contains(name)) ops.add(name);
            }
        }
        if (ops.isEmpty()) return "none listed";
        return ops.size() <= 5 ? String.join(", ", ops) : String.join(", ", ops.subList(0, 5)) + ", ... (" + ops.size() + " in all)";
    }

    static <T> List<T> nonNull(List<T> list) { return list == null ? List.of() : list; }
}
