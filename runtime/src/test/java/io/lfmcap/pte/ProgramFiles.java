package io.lfmcap.pte;

import io.lfmcap.pte.Program.DataSegment;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/** Builds .pte files for tests: arbitrary programs with given segments, or edits of an exported file. */
final class ProgramFiles {
    private ProgramFiles() {}

    /**
     * Writes {@code program} with {@code segments} as its segment data: the segment table is set from
     * the data (128-byte placement), the eh00 header spliced in and the segments appended.
     */
    static Path write(Path out, Program program, List<byte[]> segments) {
        List<Long> sizes = new ArrayList<>();
        for (byte[] s : segments) sizes.add((long) s.length);
        List<DataSegment> table = SegmentLayout.place(sizes);
        Program p = new Program(program.version(), program.executionPlan(), program.backendDelegateData(), table,
                program.constantSegment(), program.namedData());
        byte[] area = new byte[(int) SegmentLayout.dataSize(table)];
        for (int i = 0; i < segments.size(); i++) System.arraycopy(segments.get(i), 0, area, (int) table.get(i).offset(), segments.get(i).length);
        return writeRaw(out, ProgramCodec.encode(p), area);
    }

    /** Re-encodes the program of {@code original} after {@code change}, keeping its segment data. */
    static Path rewrite(Path original, UnaryOperator<Program> change, Path out) {
        byte[] file = read(original);
        ExtendedHeader h = ExtendedHeader.read(ByteBuffer.wrap(file, 0, 64), "test");
        Program p = ProgramCodec.decode(new CheckedFlatBuffer(ByteBuffer.wrap(file, 0, (int) h.programSize()).slice(), "test"));
        byte[] area = Arrays.copyOfRange(file, (int) h.segmentBaseOffset(), (int) (h.segmentBaseOffset() + h.segmentDataSize()));
        return writeRaw(out, ProgramCodec.encode(change.apply(p)), area);
    }

    /** The decoded program of an exported file. */
    static Program program(Path pte) {
        byte[] file = read(pte);
        ExtendedHeader h = ExtendedHeader.read(ByteBuffer.wrap(file, 0, 64), "test");
        return ProgramCodec.decode(new CheckedFlatBuffer(ByteBuffer.wrap(file, 0, (int) h.programSize()).slice(), "test"));
    }

    private static Path writeRaw(Path out, byte[] flatbuffer, byte[] area) {
        long programSize = flatbuffer.length + ExtendedHeader.PADDED_LENGTH;
        long base = SegmentLayout.align(programSize, SegmentLayout.ALIGNMENT);
        byte[] head = ExtendedHeader.splice(flatbuffer, new ExtendedHeader(programSize, base, area.length).toBytes());
        byte[] file = new byte[(int) (base + area.length)];
        System.arraycopy(head, 0, file, 0, head.length);
        System.arraycopy(area, 0, file, (int) base, area.length);
        try {
            Files.write(out, file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
