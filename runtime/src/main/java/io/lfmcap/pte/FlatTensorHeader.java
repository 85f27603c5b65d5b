package io.lfmcap.pte;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The {@code FH01} header of a {@code .ptd} (FlatTensor) file, spliced after the identifier like the
 * {@code .pte}'s (docs/pte-format.md section 3; {@code extension/flat_tensor/serialize/serialize.py}).
 *
 * <pre>
 *  8  "FH01"
 * 12  uint32 header length (40)
 * 16  uint64 flatbuffer_offset     the padded header length, 48 (not where the root table is)
 * 24  uint64 flatbuffer_size       flatbuffer bytes before the header was inserted
 * 32  uint64 segment_base_offset   align(48 + flatbuffer_size, 128)
 * 40  uint64 segment_data_size
 * </pre>
 *
 * The flatbuffer region is {@code [0, flatbuffer_offset + flatbuffer_size)}.
 */
record FlatTensorHeader(long flatbufferOffset, long flatbufferSize, long segmentBaseOffset, long segmentDataSize) {
    static final String MAGIC = "FH01";
    static final int LENGTH = 40;
    /** align(40, 16): the bytes inserted after byte 8. */
    static final int PADDED_LENGTH = 48;

    /** Reads the header from the first bytes of a file; the magic is required. */
    static FlatTensorHeader read(ByteBuffer head, String source) {
        ByteBuffer b = head.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.limit() < 8 + LENGTH) throw new PteFormatException(source + ": truncated: " + b.limit() + " bytes cannot hold a .ptd header");
        String magic = ExtendedHeader.ascii(b, 8);
        if (!MAGIC.equals(magic)) {
            throw new PteFormatException(source + ": not a .ptd (FlatTensor) file: header magic '"
                    + ProgramCodec.printable(magic) + "', expected '" + MAGIC + "'");
        }
        long length = Integer.toUnsignedLong(b.getInt(12));
        if (length < LENGTH) throw new PteFormatException(source + ": corrupt .ptd header: length " + length + " is below " + LENGTH);
        return new FlatTensorHeader(b.getLong(16), b.getLong(24), b.getLong(32), b.getLong(40));
    }

    byte[] toBytes() {
        ByteBuffer b = ByteBuffer.allocate(PADDED_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC.getBytes(StandardCharsets.US_ASCII)).putInt(LENGTH)
                .putLong(flatbufferOffset).putLong(flatbufferSize).putLong(segmentBaseOffset).putLong(segmentDataSize);
        return b.array();
    }
}
