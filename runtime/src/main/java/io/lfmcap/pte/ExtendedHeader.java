package io.lfmcap.pte;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The {@code eh00} header ExecuTorch splices into a {@code .pte} right after the file identifier
 * (docs/pte-format.md section 1.1; {@code schema/extended_header.cpp}, {@code exir/_serialize/_program.py}).
 *
 * <pre>
 *  8  "eh00"
 * 12  uint32 header length (32; 24..31 = old header without segment_data_size)
 * 16  uint64 program_size          flatbuffer bytes from file byte 0, this header included
 * 24  uint64 segment_base_offset   file offset of the segment area (0 = no segments)
 * 32  uint64 segment_data_size     bytes from segment_base_offset to the end of the last segment
 * </pre>
 */
record ExtendedHeader(long programSize, long segmentBaseOffset, long segmentDataSize) {
    static final String MAGIC = "eh00";
    /** Bytes a reader looks at to find the header. */
    static final int HEAD_BYTES = 64;
    static final int LENGTH = 32;
    /** Header plus padding to the flatbuffer's 16-byte alignment: the bytes inserted after byte 8. */
    static final int PADDED_LENGTH = 32;
    private static final int MIN_LENGTH = 24;

    /**
     * Reads the header from the first bytes of a file ({@code head} at position 0, little-endian);
     * null when the bytes at 8..11 are not {@code eh00} (a plain flatbuffer without segments).
     */
    static ExtendedHeader read(ByteBuffer head, String source) {
        ByteBuffer b = head.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.limit() < 16 || !MAGIC.equals(ascii(b, 8))) return null;
        long length = Integer.toUnsignedLong(b.getInt(12));
        if (length < MIN_LENGTH) throw new PteFormatException(source + ": corrupt extended header: length " + length + " is below " + MIN_LENGTH);
        if (b.limit() < 8 + MIN_LENGTH) throw new PteFormatException(source + ": truncated: the file ends inside its extended header");
        long segmentDataSize = length >= LENGTH && b.limit() >= 8 + LENGTH ? b.getLong(32) : 0;
        return new ExtendedHeader(b.getLong(16), b.getLong(24), segmentDataSize);
    }

    /** The padded header bytes to insert after byte 8 of the flatbuffer. */
    byte[] toBytes() {
        ByteBuffer b = ByteBuffer.allocate(PADDED_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC.getBytes(StandardCharsets.US_ASCII)).putInt(LENGTH)
                .putLong(programSize).putLong(segmentBaseOffset).putLong(segmentDataSize);
        return b.array();
    }

    /**
     * Inserts {@code paddedHeader} after the first 8 bytes of {@code flatbuffer} (root offset and
     * identifier) and adds its length to the root offset. Every other flatbuffer offset is relative
     * and needs no change; the header length must keep the buffer's alignment (a multiple of 16).
     */
    static byte[] splice(byte[] flatbuffer, byte[] paddedHeader) {
        byte[] out = new byte[flatbuffer.length + paddedHeader.length];
        System.arraycopy(flatbuffer, 0, out, 0, 8);
        System.arraycopy(paddedHeader, 0, out, 8, paddedHeader.length);
        System.arraycopy(flatbuffer, 8, out, 8 + paddedHeader.length, flatbuffer.length - 8);
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, b.getInt(0) + paddedHeader.length);
        return out;
    }

    static String ascii(ByteBuffer b, int at) {
        byte[] bytes = new byte[4];
        b.get(at, bytes);
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }
}
