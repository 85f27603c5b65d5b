package io.lfmcap.pte;

import io.lfmcap.model.MappedFile;
import io.lfmcap.pte.SegmentArea.Range;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@code .ptd} (FlatTensor) weights file, mapped and checked like ExecuTorch's
 * {@code FlatTensorDataMap::load} (docs/pte-format.md section 3) and more: identifier, FH01 header,
 * sizes, flatbuffer (verified while decoding), segment ranges, unique keys.
 */
final class PtdFile implements AutoCloseable {
    /** One named entry: its bytes and, for tensors, the layout. */
    record Entry(Range range, FlatTensor.TensorLayout layout) {}

    private final Path path;
    private final MappedFile file;
    private final Map<String, Entry> entries;

    private PtdFile(Path path, MappedFile file, Map<String, Entry> entries) {
        this.path = path;
        this.file = file;
        this.entries = entries;
    }

    static PtdFile open(Path path) {
        MappedFile file = MappedFile.open(path, PteFile.WINDOW_SIZE);
        try {
            return read(path, file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static PtdFile read(Path path, MappedFile file) {
        String source = path.toString();
        long size = file.size();
        if (size < 8 + FlatTensorHeader.LENGTH) throw new PteFormatException(source + ": truncated: " + size + " bytes cannot hold a .ptd file");
        ByteBuffer head = file.slice(0, (int) Math.min(ExtendedHeader.HEAD_BYTES, size));
        String id = ExtendedHeader.ascii(head, 4);
        if (!id.equals(FlatTensor.IDENTIFIER)) {
            throw new PteFormatException(source + ": not a .ptd (FlatTensor) file: identifier '" + ProgramCodec.printable(id)
                    + "', expected '" + FlatTensor.IDENTIFIER + "'");
        }
        FlatTensorHeader h = FlatTensorHeader.read(head, source);
        if (h.flatbufferOffset() != FlatTensorHeader.PADDED_LENGTH
                || Long.compareUnsigned(h.flatbufferSize(), Math.min(size, Integer.MAX_VALUE) - FlatTensorHeader.PADDED_LENGTH) > 0) {
            throw new PteFormatException(source + ": truncated or corrupt: the header places a flatbuffer of "
                    + Long.toUnsignedString(h.flatbufferSize()) + " bytes at " + Long.toUnsignedString(h.flatbufferOffset())
                    + " in a file of " + size + " bytes");
        }
        long flatbufferEnd = h.flatbufferOffset() + h.flatbufferSize();
        if (Long.compareUnsigned(h.segmentBaseOffset(), flatbufferEnd) < 0) {
            throw new PteFormatException(source + ": corrupt header: segment_base_offset " + Long.toUnsignedString(h.segmentBaseOffset())
                    + " lies inside the flatbuffer");
        }
        SegmentArea.requireInsideFile(h.segmentBaseOffset(), h.segmentDataSize(), size, source);
        FlatTensor ft = FlatTensor.decode(new CheckedFlatBuffer(file.slice(0, (int) flatbufferEnd), source));
        if (ft.version() != 0) throw new PteFormatException(source + ": FlatTensor version " + ft.version() + " is not supported (expected 0)");
        List<Range> segments = SegmentArea.resolve(ft.segments(), h.segmentBaseOffset(), h.segmentDataSize(), source);
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (FlatTensor.Entry e : ft.namedData()) {
            if (e.key() == null) throw new PteFormatException(source + ": a named data entry has no key");
            if (e.segmentIndex() >= segments.size()) {
                throw new PteFormatException(source + ": named data '" + e.key() + "' refers to segment " + e.segmentIndex() + " of " + segments.size());
            }
            if (entries.put(e.key(), new Entry(segments.get((int) e.segmentIndex()), e.layout())) != null) {
                throw new PteFormatException(source + ": named data key '" + e.key() + "' appears twice");
            }
        }
        return new PtdFile(path, file, Collections.unmodifiableMap(entries));
    }

    Path path() { return path; }

    MappedFile file() { return file; }

    /** Key -> entry, in file order. */
    Map<String, Entry> entries() { return entries; }

    @Override
    public void close() { file.close(); }
}
