package io.lfmcap.pte;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Reads one FlatBuffers buffer with the checks of flatbuffers' C++ {@code Verifier} made at every
 * access instead of in a separate pass: each table's vtable, each field, each offset, vector and
 * string must lie inside the buffer and be aligned, and offsets must point forward. Any violation is
 * a {@link PteFormatException} naming the file; nothing is read before it is checked.
 *
 * <p>Decoding never recurses on data: callers walk the fixed schema. A work budget (proportional to
 * the buffer size) bounds what a malicious buffer can make a decoder do, e.g. a million vector
 * entries that all point at the same large table.
 *
 * <p>Positions are byte offsets from the buffer start (file byte 0). Binary format: FlatBuffers
 * "internals" doc: a table starts with an int32 offset back to its vtable; the vtable holds uint16
 * vtable size, uint16 table size, then one uint16 field offset per slot (0 = absent); reference
 * fields hold a uint32 offset forward from the field; vectors and strings start with a uint32 length.
 */
final class CheckedFlatBuffer {
    /** Upper bound on any vector length, far above what a valid program holds. */
    static final int MAX_VECTOR_LENGTH = 1 << 24;

    private final ByteBuffer buf;
    private final int size;
    private final String source;
    private long budget;

    /**
     * @param buffer the flatbuffer bytes from position 0 (the header included for spliced files);
     *               its limit is the end of the flatbuffer
     * @param source the file, for messages
     */
    CheckedFlatBuffer(ByteBuffer buffer, String source) {
        this.buf = buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.buf.position(0);
        this.size = buf.limit();
        this.source = source;
        this.budget = 8L * size + 65_536;
    }

    /** The 4-byte file identifier at bytes 4..7 (e.g. {@code ET12}), or "" if the buffer is shorter. */
    String identifier() {
        if (size < 8) return "";
        byte[] id = new byte[4];
        buf.get(4, id);
        return new String(id, StandardCharsets.ISO_8859_1);
    }

    /** Position of the root table (uint32 at byte 0). */
    int root() {
        if (size < 8) throw corrupt("the flatbuffer is only " + size + " bytes");
        return table(offsetTarget(0, "root table"));
    }

    // ---- scalars (absent field -> default) ----

    byte getByte(int table, int slot, int defaultValue) {
        int p = field(table, slot, 1);
        return p == 0 ? (byte) defaultValue : buf.get(p);
    }

    boolean getBool(int table, int slot) { return getByte(table, slot, 0) != 0; }

    int getInt(int table, int slot, int defaultValue) {
        int p = field(table, slot, 4);
        return p == 0 ? defaultValue : buf.getInt(p);
    }

    /** uint32 field as a non-negative long. */
    long getUint(int table, int slot) {
        int p = field(table, slot, 4);
        return p == 0 ? 0 : Integer.toUnsignedLong(buf.getInt(p));
    }

    /** int64 or uint64 field (uint64 callers treat the result as unsigned). */
    long getLong(int table, int slot) {
        int p = field(table, slot, 8);
        return p == 0 ? 0 : buf.getLong(p);
    }

    double getDouble(int table, int slot) {
        int p = field(table, slot, 8);
        return p == 0 ? 0.0 : buf.getDouble(p);
    }

    // ---- references (absent field -> 0 / null) ----

    /** Position of the sub-table in {@code slot}, or 0 when absent. */
    int getTable(int table, int slot) {
        int p = field(table, slot, 4);
        return p == 0 ? 0 : table(offsetTarget(p, "table"));
    }

    /** The string in {@code slot}, or null when absent. */
    String getString(int table, int slot) {
        int p = field(table, slot, 4);
        return p == 0 ? null : string(offsetTarget(p, "string"));
    }

    /** The vector in {@code slot} with elements of {@code elementSize} bytes, or null when absent. */
    Vector getVector(int table, int slot, int elementSize) {
        int p = field(table, slot, 4);
        return p == 0 ? null : vector(offsetTarget(p, "vector"), elementSize);
    }

    /** A checked vector: {@code length} elements starting at {@code start}. */
    record Vector(int start, int length, int elementSize) {}

    int intAt(Vector v, int i) { return buf.getInt(element(v, i, 4)); }

    long longAt(Vector v, int i) { return buf.getLong(element(v, i, 8)); }

    double doubleAt(Vector v, int i) { return buf.getDouble(element(v, i, 8)); }

    byte byteAt(Vector v, int i) { return buf.get(element(v, i, 1)); }

    /** Position of the table that element {@code i} (a uint32 offset) points at. */
    int tableAt(Vector v, int i) { return table(offsetTarget(element(v, i, 4), "table")); }

    String stringAt(Vector v, int i) { return string(offsetTarget(element(v, i, 4), "string")); }

    byte[] bytes(Vector v) {
        charge(v.length());
        byte[] out = new byte[v.length()];
        buf.get(v.start(), out);
        return out;
    }

    // ---- checks ----

    private int element(Vector v, int i, int width) {
        if (v.elementSize() != width || i < 0 || i >= v.length()) {
            throw new IllegalArgumentException("element " + i + " of width " + width + " outside " + v);
        }
        return v.start() + i * width;
    }

    /** Checks the table at {@code t} and its vtable; returns t. */
    private int table(int t) {
        charge(1);
        requireAligned(t, 4, "table");
        requireInside(t, 4, "table");
        long vt = (long) t - buf.getInt(t);
        if (vt < 0 || vt + 4 > size) throw corrupt("the vtable of the table at " + t + " lies outside the flatbuffer");
        requireAligned((int) vt, 2, "vtable");
        int vtSize = Short.toUnsignedInt(buf.getShort((int) vt));
        int tableSize = Short.toUnsignedInt(buf.getShort((int) vt + 2));
        if (vtSize < 4 || (vtSize & 1) != 0 || vt + vtSize > size) {
            throw corrupt("the vtable at " + vt + " has invalid size " + vtSize);
        }
        if (tableSize < 4 || (long) t + tableSize > size) {
            throw corrupt("the table at " + t + " has invalid size " + tableSize);
        }
        return t;
    }

    /** Absolute position of the field in {@code slot} of {@code width} bytes, or 0 when absent. */
    private int field(int t, int slot, int width) {
        int vt = t - buf.getInt(t);
        int vtSize = Short.toUnsignedInt(buf.getShort(vt));
        int entry = 4 + 2 * slot;
        if (entry + 2 > vtSize) return 0;
        int fieldOffset = Short.toUnsignedInt(buf.getShort(vt + entry));
        if (fieldOffset == 0) return 0;
        int tableSize = Short.toUnsignedInt(buf.getShort(vt + 2));
        if (fieldOffset < 4 || fieldOffset + width > tableSize) {
            throw corrupt("field " + slot + " of the table at " + t + " lies outside the table");
        }
        int p = t + fieldOffset;
        requireAligned(p, width, "field");
        return p;
    }

    /** Follows the uint32 offset stored at {@code p}: must be positive and stay inside the buffer. */
    private int offsetTarget(int p, String what) {
        requireInside(p, 4, what + " offset");
        long offset = Integer.toUnsignedLong(buf.getInt(p));
        long target = p + offset;
        if (offset == 0 || offset > Integer.MAX_VALUE || target + 4 > size) {
            throw corrupt("the " + what + " offset at " + p + " points outside the flatbuffer (" + target + " of " + size + ")");
        }
        return (int) target;
    }

    private Vector vector(int v, int elementSize) {
        requireAligned(v, 4, "vector");
        long length = Integer.toUnsignedLong(buf.getInt(v));
        if (length > MAX_VECTOR_LENGTH || v + 4 + length * elementSize > size) {
            throw corrupt("the vector at " + v + " claims " + length + " elements, more than the flatbuffer holds");
        }
        int start = v + 4;
        if (length > 0) requireAligned(start, Math.min(elementSize, 8), "vector element");
        charge(1 + length);
        return new Vector(start, (int) length, elementSize);
    }

    private String string(int s) {
        requireAligned(s, 4, "string");
        long length = Integer.toUnsignedLong(buf.getInt(s));
        if (s + 4 + length + 1 > size) {
            throw corrupt("the string at " + s + " claims " + length + " bytes, more than the flatbuffer holds");
        }
        if (buf.get((int) (s + 4 + length)) != 0) throw corrupt("the string at " + s + " is not NUL-terminated");
        charge(length + 1);
        byte[] bytes = new byte[(int) length];
        buf.get(s + 4, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private void requireInside(long p, int width, String what) {
        if (p < 0 || p + width > size) throw corrupt("the " + what + " at " + p + " lies outside the flatbuffer (" + size + " bytes)");
    }

    private void requireAligned(long p, int alignment, String what) {
        if (p % alignment != 0) throw corrupt("the " + what + " at " + p + " is not " + alignment + "-byte aligned");
    }

    private void charge(long units) {
        budget -= units;
        if (budget < 0) throw corrupt("decoding needs far more work than its size allows (shared or looping references)");
    }

    PteFormatException corrupt(String detail) {
        return new PteFormatException(source + ": corrupt flatbuffer: " + detail
                + ". The file is damaged or not an ExecuTorch file; export it again with 'lfmcap export'.");
    }
}
