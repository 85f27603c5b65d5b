package io.lfmcap.engine;

import io.lfmcap.image.PatchGrid;
import java.util.List;

/**
 * A request turned into model inputs on a preprocessing thread: prompt token ids with one image
 * placeholder per image token, and the image's views in feature order.
 */
record PreparedRequest(CaptionRequest request, int[] promptIds, List<PatchGrid> views, int imageTokens,
                       int imageWidth, int imageHeight, long submittedNanos, long preprocessNanos) {
    /** Bytes its views hold until it is admitted. */
    long patchBytes() {
        long n = 0;
        for (PatchGrid v : views) n += v.bytes();
        return n;
    }
}
