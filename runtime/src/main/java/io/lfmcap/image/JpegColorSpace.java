package io.lfmcap.image;

/** libjpeg's {@code jpeg_color_space} guess for a JPEG's components (jdapimin.c default_decompress_parms). */
enum JpegColorSpace {
    GRAY(1), YCBCR(3), RGB(3), CMYK(4), YCCK(4);

    final int components;

    JpegColorSpace(int components) { this.components = components; }

    /**
     * libjpeg's rule: 3 components are YCbCr unless an Adobe APP14 marker says transform 0 (RGB) and
     * there is no JFIF marker, or the component ids spell 'R','G','B'; 4 components are CMYK unless an
     * Adobe marker says transform 2 (or anything but 0), which means YCCK.
     *
     * @param adobeTransform the APP14 transform byte, or -1 without an Adobe marker
     */
    static JpegColorSpace guess(int[] componentIds, boolean jfif, int adobeTransform) throws CorruptImageException {
        switch (componentIds.length) {
            case 1:
                return GRAY;
            case 3:
                if (jfif) return YCBCR;
                if (adobeTransform >= 0) return adobeTransform == 0 ? RGB : YCBCR;
                if (componentIds[0] == 'R' && componentIds[1] == 'G' && componentIds[2] == 'B') return RGB;
                return YCBCR;
            case 4:
                if (adobeTransform >= 0) return adobeTransform == 0 ? CMYK : YCCK;
                return CMYK;
            default:
                throw new CorruptImageException(componentIds.length + "-component JPEG is not supported (PIL reads 1, 3 or 4 components)");
        }
    }
}
