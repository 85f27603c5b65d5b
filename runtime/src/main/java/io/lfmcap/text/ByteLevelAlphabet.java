package io.lfmcap.text;

import java.nio.charset.StandardCharsets;

/**
 * GPT-2's byte-to-unicode table, the alphabet of byte-level BPE (tokenizers' {@code ByteLevel}
 * pre-tokenizer/decoder, {@code bytes_char()}): printable bytes map to themselves, the other 68
 * bytes to U+0100 onwards in byte order, so every byte is one visible character.
 */
final class ByteLevelAlphabet {
    private static final char[] BYTE_TO_CHAR = buildTable();

    private ByteLevelAlphabet() {}

    private static char[] buildTable() {
        char[] table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char) b : (char) next++;
        }
        return table;
    }

    /** The alphabet character of byte {@code b} (0..255). */
    static char charOf(int b) { return BYTE_TO_CHAR[b & 0xff]; }

    /** The byte-level spelling of a string's UTF-8 bytes, one alphabet character per byte. */
    static String encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(bytes.length);
        for (byte b : bytes) sb.append(charOf(b));
        return sb.toString();
    }
}
