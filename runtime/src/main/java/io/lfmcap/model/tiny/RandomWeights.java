package io.lfmcap.model.tiny;

import io.lfmcap.model.DType;
import io.lfmcap.model.FloatFormats;
import io.lfmcap.model.ModelConfig;
import io.lfmcap.model.SafetensorsWriter;
import io.lfmcap.model.WeightSchema;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Deterministic random BF16 weights for every tensor of {@link WeightSchema}, streamed to a safetensors
 * file chunk by chunk (a 1.6B checkpoint never sits in memory; chunks are generated in parallel, each
 * from its own {@link SplittableRandom} seeded by (seed, tensor, chunk), so the bytes do not depend on
 * the thread count).
 *
 * <p>Spread is chosen so that a model with these weights has real logit margins (the transformers
 * default init, std 0.02, gives flat logits and a one-token greedy loop):
 * <ul>
 *   <li>1-D {@code .weight} (every RMSNorm/LayerNorm scale): 1 + N(0, 0.05);</li>
 *   <li>{@code .bias}: N(0, 0.05);</li>
 *   <li>ShortConv kernels {@code conv.conv.weight}: N(0, 0.5);</li>
 *   <li>embedding tables (token, vision position): N(0, 0.3);</li>
 *   <li>other matrices (Linear [out, in]): N(0, 0.3 * sqrt(64 / in)), i.e. 0.3 at the tiny model's
 *       width 64, scaled by fan-in so real-shape checkpoints keep activations of the same size.</li>
 * </ul>
 */
final class RandomWeights {
    private static final int CHUNK_ELEMENTS = 1 << 20;

    private RandomWeights() {}

    static void write(Path file, ModelConfig cfg, long seed) {
        Map<String, long[]> schema = WeightSchema.of(cfg).expected();
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        schema.forEach((name, shape) -> entries.add(new SafetensorsWriter.Entry(name, DType.BF16, shape)));
        int group = Math.max(1, Runtime.getRuntime().availableProcessors()) * 2;
        try (SafetensorsWriter w = SafetensorsWriter.create(file, entries, Map.of("format", "pt"))) {
            for (int t = 0; t < entries.size(); t++) {
                SafetensorsWriter.Entry e = entries.get(t);
                Init init = Init.of(e.name(), e.shape());
                long n = e.numElements();
                long chunks = (n + CHUNK_ELEMENTS - 1) / CHUNK_ELEMENTS;
                for (long first = 0; first < chunks; first += group) {
                    int count = (int) Math.min(group, chunks - first);
                    byte[][] parts = new byte[count][];
                    final int tensor = t;
                    final long base = first;
                    IntStream.range(0, count).parallel().forEach(i -> {
                        long chunk = base + i;
                        int len = (int) Math.min(CHUNK_ELEMENTS, n - chunk * CHUNK_ELEMENTS);
                        parts[i] = init.bf16(len, new SplittableRandom(chunkSeed(seed, tensor, chunk)));
                    });
                    for (byte[] part : parts) w.write(ByteBuffer.wrap(part));
                }
            }
        }
    }

    private static long chunkSeed(long seed, int tensor, long chunk) {
        return seed * 0x9E3779B97F4A7C15L + (tensor + 1) * 0xBF58476D1CE4E5B9L + (chunk + 1) * 0x94D049BB133111EBL;
    }

    /** Distribution of one tensor's elements: mean + std * N(0, 1). */
    private record Init(double mean, double std) {
        static Init of(String name, long[] shape) {
            if (name.endsWith(".bias")) return new Init(0, 0.05);
            if (shape.length == 1) return new Init(1, 0.05);
            if (name.endsWith("conv.conv.weight")) return new Init(0, 0.5);
            if (name.endsWith("embed_tokens.weight") || name.endsWith("position_embedding.weight")) return new Init(0, 0.3);
            return new Init(0, 0.3 * Math.sqrt(64.0 / shape[shape.length - 1]));
        }

        byte[] bf16(int count, SplittableRandom random) {
            ByteBuffer out = ByteBuffer.allocate(count * 2).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < count; i++)
                out.putShort(FloatFormats.floatToBf16((float) (mean + std * random.nextGaussian())));
            return out.array();
        }
    }
}
