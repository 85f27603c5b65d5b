package io.lfmcap.cpu;

/**
 * Rows {@code [firstRow, firstRow + rows)} of one decoder pass that belong to one sequence, at positions
 * {@code sequence.position() + i}. A prefill is one segment of many rows; a batched decode step is one
 * single-row segment per sequence.
 */
record Segment(CpuSequence sequence, int firstRow, int rows) {}
