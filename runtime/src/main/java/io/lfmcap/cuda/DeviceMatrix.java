package io.lfmcap.cuda;

/** A row-major bf16 matrix on the device, a Linear weight {@code [out = rows, in = cols]}. */
record DeviceMatrix(long address, int rows, int cols) {}
