package io.lfmcap.model;

/** Element types a weight tensor may be stored in (safetensors names; ExecuTorch ScalarType codes). */
public enum DType {
    F32(4, "F32", 6),
    F16(2, "F16", 5),
    BF16(2, "BF16", 15);

    private final int bytes;
    private final String safetensorsName;
    private final int executorchScalarType;

    DType(int bytes, String safetensorsName, int executorchScalarType) {
        this.bytes = bytes;
        this.safetensorsName = safetensorsName;
        this.executorchScalarType = executorchScalarType;
    }

    public int bytes() { return bytes; }

    public String safetensorsName() { return safetensorsName; }

    public int executorchScalarType() { return executorchScalarType; }

    public static DType fromSafetensors(String name) {
        for (DType t : values()) if (t.safetensorsName.equals(name)) return t;
        throw new IllegalArgumentException("unsupported tensor dtype '" + name + "' (supported: F32, F16, BF16)");
    }

    public static DType fromExecutorch(int scalarType) {
        for (DType t : values()) if (t.executorchScalarType == scalarType) return t;
        throw new IllegalArgumentException("unsupported ExecuTorch scalar type " + scalarType + " (supported: FLOAT, HALF, BFLOAT16)");
    }
}
