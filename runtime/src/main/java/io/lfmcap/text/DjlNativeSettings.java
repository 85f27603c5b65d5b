package io.lfmcap.text;

/**
 * Keeps DJL's tokenizers binding offline. Without these settings DJL 0.38 (ai.djl.util.Ec2Utils,
 * ai.djl.huggingface.tokenizers.jni.LibUtils) queries the EC2 metadata endpoint on every
 * {@code newInstance} (telemetry) and, on a machine with CUDA, downloads a CUDA build of
 * {@code libtokenizers} from publish.djl.ai instead of extracting the CPU build its jar bundles.
 *
 * <p>Each is set only when neither the environment nor a system property already chose a value:
 * {@code ai.djl.offline=true} (no network at all), {@code OPT_OUT_TRACKING=true} (no telemetry),
 * {@code RUST_FLAVOR=cpu} (the bundled library). The library is extracted once to
 * {@code $ENGINE_CACHE_DIR/tokenizers/} or {@code $DJL_CACHE_DIR/tokenizers/} (default
 * {@code ~/.djl.ai/tokenizers/}, {@code java.io.tmpdir/.djl.ai} when home is not writable).
 */
final class DjlNativeSettings {
    private DjlNativeSettings() {}

    /** Applies the settings; must run before the first DJL tokenizer class initialises. */
    static synchronized void applyOnce() {
        setUnlessChosen("DJL_OFFLINE", "ai.djl.offline", "true");
        setUnlessChosen("OPT_OUT_TRACKING", "OPT_OUT_TRACKING", "true");
        setUnlessChosen("RUST_FLAVOR", "RUST_FLAVOR", "cpu");
    }

    private static void setUnlessChosen(String envName, String property, String value) {
        if (System.getenv(envName) == null && System.getProperty(property) == null) System.setProperty(property, value);
    }
}
