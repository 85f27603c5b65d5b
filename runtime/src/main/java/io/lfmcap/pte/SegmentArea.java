package io.lfmcap.pte;

import io.lfmcap.pte.Program.DataSegment;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Resolves a file's segment table to absolute byte ranges, refusing any segment that reaches past the
 * segment area or overlaps another (empty segments may share an offset, as ExecuTorch writes them).
 * All arithmetic treats the uint64 fields as unsigned and cannot overflow.
 */
final class SegmentArea {
    private SegmentArea() {}

    /** An absolute byte range of a file. */
    record Range(long offset, long size) {
        long end() { return offset + size; }
    }

    /**
     * @param base     file offset of the segment area (header's segment_base_offset)
     * @param dataSize bytes of the segment area (header's segment_data_size); base + dataSize is
     *                 already known to lie inside the file
     */
    static List<Range> resolve(List<DataSegment> segments, long base, long dataSize, String source) {
        List<Range> out = new ArrayList<>(segments.size());
        for (int i = 0; i < segments.size(); i++) {
            DataSegment s = segments.get(i);
            if (Long.compareUnsigned(s.offset(), dataSize) > 0 || Long.compareUnsigned(s.size(), dataSize - s.offset()) > 0) {
                throw new PteFormatException(source + ": segment " + i + " [" + Long.toUnsignedString(s.offset()) + ", +"
                        + Long.toUnsignedString(s.size()) + ") reaches past the segment area (" + dataSize
                        + " bytes): the file is corrupt or truncated");
            }
            out.add(new Range(base + s.offset(), s.size()));
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < out.size(); i++) if (out.get(i).size() > 0) order.add(i);
        order.sort(Comparator.comparingLong(i -> out.get(i).offset()));
        for (int k = 1; k < order.size(); k++) {
            Range prev = out.get(order.get(k - 1));
            Range cur = out.get(order.get(k));
            if (cur.offset() < prev.end()) {
                throw new PteFormatException(source + ": segments " + order.get(k - 1) + " and " + order.get(k)
                        + " overlap: the file is corrupt");
            }
        }
        return out;
    }

    /** Checks {@code base + dataSize} fits in a file of {@code fileSize} bytes, unsigned and overflow-safe. */
    static void requireInsideFile(long base, long dataSize, long fileSize, String source) {
        if (Long.compareUnsigned(base, fileSize) > 0 || Long.compareUnsigned(dataSize, fileSize - base) > 0) {
            throw new PteFormatException(source + ": truncated: the header places " + Long.toUnsignedString(dataSize)
                    + " bytes of segment data at offset " + Long.toUnsignedString(base) + " but the file has "
                    + fileSize + " bytes. Copy or download the file again");
        }
    }
}
