package org.transfer4j.head.train;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A row-major matrix inside an ND4J buffer, and the product of two such matrices computed by OpenBLAS's
 * {@code cblas_sgemm}/{@code cblas_dgemm} directly, the same library function {@code Nd4j.gemm} ends in.
 *
 * <p>Why not {@code Nd4j.gemm}: each call goes through libnd4j's {@code matmul} op first (an op object, shape
 * buffers, checks, dispatch). On a 2048→512→10 head at batch 64 that added 12–40 µs to each of the three small
 * products and 0–0.25 ms to the two large ones (CPU time, medians, BENCHMARKS.md 2026-12-02). Called with the same
 * operands, transpositions and leading dimensions, the results are bit-identical.
 *
 * <p>The pointer does not own the memory: whoever makes one keeps the INDArray it points into alive (and never
 * reallocates it) for as long as the matrix is used.
 *
 * @param data   positioned at the first element, {@link FloatPointer} or {@link DoublePointer}
 * @param stride elements from one row's start to the next's (BLAS's leading dimension), at least {@code cols}
 */
record NativeMatrix(Pointer data, int rows, int cols, int stride) {
    static {
        Nd4jBinaries.select(); // before openblas_nolapack loads OpenBLAS, which reads its kernel choice then
    }

    /** The {@code rows × cols} row-major matrix that starts {@code offset} elements into {@code flat}'s buffer. */
    static NativeMatrix in(INDArray flat, long offset, int rows, int cols) {
        if (!flat.isVector() && !flat.isMatrix() || flat.ordering() != 'c' || flat.offset() != 0
                || flat.elementWiseStride() != 1) {
            throw new IllegalArgumentException("expected a contiguous c-order array without offset, got "
                    + flat.shapeInfoToString());
        }
        if (offset < 0 || offset + (long) rows * cols > flat.length()) {
            throw new IllegalArgumentException("matrix [" + rows + "," + cols + "] at " + offset
                    + " does not fit in " + flat.length() + " values");
        }
        Pointer p = switch (flat.dataType()) {
            case FLOAT -> new FloatPointer(flat.data().addressPointer()).position(offset);
            case DOUBLE -> new DoublePointer(flat.data().addressPointer()).position(offset);
            default -> throw new IllegalArgumentException("data type " + flat.dataType()
                    + " unsupported; allowed: FLOAT, DOUBLE");
        };
        return new NativeMatrix(p, rows, cols, cols);
    }

    /** The whole of a contiguous c-order {@code [rows, cols]} array. */
    static NativeMatrix of(INDArray matrix) {
        return in(matrix, 0, (int) matrix.rows(), (int) matrix.columns());
    }

    /** Rows {@code [from, to)} of this matrix, in the same memory. */
    NativeMatrix rows(int from, int to) {
        check(from, to, rows);
        return new NativeMatrix(at((long) from * stride), to - from, cols, stride);
    }

    /** Columns {@code [from, to)} of this matrix, in the same memory (rows keep their stride). */
    NativeMatrix columns(int from, int to) {
        check(from, to, cols);
        return new NativeMatrix(at(from), rows, to - from, stride);
    }

    private static void check(int from, int to, int size) {
        if (from < 0 || from > to || to > size) {
            throw new IllegalArgumentException("range [" + from + "," + to + ") not within [0," + size + ")");
        }
    }

    private Pointer at(long elements) {
        long position = data.position() + elements;
        return data instanceof FloatPointer f ? new FloatPointer(f).position(position)
                : new DoublePointer((DoublePointer) data).position(position);
    }

    DataType dataType() {
        return data instanceof FloatPointer ? DataType.FLOAT : DataType.DOUBLE;
    }

    /** {@code c = op(a) · op(b)}, where op transposes when asked; c is overwritten. */
    static void multiply(NativeMatrix a, boolean transposeA, NativeMatrix b, boolean transposeB, NativeMatrix c) {
        int m = transposeA ? a.cols : a.rows;
        int k = transposeA ? a.rows : a.cols;
        int kb = transposeB ? b.cols : b.rows;
        int n = transposeB ? b.rows : b.cols;
        if (k != kb || c.rows != m || c.cols != n) {
            throw new IllegalArgumentException("cannot multiply [" + m + "," + k + "] by [" + kb + "," + n
                    + "] into [" + c.rows + "," + c.cols + "]");
        }
        if (a.dataType() != b.dataType() || a.dataType() != c.dataType()) {
            throw new IllegalArgumentException("operands of different types: " + a.dataType() + ", "
                    + b.dataType() + ", " + c.dataType());
        }
        int ta = transposeA ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
        int tb = transposeB ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
        if (c.data instanceof FloatPointer cf) {
            openblas_nolapack.cblas_sgemm(openblas_nolapack.CblasRowMajor, ta, tb, m, n, k, 1f,
                    (FloatPointer) a.data, a.stride, (FloatPointer) b.data, b.stride, 0f, cf, c.stride);
        } else {
            openblas_nolapack.cblas_dgemm(openblas_nolapack.CblasRowMajor, ta, tb, m, n, k, 1.0,
                    (DoublePointer) a.data, a.stride, (DoublePointer) b.data, b.stride, 0.0, (DoublePointer) c.data,
                    c.stride);
        }
    }
}
