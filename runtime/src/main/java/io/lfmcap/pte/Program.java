package io.lfmcap.pte;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The part of an ExecuTorch program ({@code schema/program.fbs}, root table {@code Program}) that this
 * runtime writes and reads, as plain values. A null list means the field is absent from the file
 * (ExecuTorch tells absent from empty for several fields). Slot numbers are in
 * {@code resources/io/lfmcap/pte/program.fbs}.
 *
 * @param version               written as 0; the runtime does not check it
 * @param executionPlan         one plan per method
 * @param backendDelegateData   inline delegate payloads ({@code BackendDelegateInlineData.data}); when
 *                              decoded, null for a payload absent or over {@link ProgramCodec#MAX_INLINE_COPY}
 * @param segments              data segments after the flatbuffer, offsets relative to the segment base
 * @param constantSegment       where constant tensors live; {@code offsets[0]} is the "no data" placeholder
 * @param namedData             backend-visible blobs by key, each in one segment
 */
record Program(
        long version,
        List<ExecutionPlan> executionPlan,
        List<byte[]> backendDelegateData,
        List<DataSegment> segments,
        SubsegmentOffsets constantSegment,
        List<NamedData> namedData) {

    /** ExecuTorch's {@code ScalarType} codes used by this runtime. */
    static final int SCALAR_LONG = 4;
    static final int SCALAR_FLOAT = 6;

    /** {@code TensorShapeDynamism}. */
    static final int STATIC = 0;
    static final int DYNAMIC_BOUND = 1;

    /** {@code DataLocation} of a delegate's processed payload. */
    static final int INLINE = 0;
    static final int SEGMENT = 1;

    /** One method. */
    record ExecutionPlan(
            String name,
            ContainerMetadata containerMetaType,
            List<EValue> values,
            List<Integer> inputs,
            List<Integer> outputs,
            List<Chain> chains,
            List<Operator> operators,
            List<BackendDelegate> delegates,
            List<Long> nonConstBufferSizes) {}

    /** Pytree specs of a method's inputs and outputs (for Python tooling; the runtime ignores them). */
    record ContainerMetadata(String encodedInpStr, String encodedOutStr) {}

    /** One entry of {@code ExecutionPlan.values}: the {@code KernelTypes} union. */
    sealed interface EValue {
        /** The {@code KernelTypes} union tag. */
        int tag();
    }

    record NullValue() implements EValue { public int tag() { return 1; } }

    record IntValue(long value) implements EValue { public int tag() { return 2; } }

    record BoolValue(boolean value) implements EValue { public int tag() { return 3; } }

    record DoubleValue(double value) implements EValue { public int tag() { return 4; } }

    /**
     * A tensor value. {@code dataBufferIdx > 0} with no allocation is a constant; no index with an
     * allocation is planned (an output); neither is an input supplied at execution time.
     */
    record TensorValue(
            int scalarType,
            List<Integer> sizes,
            List<Integer> dimOrder,
            long dataBufferIdx,
            AllocationDetails allocationInfo,
            int shapeDynamism) implements EValue {
        public int tag() { return 5; }

        /** E.g. {@code FLOAT[1, 2048, 1024] dynamic, planned in arena 1}. */
        @Override
        public String toString() {
            return scalarTypeName(scalarType) + sizes + (shapeDynamism == STATIC ? "" : " dynamic")
                    + (dimOrder.equals(contiguous(sizes.size())) ? "" : " dim_order " + dimOrder)
                    + (dataBufferIdx != 0 ? " data buffer " + dataBufferIdx : "")
                    + (allocationInfo == null ? "" : ", planned in arena " + allocationInfo.memoryId() + " at " + allocationInfo.memoryOffset());
        }
    }

    /** ExecuTorch's name of a {@code ScalarType} code, e.g. 6 -> FLOAT. */
    static String scalarTypeName(int code) {
        return switch (code) {
            case 0 -> "BYTE";
            case 1 -> "CHAR";
            case 2 -> "SHORT";
            case 3 -> "INT";
            case 4 -> "LONG";
            case 5 -> "HALF";
            case 6 -> "FLOAT";
            case 7 -> "DOUBLE";
            case 11 -> "BOOL";
            case 15 -> "BFLOAT16";
            case 27 -> "UINT16";
            case 28 -> "UINT32";
            case 29 -> "UINT64";
            default -> "ScalarType(" + code + ")";
        };
    }

    /** The dim order of a contiguous tensor: 0..rank-1. */
    static List<Integer> contiguous(int rank) {
        List<Integer> order = new java.util.ArrayList<>(rank);
        for (int i = 0; i < rank; i++) order.add(i);
        return order;
    }

    record StringValue(String value) implements EValue { public int tag() { return 6; } }

    record IntListValue(List<Long> items) implements EValue { public int tag() { return 7; } }

    record DoubleListValue(List<Double> items) implements EValue { public int tag() { return 8; } }

    record BoolListValue(List<Boolean> items) implements EValue { public int tag() { return 9; } }

    record TensorListValue(List<Integer> items) implements EValue { public int tag() { return 10; } }

    record OptionalTensorListValue(List<Integer> items) implements EValue { public int tag() { return 11; } }

    /** Placement of a planned tensor: arena {@code memoryId} (1-based) at {@code memoryOffset}. */
    record AllocationDetails(long memoryId, long memoryOffset) {}

    record Chain(List<Instruction> instructions) {}

    /**
     * One instruction. Only the two calls are modelled; the other {@code InstructionArguments}
     * (moves, jumps, frees) keep their tag with {@code index} -1 and no args.
     *
     * @param tag   1 KernelCall, 2 DelegateCall, 3 MoveCall, 4 JumpFalseCall, 5 FreeCall
     * @param index op_index of a KernelCall, delegate_index of a DelegateCall
     * @param args  value indices (a DelegateCall lists the delegate's inputs, then its outputs)
     */
    record Instruction(int tag, int index, List<Integer> args) {
        static final int KERNEL_CALL = 1;
        static final int DELEGATE_CALL = 2;

        static Instruction delegateCall(int delegateIndex, List<Integer> args) {
            return new Instruction(DELEGATE_CALL, delegateIndex, args);
        }
    }

    record Operator(String name, String overload) {}

    /** A lowered subgraph: which backend runs it, its payload and its compile specs. */
    record BackendDelegate(String id, DataReference processed, List<CompileSpec> compileSpecs) {}

    /** {@code BackendDelegateDataReference}: INLINE indexes backend_delegate_data, SEGMENT indexes segments. */
    record DataReference(int location, long index) {}

    /** A compile spec; the value is raw bytes (UTF-8 text in files this runtime writes). */
    record CompileSpec(String key, byte[] value) {
        static CompileSpec text(String key, String value) {
            return new CompileSpec(key, value.getBytes(StandardCharsets.UTF_8));
        }

        String textValue() { return new String(value, StandardCharsets.UTF_8); }
    }

    /** {@code DataSegment}: bytes [offset, offset+size) after the segment base. Also the .ptd's. */
    record DataSegment(long offset, long size) {}

    record SubsegmentOffsets(long segmentIndex, List<Long> offsets) {}

    /** {@code NamedData}: a key and the segment holding its bytes. */
    record NamedData(String key, long segmentIndex) {}
}
