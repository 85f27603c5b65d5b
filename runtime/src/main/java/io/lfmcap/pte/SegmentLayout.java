package io.lfmcap.pte;

import io.lfmcap.pte.Program.DataSegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Places segments the way ExecuTorch's serializers do: each at the next multiple of the segment
 * alignment (128) after the previous one's end, relative to the segment base, which is itself the
 * flatbuffer's end rounded up to the alignment. The last segment has no trailing padding.
 */
final class SegmentLayout {
    /** {@code ExecutorchBackendConfig.segment_alignment} and {@code FlatTensorConfig.segment_alignment}. */
    static final int ALIGNMENT = 128;

    private SegmentLayout() {}

    static List<DataSegment> place(List<Long> sizes) {
        List<DataSegment> out = new ArrayList<>(sizes.size());
        long end = 0;
        for (long size : sizes) {
            long offset = align(end, ALIGNMENT);
            out.add(new DataSegment(offset, size));
            end = offset + size;
        }
        return out;
    }

    /** Bytes from the segment base to the end of the last segment. */
    static long dataSize(List<DataSegment> segments) {
        long end = 0;
        for (DataSegment s : segments) end = Math.max(end, s.offset() + s.size());
        return end;
    }

    static long align(long value, long alignment) {
        return (value + alignment - 1) / alignment * alignment;
    }
}
