package io.lfmcap.cuda;

import static org.bytedeco.cuda.global.cudart.cudaDeviceSynchronize;
import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;

import io.lfmcap.model.DType;
import io.lfmcap.model.FloatFormats;
import io.lfmcap.model.ModelConfig;
import io.lfmcap.model.Tensor;
import io.lfmcap.model.WeightStore;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.ShortPointer;

/**
 * A model's weights on one device, uploaded once per process per (device, weight source, config) and shared
 * by every backend on that device ({@link #acquire} / {@link #release}, reference counted). Matrices are
 * bf16 (bf16 checkpoints are copied as is; f32/f16 are rounded to bf16 on upload); norm weights, position
 * table, conv taps and the biases of fp32 outputs are fp32; the biases of bf16 outputs are bf16 (cuBLASLt's
 * bias has the output's type). Fused layouts: q|k|v stacked in one matrix (vision, and text attention), w1|w3
 * stacked (text FFN). Shapes are checked against the config as the CPU backend checks them.
 */
final class DeviceWeights {
    private static final String TEXT = "model.language_model.";
    private static final String VISION = "model.vision_tower.vision_model.";
    private static final String PROJECTOR = "model.multi_modal_projector.";
    private static final int CHUNK_BYTES = 64 << 20;
    private static final Map<Key, DeviceWeights> SHARED = new HashMap<>();

    record VisionLayer(long norm1W, long norm1B, DeviceMatrix qkv, long qkvBias, DeviceMatrix out, long outBias,
                       long norm2W, long norm2B, DeviceMatrix fc1, long fc1Bias, DeviceMatrix fc2, long fc2Bias) {}

    record Vision(DeviceMatrix patch, long patchBias, long positionTable, VisionLayer[] layers, long postNormW, long postNormB,
                  long projectorNormW, long projectorNormB, DeviceMatrix linear1, long linear1Bias, DeviceMatrix linear2, long linear2Bias) {}

    /** mix: q|k|v (attention) or in_proj (conv); convTaps [H][L] for conv layers, qNorm/kNorm for attention. */
    record TextLayer(long operatorNorm, DeviceMatrix mix, long qNorm, long kNorm, long convTaps, DeviceMatrix out,
                     long ffnNorm, DeviceMatrix gateUp, DeviceMatrix down) {}

    record Text(DeviceMatrix embed, DeviceMatrix lmHead, long finalNorm, TextLayer[] layers, long invFreq) {}

    private record Key(String source, int device, ModelConfig config) {}

    final Vision vision;
    final Text text;
    private final Key key;
    private final DeviceMemory memory;
    private int references = 1;

    private DeviceWeights(Key key, DeviceMemory memory, Vision vision, Text text) {
        this.key = key;
        this.memory = memory;
        this.vision = vision;
        this.text = text;
    }

    /** The weights of {@code store} on the context's device, uploaded now unless this process already holds them. */
    static DeviceWeights acquire(GpuContext ctx, ModelConfig config, WeightStore store) {
        Key key = new Key(store.source(), ctx.device, config);
        synchronized (SHARED) {
            DeviceWeights held = SHARED.get(key);
            if (held != null) {
                held.references++;
                return held;
            }
            Upload sizing = new Upload(config, store, null);
            sizing.build();
            DeviceMemory memory = DeviceMemory.allocate("model weights", sizing.bytes);
            try {
                Upload upload = new Upload(config, store, memory);
                upload.build();
                // cudaMemcpy from pageable memory runs on the legacy stream and may return before its DMA ends;
                // the backend's non-blocking stream does not wait for it, so wait here.
                Cuda.check(cudaDeviceSynchronize(), "cudaDeviceSynchronize after uploading weights");
                DeviceWeights w = new DeviceWeights(key, memory, upload.vision, upload.text);
                SHARED.put(key, w);
                return w;
            } catch (RuntimeException | Error e) {
                memory.close();
                throw e;
            }
        }
    }

    long bytes() { return memory.bytes(); }

    /** Drops this backend's reference; the last one frees the device memory. */
    void release() {
        synchronized (SHARED) {
            if (--references > 0) return;
            SHARED.remove(key);
            memory.close();
        }
    }

    /**
     * Walks every weight the model needs. Without device memory it only adds up sizes (addresses are then
     * offsets); with it, it uploads each tensor into its place.
     */
    private static final class Upload {
        final ModelConfig config;
        final WeightStore store;
        final DeviceMemory memory;
        long bytes;
        Vision vision;
        Text text;

        Upload(ModelConfig config, WeightStore store, DeviceMemory memory) {
            this.config = config;
            this.store = store;
            this.memory = memory;
        }

        void build() {
            var t = config.text();
            if (t.convBias()) throw new UnsupportedOperationException("conv_bias=true checkpoints are not supported by the CUDA backend");
            int h = t.hiddenSize();
            int hd = t.headDim();
            int qRows = t.numHeads() * hd, kvRows = t.numKvHeads() * hd;
            DeviceMatrix embed = matrix(h, part(TEXT + "embed_tokens.weight", t.vocabSize()));
            DeviceMatrix lmHead = t.tieWordEmbeddings() || !store.contains("lm_head.weight") ? embed
                    : matrix(h, part("lm_head.weight", t.vocabSize()));
            TextLayer[] layers = new TextLayer[t.numLayers()];
            for (int i = 0; i < layers.length; i++) {
                String p = TEXT + "layers." + i + ".";
                long opNorm = f32(p + "operator_norm.weight", h);
                DeviceMatrix mix, out;
                long qNorm = 0, kNorm = 0, taps = 0;
                if (t.isAttention(i)) {
                    String a = p + "self_attn.";
                    mix = matrix(h, part(a + "q_proj.weight", qRows), part(a + "k_proj.weight", kvRows), part(a + "v_proj.weight", kvRows));
                    out = matrix(qRows, part(a + "out_proj.weight", h));
                    qNorm = f32(a + "q_layernorm.weight", hd);
                    kNorm = f32(a + "k_layernorm.weight", hd);
                } else {
                    mix = matrix(h, part(p + "conv.in_proj.weight", 3 * h));
                    taps = f32(p + "conv.conv.weight", h, 1, t.convKernel());
                    out = matrix(h, part(p + "conv.out_proj.weight", h));
                }
                long ffnNorm = f32(p + "ffn_norm.weight", h);
                DeviceMatrix gateUp = matrix(h, part(p + "feed_forward.w1.weight", t.ffnDim()), part(p + "feed_forward.w3.weight", t.ffnDim()));
                DeviceMatrix down = matrix(t.ffnDim(), part(p + "feed_forward.w2.weight", h));
                layers[i] = new TextLayer(opNorm, mix, qNorm, kNorm, taps, out, ffnNorm, gateUp, down);
            }
            long finalNorm = f32(TEXT + "embedding_norm.weight", h);
            text = new Text(embed, lmHead, finalNorm, layers, values(invFreq(hd, t.ropeTheta())));

            var v = config.vision();
            int d = v.hiddenSize();
            DeviceMatrix patch = matrix(v.patchDim(), part(VISION + "embeddings.patch_embedding.weight", d));
            long patchBias = bf16Vector(part(VISION + "embeddings.patch_embedding.bias", d));
            long table = f32(VISION + "embeddings.position_embedding.weight", v.numPatches(), d);
            VisionLayer[] vl = new VisionLayer[config.visionLayersToRun()];
            for (int j = 0; j < vl.length; j++) {
                String p = VISION + "encoder.layers." + j + ".";
                String a = p + "self_attn.";
                vl[j] = new VisionLayer(
                        f32(p + "layer_norm1.weight", d), f32(p + "layer_norm1.bias", d),
                        matrix(d, part(a + "q_proj.weight", d), part(a + "k_proj.weight", d), part(a + "v_proj.weight", d)),
                        bf16Vector(part(a + "q_proj.bias", d), part(a + "k_proj.bias", d), part(a + "v_proj.bias", d)),
                        matrix(d, part(a + "out_proj.weight", d)), bf16Vector(part(a + "out_proj.bias", d)),
                        f32(p + "layer_norm2.weight", d), f32(p + "layer_norm2.bias", d),
                        matrix(d, part(p + "mlp.fc1.weight", v.intermediateSize())), bf16Vector(part(p + "mlp.fc1.bias", v.intermediateSize())),
                        matrix(v.intermediateSize(), part(p + "mlp.fc2.weight", d)), bf16Vector(part(p + "mlp.fc2.bias", d)));
            }
            long postW = f32(VISION + "post_layernorm.weight", d), postB = f32(VISION + "post_layernorm.bias", d);
            int in = config.projectorInputSize(), ph = config.projectorHiddenSize();
            boolean ln = config.projectorUseLayerNorm(), bias = config.projectorBias();
            vision = new Vision(patch, patchBias, table, vl, postW, postB,
                    ln ? f32(PROJECTOR + "layer_norm.weight", in) : 0, ln ? f32(PROJECTOR + "layer_norm.bias", in) : 0,
                    matrix(in, part(PROJECTOR + "linear_1.weight", ph)), bias ? f32(PROJECTOR + "linear_1.bias", ph) : 0,
                    matrix(ph, part(PROJECTOR + "linear_2.weight", t.hiddenSize())), bias ? f32(PROJECTOR + "linear_2.bias", t.hiddenSize()) : 0);
        }

        /** HF Lfm2RotaryEmbedding.inv_freq in fp32, as the CPU reference computes it. */
        static float[] invFreq(int headDim, double theta) {
            float[] f = new float[headDim / 2];
            float base = (float) theta;
            for (int j = 0; j < f.length; j++) f[j] = 1f / (float) Math.pow(base, (float) (2 * j) / (float) headDim);
            return f;
        }

        record Part(String name, int rows) {}

        static Part part(String name, int rows) { return new Part(name, rows); }

        /** The parts' [rows_i, cols] matrices stacked along rows, as one bf16 matrix. */
        DeviceMatrix matrix(int cols, Part... parts) {
            int rows = 0;
            for (Part p : parts) rows += p.rows();
            long at = take(2L * rows * cols);
            long offset = 0;
            for (Part p : parts) {
                Tensor t = checked(p.name(), p.rows(), cols);
                if (memory != null) uploadBf16(t, at + offset);
                offset += 2L * p.rows() * cols;
            }
            return new DeviceMatrix(at, rows, cols);
        }

        /** Vectors concatenated, as bf16. */
        long bf16Vector(Part... parts) {
            int n = 0;
            for (Part p : parts) n += p.rows();
            long at = take(2L * n);
            if (memory == null) return at;
            short[] all = new short[n];
            int o = 0;
            for (Part p : parts) {
                float[] v = checked(p.name(), p.rows()).toFloats();
                for (float x : v) all[o++] = FloatFormats.floatToBf16(x);
            }
            try (ShortPointer host = new ShortPointer(all)) {
                copy(at, host, 2L * n);
            }
            return at;
        }

        /** One tensor of the given shape, widened to fp32. */
        long f32(String name, long... shape) {
            Tensor t = checked(name, shape);
            long at = take(4L * t.numElements());
            if (memory != null) {
                try (FloatPointer host = new FloatPointer(t.toFloats())) {
                    copy(at, host, 4L * t.numElements());
                }
            }
            return at;
        }

        long values(float[] v) {
            long at = take(4L * v.length);
            if (memory != null) {
                try (FloatPointer host = new FloatPointer(v)) {
                    copy(at, host, 4L * v.length);
                }
            }
            return at;
        }

        private long take(long n) {
            if (memory != null) return memory.take(n);
            long at = DeviceMemory.align(bytes);
            bytes = at + n;
            return at;
        }

        private Tensor checked(String name, long... shape) {
            return store.require(name, shape);
        }

        /** Streams a tensor to the device as bf16: bf16 bytes straight from the mapped file, others rounded in chunks. */
        private void uploadBf16(Tensor t, long dst) {
            long n = t.numElements();
            int width = t.dtype().bytes();
            long chunk = CHUNK_BYTES / width;
            for (long first = 0; first < n; first += chunk) {
                int count = (int) Math.min(chunk, n - first);
                ByteBuffer raw = t.rawBytes(first * width, count * width).order(ByteOrder.LITTLE_ENDIAN);
                if (t.dtype() == DType.BF16) {
                    copy(dst + 2 * first, new BytePointer(raw), 2L * count);
                    continue;
                }
                short[] bf = new short[count];
                for (int i = 0; i < count; i++) {
                    float x = t.dtype() == DType.F32 ? raw.getFloat(4 * i) : FloatFormats.f16ToFloat(raw.getShort(2 * i));
                    bf[i] = FloatFormats.floatToBf16(x);
                }
                try (ShortPointer host = new ShortPointer(bf)) {
                    copy(dst + 2 * first, host, 2L * count);
                }
            }
        }

        private static void copy(long dst, org.bytedeco.javacpp.Pointer host, long bytes) {
            Cuda.check(cudaMemcpy(Cuda.at(dst), host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy(weights, " + bytes + " bytes)");
        }
    }
}
