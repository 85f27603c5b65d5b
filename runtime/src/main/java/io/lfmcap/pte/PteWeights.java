package io.lfmcap.pte;

import io.lfmcap.model.MappedTensor;
import io.lfmcap.model.ModelFileException;
import io.lfmcap.model.WeightStore;
import java.util.Collections;
import java.util.Map;
import java.util.Set;

/**
 * The weights of an exported model: views over the mapped {@code .pte} or {@code .ptd}, by Hugging
 * Face name. Closing it closes (unmaps) the files it reads from.
 */
final class PteWeights implements WeightStore {
    private final Map<String, MappedTensor> tensors;
    private final String source;
    private final AutoCloseable[] files;

    PteWeights(Map<String, MappedTensor> tensors, String source, AutoCloseable... files) {
        this.tensors = Collections.unmodifiableMap(tensors);
        this.source = source;
        this.files = files;
    }

    @Override
    public Set<String> names() { return tensors.keySet(); }

    @Override
    public MappedTensor get(String name) {
        MappedTensor t = tensors.get(name);
        if (t == null) throw new ModelFileException(source + " has no weight '" + name + "'");
        return t;
    }

    @Override
    public String source() { return source; }

    @Override
    public void close() {
        RuntimeException first = null;
        for (AutoCloseable f : files) {
            if (f == null) continue;
            try {
                f.close();
            } catch (Exception e) {
                if (first == null) first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }
}
