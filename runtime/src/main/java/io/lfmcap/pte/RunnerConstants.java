package io.lfmcap.pte;

import java.util.List;

/**
 * The values of an exported program's constant methods: what ExecuTorch's LLM runner reads
 * ({@code extension/llm/runner/constants.h}, docs/pte-format.md section 4) plus the model identity.
 *
 * @param maxSeqLen          {@code get_max_seq_len}: longest sequence (prompt + generated) the methods accept
 * @param maxContextLen      {@code get_max_context_len}
 * @param vocabSize          {@code get_vocab_size}
 * @param bosId              {@code get_bos_id}
 * @param eosIds             {@code get_eos_ids}
 * @param useKvCache         {@code use_kv_cache}
 * @param enableDynamicShape {@code enable_dynamic_shape}: inputs may be shorter than their declared bounds
 * @param family             {@code get_model_family}, e.g. LFM2.5-VL
 * @param variant            {@code get_model_variant}, e.g. 450M
 */
public record RunnerConstants(long maxSeqLen, long maxContextLen, long vocabSize, long bosId, List<Long> eosIds,
                              boolean useKvCache, boolean enableDynamicShape, String family, String variant) {
    public RunnerConstants {
        eosIds = List.copyOf(eosIds);
    }
}
