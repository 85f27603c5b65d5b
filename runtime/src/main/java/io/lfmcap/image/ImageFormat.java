package io.lfmcap.image;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** The encoded formats {@link ImageDecoder} reads, recognised by their magic bytes (never by file name). */
enum ImageFormat {
    JPEG, PNG, GIF, BMP, WEBP;

    /** The format whose signature starts {@code b}, or null. */
    static ImageFormat sniff(byte[] b) {
        if (startsWith(b, 0, 0xFF, 0xD8, 0xFF)) return JPEG;
        if (startsWith(b, 0, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) return PNG;
        if (startsWith(b, 0, 'G', 'I', 'F', '8') && b.length > 5 && (b[4] == '7' || b[4] == '9') && b[5] == 'a') return GIF;
        if (startsWith(b, 0, 'B', 'M') && b.length >= 26) return BMP;
        if (startsWith(b, 0, 'R', 'I', 'F', 'F') && startsWith(b, 8, 'W', 'E', 'B', 'P')) return WEBP;
        return null;
    }

    /**
     * What unsupported bytes look like, for the error message: a named format we know but do not
     * decode (TIFF, HEIF/AVIF, PDF, ...), text, or the first bytes in hex.
     */
    static String describeUnsupported(byte[] b) {
        String named = namedUnsupported(b);
        if (named != null) return named + " data (magic " + hex(b, 4) + ")";
        if (looksLikeText(b)) {
            String text = new String(b, 0, Math.min(b.length, 24), StandardCharsets.UTF_8).replaceAll("\\s+", " ").strip();
            return "text, not an image (starts \"" + text + "\")";
        }
        return "unrecognised data (first bytes " + hex(b, 8) + ")";
    }

    private static String namedUnsupported(byte[] b) {
        if (startsWith(b, 0, 'I', 'I', 0x2A, 0x00) || startsWith(b, 0, 'M', 'M', 0x00, 0x2A)) return "TIFF";
        if (startsWith(b, 4, 'f', 't', 'y', 'p') && b.length >= 12) {
            String brand = new String(b, 8, 4, StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
            if (brand.startsWith("avi")) return "AVIF";
            if (brand.startsWith("hei") || brand.startsWith("mif") || brand.startsWith("hev") || brand.startsWith("msf")) return "HEIF/HEIC";
            return "ISO media (" + brand.strip() + ")";
        }
        if (startsWith(b, 0, '%', 'P', 'D', 'F')) return "PDF";
        if (startsWith(b, 0, '8', 'B', 'P', 'S')) return "Photoshop PSD";
        if (startsWith(b, 0, 0x00, 0x00, 0x01, 0x00) || startsWith(b, 0, 0x00, 0x00, 0x02, 0x00)) return "Windows ICO/CUR";
        if (startsWith(b, 0, 0x00, 0x00, 0x00, 0x0C, 'j', 'P', ' ', ' ') || startsWith(b, 0, 0xFF, 0x4F, 0xFF, 0x51)) return "JPEG 2000";
        if (startsWith(b, 0, 0xFF, 0x0A) || startsWith(b, 0, 0x00, 0x00, 0x00, 0x0C, 'J', 'X', 'L', ' ')) return "JPEG XL";
        if (startsWith(b, 0, 'R', 'I', 'F', 'F')) return "RIFF (not WebP)";
        if (startsWith(b, 0, 'P', 'K', 0x03, 0x04)) return "ZIP archive";
        if (startsWith(b, 0, 0x1F, 0x8B)) return "gzip";
        if (looksLikeText(b)) {
            String head = new String(b, 0, Math.min(b.length, 256), StandardCharsets.UTF_8).toLowerCase(Locale.ROOT);
            if (head.contains("<svg")) return "SVG";
            if (head.contains("<html") || head.contains("<!doctype html")) return "HTML";
        }
        return null;
    }

    private static boolean looksLikeText(byte[] b) {
        int n = Math.min(b.length, 512);
        for (int i = 0; i < n; i++) {
            int c = b[i] & 0xff;
            if (c < 0x09 || (c > 0x0D && c < 0x20 && c != 0x1B)) return false;
        }
        return n > 0;
    }

    static boolean startsWith(byte[] b, int offset, int... sig) {
        if (b.length < offset + sig.length) return false;
        for (int i = 0; i < sig.length; i++) if ((b[offset + i] & 0xff) != sig[i]) return false;
        return true;
    }

    static String hex(byte[] b, int max) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < Math.min(b.length, max); i++) {
            if (i > 0) s.append(' ');
            s.append(String.format("%02X", b[i] & 0xff));
        }
        return s.toString();
    }

    /** The name used in messages ("JPEG", "WebP"). */
    String displayName() { return this == WEBP ? "WebP" : name(); }
}
