package io.lfmcap.pte;

import com.google.flatbuffers.FlatBufferBuilder;
import io.lfmcap.pte.CheckedFlatBuffer.Vector;
import io.lfmcap.pte.Program.DataSegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The root table of a {@code .ptd} file ({@code flat_tensor.fbs}, namespace
 * {@code flat_tensor_flatbuffer}) and its encoding. Both vectors are required by ExecuTorch's loader.
 *
 * @param version   always 0
 * @param segments  data segments, offsets relative to the header's segment_base_offset
 * @param namedData one entry per key
 */
record FlatTensor(long version, List<DataSegment> segments, List<Entry> namedData) {
    static final String IDENTIFIER = "FT01";

    /** {@code NamedData}: a key, its segment and, for tensors, its layout (null for opaque blobs). */
    record Entry(String key, long segmentIndex, TensorLayout layout) {}

    /** {@code TensorLayout}: ExecuTorch scalar type, sizes and dim order (contiguous = 0..n-1). */
    record TensorLayout(int scalarType, List<Integer> sizes, List<Integer> dimOrder) {}

    /** The plain flatbuffer (identifier FT01, no header). */
    byte[] encode() {
        FlatBufferBuilder b = new FlatBufferBuilder(16 * 1024);
        int segs = ProgramCodec.tables(b, segments, s -> ProgramCodec.segment(b, s));
        int named = ProgramCodec.tables(b, namedData, e -> {
            int key = b.createString(e.key());
            int layout = 0;
            if (e.layout() != null) {
                int sizes = ProgramCodec.ints(b, e.layout().sizes());
                byte[] order = new byte[e.layout().dimOrder().size()];
                for (int i = 0; i < order.length; i++) order[i] = e.layout().dimOrder().get(i).byteValue();
                int dimOrder = ProgramCodec.bytes(b, order, 1);
                b.startTable(3);
                b.addByte(0, (byte) e.layout().scalarType(), 0);
                b.addOffset(1, sizes, 0);
                b.addOffset(2, dimOrder, 0);
                layout = b.endTable();
            }
            b.startTable(3);
            b.addOffset(0, key, 0);
            b.addInt(1, (int) e.segmentIndex(), 0);
            b.addOffset(2, layout, 0);
            return b.endTable();
        });
        b.startTable(3);
        b.addInt(0, (int) version, 0);
        b.addOffset(1, segs, 0);
        b.addOffset(2, named, 0);
        b.finish(b.endTable(), IDENTIFIER);
        return b.sizedByteArray();
    }

    static FlatTensor decode(CheckedFlatBuffer fb) {
        String id = fb.identifier();
        if (!IDENTIFIER.equals(id)) throw fb.corrupt("file identifier '" + ProgramCodec.printable(id) + "', expected '" + IDENTIFIER + "'");
        int root = fb.root();
        List<DataSegment> segments = ProgramCodec.tableList(fb, fb.getVector(root, 1, 4), t -> ProgramCodec.segment(fb, t));
        List<Entry> named = ProgramCodec.tableList(fb, fb.getVector(root, 2, 4), t -> {
            int l = fb.getTable(t, 2);
            TensorLayout layout = null;
            if (l != 0) {
                List<Integer> sizes = ProgramCodec.intList(fb, fb.getVector(l, 1, 4));
                Vector order = fb.getVector(l, 2, 1);
                if (sizes == null || order == null || sizes.size() > ProgramCodec.MAX_RANK || order.length() != sizes.size()) {
                    throw fb.corrupt("a tensor layout lacks sizes or dim_order, or has rank above " + ProgramCodec.MAX_RANK);
                }
                List<Integer> dimOrder = new ArrayList<>();
                for (int i = 0; i < order.length(); i++) dimOrder.add(fb.byteAt(order, i) & 0xff);
                layout = new TensorLayout(fb.getByte(l, 0, 0), sizes, dimOrder);
            }
            return new Entry(fb.getString(t, 0), fb.getUint(t, 1), layout);
        });
        if (segments == null || named == null) throw fb.corrupt("the FlatTensor table lacks its segments or named_data");
        return new FlatTensor(fb.getUint(root, 0), segments, named);
    }
}
