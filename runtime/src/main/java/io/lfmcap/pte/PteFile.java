package io.lfmcap.pte;

import io.lfmcap.model.MappedFile;
import io.lfmcap.pte.Program.NamedData;
import io.lfmcap.pte.SegmentArea.Range;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An ExecuTorch program file, mapped and checked at the container level (docs/pte-format.md section
 * 1.1, ExecuTorch's {@code Program::load} checks and more): identifier, extended header, sizes,
 * flatbuffer (every offset verified while decoding), segment ranges, named data keys. It does not
 * judge which backend the program is for; {@link PteModelPackage} does.
 */
final class PteFile implements AutoCloseable {
    /** Window of the file mappings: ranges up to half of it are views of one window. */
    static final long WINDOW_SIZE = Integer.MAX_VALUE;

    private final Path path;
    private final MappedFile file;
    private final ExtendedHeader header;
    private final Program program;
    private final List<Range> segments;
    private final Map<String, Range> namedData;

    private PteFile(Path path, MappedFile file, ExtendedHeader header, Program program, List<Range> segments, Map<String, Range> namedData) {
        this.path = path;
        this.file = file;
        this.header = header;
        this.program = program;
        this.segments = segments;
        this.namedData = namedData;
    }

    static PteFile open(Path path) {
        MappedFile file = MappedFile.open(path, WINDOW_SIZE);
        try {
            return read(path, file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static PteFile read(Path path, MappedFile file) {
        String source = path.toString();
        long size = file.size();
        if (size < 16) throw new PteFormatException(source + ": truncated: " + size + " bytes cannot hold an ExecuTorch program");
        ByteBuffer head = file.slice(0, (int) Math.min(ExtendedHeader.HEAD_BYTES, size));
        String id = ExtendedHeader.ascii(head, 4);
        if (id.equals(FlatTensor.IDENTIFIER)) {
            throw new PteFormatException(source + ": this is a .ptd weights file (FlatTensor), not a program; open the .pte that goes with it");
        }
        if (!id.equals(ProgramCodec.IDENTIFIER)) {
            String what = id.startsWith("ET") ? "an ExecuTorch program of unsupported format '" + ProgramCodec.printable(id) + "'"
                    : "not an ExecuTorch program (file identifier '" + ProgramCodec.printable(id) + "')";
            throw new PteFormatException(source + ": " + what + "; lfmcap reads '" + ProgramCodec.IDENTIFIER
                    + "' .pte files made by 'lfmcap export'");
        }
        ExtendedHeader header = ExtendedHeader.read(head, source);
        long programSize = size;
        if (header != null) {
            programSize = header.programSize();
            if (Long.compareUnsigned(programSize, 8 + ExtendedHeader.PADDED_LENGTH) < 0 || Long.compareUnsigned(programSize, size) > 0) {
                throw new PteFormatException(source + ": truncated or corrupt: the header gives program_size "
                        + Long.toUnsignedString(programSize) + " for a file of " + size + " bytes");
            }
            if (header.segmentDataSize() != 0) {
                if (Long.compareUnsigned(header.segmentBaseOffset(), programSize) < 0) {
                    throw new PteFormatException(source + ": corrupt header: segment_base_offset "
                            + Long.toUnsignedString(header.segmentBaseOffset()) + " lies inside the program (" + programSize + " bytes)");
                }
                SegmentArea.requireInsideFile(header.segmentBaseOffset(), header.segmentDataSize(), size, source);
            }
        }
        if (programSize > Integer.MAX_VALUE) {
            throw new PteFormatException(source + ": the program flatbuffer is " + programSize + " bytes; over 2 GiB is not supported");
        }
        Program program = ProgramCodec.decode(new CheckedFlatBuffer(file.slice(0, (int) programSize), source));

        List<Range> segments = List.of();
        List<Program.DataSegment> table = program.segments() == null ? List.of() : program.segments();
        if (!table.isEmpty()) {
            if (header == null) throw new PteFormatException(source + ": the program lists segments but the file has no extended header to place them");
            segments = SegmentArea.resolve(table, header.segmentBaseOffset(), header.segmentDataSize(), source);
        }
        Map<String, Range> named = new LinkedHashMap<>();
        for (NamedData nd : CaptionProgram.nonNull(program.namedData())) {
            if (nd.key() == null) throw new PteFormatException(source + ": a named data entry has no key");
            if (nd.segmentIndex() >= segments.size()) {
                throw new PteFormatException(source + ": named data '" + nd.key() + "' refers to segment " + nd.segmentIndex()
                        + " of " + segments.size());
            }
            if (named.put(nd.key(), segments.get((int) nd.segmentIndex())) != null) {
                throw new PteFormatException(source + ": named data key '" + nd.key() + "' appears twice");
            }
        }
        return new PteFile(path, file, header, program, segments, Collections.unmodifiableMap(named));
    }

    Path path() { return path; }

    MappedFile file() { return file; }

    long size() { return file.size(); }

    /** The extended header, or null for a plain flatbuffer without segments. */
    ExtendedHeader header() { return header; }

    Program program() { return program; }

    List<Range> segments() { return segments; }

    /** Named data key -> absolute byte range, in file order of the entries. */
    Map<String, Range> namedData() { return namedData; }

    @Override
    public void close() { file.close(); }
}
