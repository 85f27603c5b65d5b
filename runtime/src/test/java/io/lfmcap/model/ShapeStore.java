package io.lfmcap.model;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** A weight store of shapes only (no data), for schema checks. */
final class ShapeStore implements WeightStore {
    private final Map<String, long[]> shapes;

    ShapeStore(Map<String, long[]> shapes) {
        this.shapes = new LinkedHashMap<>(shapes);
    }

    ShapeStore put(String name, long... shape) {
        shapes.put(name, shape);
        return this;
    }

    ShapeStore remove(String name) {
        shapes.remove(name);
        return this;
    }

    @Override
    public Set<String> names() { return shapes.keySet(); }

    @Override
    public Tensor get(String name) {
        long[] shape = shapes.get(name);
        if (shape == null) throw new IllegalArgumentException("no tensor " + name);
        return new Tensor() {
            @Override public String name() { return name; }
            @Override public DType dtype() { return DType.BF16; }
            @Override public long[] shape() { return shape.clone(); }
            @Override public float[] toFloats() { throw new UnsupportedOperationException("shapes only"); }
            @Override public ByteBuffer rawBytes(long offset, int length) { throw new UnsupportedOperationException("shapes only"); }
        };
    }

    @Override
    public String source() { return "test-store"; }

    @Override
    public void close() {}
}
