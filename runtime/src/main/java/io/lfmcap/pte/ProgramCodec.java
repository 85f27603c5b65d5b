package io.lfmcap.pte;

import com.google.flatbuffers.FlatBufferBuilder;
import io.lfmcap.pte.Program.AllocationDetails;
import io.lfmcap.pte.Program.BackendDelegate;
import io.lfmcap.pte.Program.BoolListValue;
import io.lfmcap.pte.Program.BoolValue;
import io.lfmcap.pte.Program.Chain;
import io.lfmcap.pte.Program.CompileSpec;
import io.lfmcap.pte.Program.ContainerMetadata;
import io.lfmcap.pte.Program.DataReference;
import io.lfmcap.pte.Program.DataSegment;
import io.lfmcap.pte.Program.DoubleListValue;
import io.lfmcap.pte.Program.DoubleValue;
import io.lfmcap.pte.Program.EValue;
import io.lfmcap.pte.Program.ExecutionPlan;
import io.lfmcap.pte.Program.Instruction;
import io.lfmcap.pte.Program.IntListValue;
import io.lfmcap.pte.Program.IntValue;
import io.lfmcap.pte.Program.NamedData;
import io.lfmcap.pte.Program.NullValue;
import io.lfmcap.pte.Program.Operator;
import io.lfmcap.pte.Program.OptionalTensorListValue;
import io.lfmcap.pte.Program.StringValue;
import io.lfmcap.pte.Program.SubsegmentOffsets;
import io.lfmcap.pte.Program.TensorListValue;
import io.lfmcap.pte.Program.TensorValue;
import io.lfmcap.pte.CheckedFlatBuffer.Vector;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * {@link Program} to and from the FlatBuffers encoding of {@code program.fbs}, written by hand over
 * flatbuffers-java (flatc's Java output does not compile for this schema, docs/pte-format.md section
 * 7). Slot numbers follow the schema copy in {@code resources/io/lfmcap/pte/program.fbs}.
 */
final class ProgramCodec {
    static final String IDENTIFIER = "ET12";
    /** ExecuTorch's rank limit ({@code kTensorDimensionLimit}). */
    static final int MAX_RANK = 16;
    /** force_align of {@code BackendDelegateInlineData.data}. */
    private static final int DELEGATE_ALIGNMENT = 16;
    /**
     * Inline delegate payloads up to this size are copied when decoding; larger ones (other backends'
     * compiled blobs) decode as null, since a program holding one is refused anyway.
     */
    static final int MAX_INLINE_COPY = 1 << 20;

    private ProgramCodec() {}

    // ================================================================= encode

    /** The plain flatbuffer (identifier ET12, no extended header). */
    static byte[] encode(Program p) {
        FlatBufferBuilder b = new FlatBufferBuilder(16 * 1024);
        int plans = tables(b, p.executionPlan(), plan -> plan(b, plan));
        int constantBuffer = b.createVectorOfTables(new int[0]); // deprecated field, written empty
        int delegateData = tables(b, p.backendDelegateData(), data -> {
            int vec = bytes(b, data, DELEGATE_ALIGNMENT); // always present: the loader reads it unchecked
            b.startTable(1);
            b.addOffset(0, vec, 0);
            return b.endTable();
        });
        int segments = tables(b, p.segments(), s -> segment(b, s));
        int constantSegment = p.constantSegment() == null ? 0 : subsegment(b, p.constantSegment());
        int namedData = tables(b, p.namedData(), nd -> {
            int key = b.createString(nd.key());
            b.startTable(2);
            b.addOffset(0, key, 0);
            b.addInt(1, (int) nd.segmentIndex(), 0);
            return b.endTable();
        });
        b.startTable(8);
        b.addInt(0, (int) p.version(), 0);
        b.addOffset(1, plans, 0);
        b.addOffset(2, constantBuffer, 0);
        b.addOffset(3, delegateData, 0);
        b.addOffset(4, segments, 0);
        b.addOffset(5, constantSegment, 0);
        b.addOffset(7, namedData, 0);
        b.finish(b.endTable(), IDENTIFIER);
        return b.sizedByteArray();
    }

    private static int plan(FlatBufferBuilder b, ExecutionPlan plan) {
        int name = plan.name() == null ? 0 : b.createString(plan.name());
        int meta = 0;
        if (plan.containerMetaType() != null) {
            int in = b.createString(plan.containerMetaType().encodedInpStr());
            int out = b.createString(plan.containerMetaType().encodedOutStr());
            b.startTable(2);
            b.addOffset(0, in, 0);
            b.addOffset(1, out, 0);
            meta = b.endTable();
        }
        int values = tables(b, plan.values(), v -> evalue(b, v));
        int inputs = ints(b, plan.inputs());
        int outputs = ints(b, plan.outputs());
        int chains = tables(b, plan.chains(), c -> chain(b, c));
        int operators = tables(b, plan.operators(), op -> {
            int opName = b.createString(op.name());
            int overload = b.createString(op.overload());
            b.startTable(2);
            b.addOffset(0, opName, 0);
            b.addOffset(1, overload, 0);
            return b.endTable();
        });
        int delegates = tables(b, plan.delegates(), d -> delegate(b, d));
        int bufferSizes = longs(b, plan.nonConstBufferSizes());
        b.startTable(10);
        b.addOffset(0, name, 0);
        b.addOffset(1, meta, 0);
        b.addOffset(2, values, 0);
        b.addOffset(3, inputs, 0);
        b.addOffset(4, outputs, 0);
        b.addOffset(5, chains, 0);
        b.addOffset(6, operators, 0);
        b.addOffset(7, delegates, 0);
        b.addOffset(8, bufferSizes, 0);
        return b.endTable();
    }

    private static int evalue(FlatBufferBuilder b, EValue v) {
        int val;
        if (v instanceof NullValue) {
            b.startTable(0);
            val = b.endTable();
        } else if (v instanceof IntValue i) {
            b.startTable(1);
            b.addLong(0, i.value(), 0);
            val = b.endTable();
        } else if (v instanceof BoolValue bv) {
            b.startTable(1);
            b.addBoolean(0, bv.value(), false);
            val = b.endTable();
        } else if (v instanceof DoubleValue d) {
            b.startTable(1);
            b.addDouble(0, d.value(), 0.0);
            val = b.endTable();
        } else if (v instanceof StringValue s) {
            int str = b.createString(s.value());
            b.startTable(1);
            b.addOffset(0, str, 0);
            val = b.endTable();
        } else if (v instanceof TensorValue t) {
            val = tensor(b, t);
        } else if (v instanceof IntListValue l) {
            val = itemsTable(b, longs(b, l.items()));
        } else if (v instanceof DoubleListValue l) {
            b.startVector(8, l.items().size(), 8);
            for (int i = l.items().size() - 1; i >= 0; i--) b.addDouble(l.items().get(i));
            val = itemsTable(b, b.endVector());
        } else if (v instanceof BoolListValue l) {
            b.startVector(1, l.items().size(), 1);
            for (int i = l.items().size() - 1; i >= 0; i--) b.addBoolean(l.items().get(i));
            val = itemsTable(b, b.endVector());
        } else if (v instanceof TensorListValue l) {
            val = itemsTable(b, ints(b, l.items()));
        } else {
            val = itemsTable(b, ints(b, ((OptionalTensorListValue) v).items()));
        }
        b.startTable(2);
        b.addByte(0, (byte) v.tag(), 0);
        b.addOffset(1, val, 0);
        return b.endTable();
    }

    private static int itemsTable(FlatBufferBuilder b, int items) {
        b.startTable(1);
        b.addOffset(0, items, 0);
        return b.endTable();
    }

    private static int tensor(FlatBufferBuilder b, TensorValue t) {
        int sizes = ints(b, t.sizes());
        byte[] order = new byte[t.dimOrder().size()];
        for (int i = 0; i < order.length; i++) order[i] = t.dimOrder().get(i).byteValue();
        int dimOrder = bytes(b, order, 1);
        int allocation = 0;
        if (t.allocationInfo() != null) {
            AllocationDetails a = t.allocationInfo();
            b.startTable(3);
            b.addInt(0, (int) a.memoryId(), 0);
            b.addInt(1, (int) a.memoryOffset(), 0);
            b.addInt(2, (int) (a.memoryOffset() >>> 32), 0);
            allocation = b.endTable();
        }
        b.startTable(10);
        b.addByte(0, (byte) t.scalarType(), 0);
        b.addOffset(2, sizes, 0);
        b.addOffset(3, dimOrder, 0);
        b.addInt(5, (int) t.dataBufferIdx(), 0);
        b.addOffset(6, allocation, 0);
        b.addByte(8, (byte) t.shapeDynamism(), 0);
        return b.endTable();
    }

    private static int chain(FlatBufferBuilder b, Chain c) {
        int inputs = ints(b, List.of());
        int outputs = ints(b, List.of());
        int instructions = tables(b, c.instructions(), ins -> {
            if (ins.tag() != Instruction.KERNEL_CALL && ins.tag() != Instruction.DELEGATE_CALL) {
                throw new IllegalArgumentException("only kernel and delegate calls can be written, not tag " + ins.tag());
            }
            int args = ints(b, ins.args());
            b.startTable(2);
            b.addInt(0, ins.index(), 0);
            b.addOffset(1, args, 0);
            int call = b.endTable();
            b.startTable(2);
            b.addByte(0, (byte) ins.tag(), 0);
            b.addOffset(1, call, 0);
            return b.endTable();
        });
        b.startTable(4);
        b.addOffset(0, inputs, 0);
        b.addOffset(1, outputs, 0);
        b.addOffset(2, instructions, 0);
        return b.endTable();
    }

    private static int delegate(FlatBufferBuilder b, BackendDelegate d) {
        int id = b.createString(d.id());
        int processed = 0;
        if (d.processed() != null) {
            b.startTable(2);
            b.addByte(0, (byte) d.processed().location(), 0);
            b.addInt(1, (int) d.processed().index(), 0);
            processed = b.endTable();
        }
        int specs = tables(b, d.compileSpecs(), spec -> {
            int key = b.createString(spec.key());
            int value = bytes(b, spec.value(), 1);
            b.startTable(2);
            b.addOffset(0, key, 0);
            b.addOffset(1, value, 0);
            return b.endTable();
        });
        b.startTable(3);
        b.addOffset(0, id, 0);
        b.addOffset(1, processed, 0);
        b.addOffset(2, specs, 0);
        return b.endTable();
    }

    static int segment(FlatBufferBuilder b, DataSegment s) {
        b.startTable(2);
        b.addLong(0, s.offset(), 0);
        b.addLong(1, s.size(), 0);
        return b.endTable();
    }

    private static int subsegment(FlatBufferBuilder b, SubsegmentOffsets s) {
        int offsets = longs(b, s.offsets());
        b.startTable(2);
        b.addInt(0, (int) s.segmentIndex(), 0);
        b.addOffset(1, offsets, 0);
        return b.endTable();
    }

    static <T> int tables(FlatBufferBuilder b, List<T> items, ToIntFunction<T> write) {
        if (items == null) return 0;
        int[] offsets = new int[items.size()];
        for (int i = 0; i < offsets.length; i++) offsets[i] = write.applyAsInt(items.get(i));
        return b.createVectorOfTables(offsets);
    }

    static int ints(FlatBufferBuilder b, List<Integer> items) {
        if (items == null) return 0;
        b.startVector(4, items.size(), 4);
        for (int i = items.size() - 1; i >= 0; i--) b.addInt(items.get(i));
        return b.endVector();
    }

    static int longs(FlatBufferBuilder b, List<Long> items) {
        if (items == null) return 0;
        b.startVector(8, items.size(), 8);
        for (int i = items.size() - 1; i >= 0; i--) b.addLong(items.get(i));
        return b.endVector();
    }

    /** A ubyte vector aligned to {@code alignment} (flatbuffers-java ignores the schema's force_align). */
    static int bytes(FlatBufferBuilder b, byte[] data, int alignment) {
        b.startVector(1, data.length, alignment);
        for (int i = data.length - 1; i >= 0; i--) b.addByte(data[i]);
        return b.endVector();
    }

    // ================================================================= decode

    /** Decodes a whole program; every reference is bounds-checked by {@code fb}. */
    static Program decode(CheckedFlatBuffer fb) {
        String id = fb.identifier();
        if (!IDENTIFIER.equals(id)) throw fb.corrupt("file identifier '" + printable(id) + "', expected '" + IDENTIFIER + "'");
        int root = fb.root();
        List<ExecutionPlan> plans = tableList(fb, fb.getVector(root, 1, 4), t -> plan(fb, t));
        List<byte[]> delegateData = tableList(fb, fb.getVector(root, 3, 4), t -> {
            Vector data = fb.getVector(t, 0, 1);
            return data == null || data.length() > MAX_INLINE_COPY ? null : fb.bytes(data);
        });
        List<DataSegment> segments = tableList(fb, fb.getVector(root, 4, 4), t -> segment(fb, t));
        int cs = fb.getTable(root, 5);
        SubsegmentOffsets constantSegment = cs == 0 ? null
                : new SubsegmentOffsets(fb.getUint(cs, 0), longList(fb, fb.getVector(cs, 1, 8)));
        List<NamedData> namedData = tableList(fb, fb.getVector(root, 7, 4),
                t -> new NamedData(fb.getString(t, 0), fb.getUint(t, 1)));
        return new Program(fb.getUint(root, 0), plans, delegateData, segments, constantSegment, namedData);
    }

    private static ExecutionPlan plan(CheckedFlatBuffer fb, int t) {
        int metaTable = fb.getTable(t, 1);
        ContainerMetadata meta = metaTable == 0 ? null
                : new ContainerMetadata(fb.getString(metaTable, 0), fb.getString(metaTable, 1));
        return new ExecutionPlan(
                fb.getString(t, 0),
                meta,
                tableList(fb, fb.getVector(t, 2, 4), v -> evalue(fb, v)),
                intList(fb, fb.getVector(t, 3, 4)),
                intList(fb, fb.getVector(t, 4, 4)),
                tableList(fb, fb.getVector(t, 5, 4), c -> chain(fb, c)),
                tableList(fb, fb.getVector(t, 6, 4), o -> new Operator(fb.getString(o, 0), fb.getString(o, 1))),
                tableList(fb, fb.getVector(t, 7, 4), d -> delegate(fb, d)),
                longList(fb, fb.getVector(t, 8, 8)));
    }

    private static EValue evalue(CheckedFlatBuffer fb, int t) {
        int tag = fb.getByte(t, 0, 0) & 0xff;
        int v = fb.getTable(t, 1);
        if (tag < 1 || tag > 11) throw fb.corrupt("a value has unknown type tag " + tag);
        if (v == 0) throw fb.corrupt("a value of type tag " + tag + " has no content");
        return switch (tag) {
            case 1 -> new NullValue();
            case 2 -> new IntValue(fb.getLong(v, 0));
            case 3 -> new BoolValue(fb.getBool(v, 0));
            case 4 -> new DoubleValue(fb.getDouble(v, 0));
            case 5 -> tensor(fb, v);
            case 6 -> new StringValue(fb.getString(v, 0));
            case 7 -> new IntListValue(longList(fb, fb.getVector(v, 0, 8)));
            case 8 -> new DoubleListValue(doubleList(fb, fb.getVector(v, 0, 8)));
            case 9 -> new BoolListValue(boolList(fb, fb.getVector(v, 0, 1)));
            case 10 -> new TensorListValue(intList(fb, fb.getVector(v, 0, 4)));
            default -> new OptionalTensorListValue(intList(fb, fb.getVector(v, 0, 4)));
        };
    }

    private static TensorValue tensor(CheckedFlatBuffer fb, int t) {
        List<Integer> sizes = intList(fb, fb.getVector(t, 2, 4));
        List<Integer> dimOrder = new ArrayList<>();
        Vector order = fb.getVector(t, 3, 1);
        if (sizes == null || order == null) throw fb.corrupt("a tensor value lacks sizes or dim_order");
        if (sizes.size() > MAX_RANK || order.length() != sizes.size()) {
            throw fb.corrupt("a tensor value has rank " + sizes.size() + " and " + order.length() + " dim_order entries");
        }
        for (int i = 0; i < order.length(); i++) dimOrder.add(fb.byteAt(order, i) & 0xff);
        int a = fb.getTable(t, 6);
        AllocationDetails allocation = a == 0 ? null
                : new AllocationDetails(fb.getUint(a, 0), fb.getUint(a, 1) | (fb.getUint(a, 2) << 32));
        return new TensorValue(fb.getByte(t, 0, 0), sizes, dimOrder, fb.getUint(t, 5), allocation, fb.getByte(t, 8, 0));
    }

    private static Chain chain(CheckedFlatBuffer fb, int t) {
        return new Chain(tableList(fb, fb.getVector(t, 2, 4), ins -> {
            int tag = fb.getByte(ins, 0, 0) & 0xff;
            if (tag < 1 || tag > 5) throw fb.corrupt("an instruction has unknown type tag " + tag);
            if (tag != Instruction.KERNEL_CALL && tag != Instruction.DELEGATE_CALL) return new Instruction(tag, -1, List.of());
            int call = fb.getTable(ins, 1);
            if (call == 0) throw fb.corrupt("a call instruction has no arguments table");
            List<Integer> args = intList(fb, fb.getVector(call, 1, 4));
            return new Instruction(tag, fb.getInt(call, 0, 0), args == null ? List.of() : args);
        }));
    }

    private static BackendDelegate delegate(CheckedFlatBuffer fb, int t) {
        int processed = fb.getTable(t, 1);
        DataReference ref = processed == 0 ? null : new DataReference(fb.getByte(processed, 0, 0), fb.getUint(processed, 1));
        List<CompileSpec> specs = tableList(fb, fb.getVector(t, 2, 4), s -> {
            Vector value = fb.getVector(s, 1, 1);
            return new CompileSpec(fb.getString(s, 0), value == null ? new byte[0] : fb.bytes(value));
        });
        return new BackendDelegate(fb.getString(t, 0), ref, specs);
    }

    static DataSegment segment(CheckedFlatBuffer fb, int t) {
        return new DataSegment(fb.getLong(t, 0), fb.getLong(t, 1));
    }

    static <T> List<T> tableList(CheckedFlatBuffer fb, Vector v, java.util.function.IntFunction<T> read) {
        if (v == null) return null;
        List<T> out = new ArrayList<>(v.length());
        for (int i = 0; i < v.length(); i++) out.add(read.apply(fb.tableAt(v, i)));
        return out;
    }

    static List<Integer> intList(CheckedFlatBuffer fb, Vector v) {
        if (v == null) return null;
        List<Integer> out = new ArrayList<>(v.length());
        for (int i = 0; i < v.length(); i++) out.add(fb.intAt(v, i));
        return out;
    }

    static List<Long> longList(CheckedFlatBuffer fb, Vector v) {
        if (v == null) return null;
        List<Long> out = new ArrayList<>(v.length());
        for (int i = 0; i < v.length(); i++) out.add(fb.longAt(v, i));
        return out;
    }

    private static List<Double> doubleList(CheckedFlatBuffer fb, Vector v) {
        if (v == null) return null;
        List<Double> out = new ArrayList<>(v.length());
        for (int i = 0; i < v.length(); i++) out.add(fb.doubleAt(v, i));
        return out;
    }

    private static List<Boolean> boolList(CheckedFlatBuffer fb, Vector v) {
        if (v == null) return null;
        List<Boolean> out = new ArrayList<>(v.length());
        for (int i = 0; i < v.length(); i++) out.add(fb.byteAt(v, i) != 0);
        return out;
    }

    /** The identifier with non-printable bytes escaped, for messages. */
    static String printable(String s) {
        StringBuilder out = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c >= 0x20 && c < 0x7f) out.append(c);
            else out.append(String.format("\\x%02x", (int) c));
        }
        return out.toString();
    }
}
