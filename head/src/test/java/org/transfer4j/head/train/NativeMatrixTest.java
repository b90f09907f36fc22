package org.transfer4j.head.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class NativeMatrixTest {
    static {
        Nd4jBinaries.select();
    }

    /**
     * HeadNetwork's five products, each against Nd4j.gemm (what the network called before): bit-identical, so that
     * training results did not change. Odd sizes, so that OpenBLAS's edge kernels run too.
     */
    @Test
    void productsAreBitIdenticalToNd4jGemm() {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            Nd4j.getRandom().setSeed(7);
            int b = 37;
            int d = 131;
            int h = 45;
            int k = 7;
            INDArray x = Nd4j.randn(type, b, d);
            INDArray hidden = Nd4j.randn(type, b, h);
            INDArray dz = Nd4j.randn(type, b, k);
            INDArray dh = Nd4j.randn(type, b, h);
            // w1 and w2 inside one flat vector at an offset, as the network's parameters are.
            INDArray flat = Nd4j.randn(type, 1, 3 + (long) d * h + (long) h * k);
            INDArray w1 = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(3, 3 + d * h)).reshape(d, h).dup();
            INDArray w2 = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(3 + d * h, 3 + d * h + h * k))
                    .reshape(h, k).dup();
            NativeMatrix w1m = NativeMatrix.in(flat, 3, d, h);
            NativeMatrix w2m = NativeMatrix.in(flat, 3 + (long) d * h, h, k);

            same(Nd4j.gemm(x, w1, Nd4j.create(type, b, h), false, false, 1, 0),
                    NativeMatrix.of(x), false, w1m, false, type, b, h);
            same(Nd4j.gemm(hidden, w2, Nd4j.create(type, b, k), false, false, 1, 0),
                    NativeMatrix.of(hidden), false, w2m, false, type, b, k);
            same(Nd4j.gemm(hidden, dz, Nd4j.create(type, h, k), true, false, 1, 0),
                    NativeMatrix.of(hidden), true, NativeMatrix.of(dz), false, type, h, k);
            same(Nd4j.gemm(dz, w2, Nd4j.create(type, b, h), false, true, 1, 0),
                    NativeMatrix.of(dz), false, w2m, true, type, b, h);
            same(Nd4j.gemm(x, dh, Nd4j.create(type, d, h), true, false, 1, 0),
                    NativeMatrix.of(x), true, NativeMatrix.of(dh), false, type, d, h);
        }
    }

    /** Row and column views multiply like the blocks they are (how the network splits w1's gradient in two). */
    @Test
    void rowAndColumnViewsMultiplyAsTheirBlocks() {
        Nd4j.getRandom().setSeed(9);
        int b = 33;
        int d = 70;
        int h = 21;
        INDArray x = Nd4j.randn(DataType.FLOAT, b, d);
        INDArray dh = Nd4j.randn(DataType.FLOAT, b, h);
        INDArray whole = Nd4j.create(DataType.FLOAT, d, h);
        NativeMatrix.multiply(NativeMatrix.of(x), true, NativeMatrix.of(dh), false, NativeMatrix.of(whole));
        INDArray halves = Nd4j.valueArrayOf(new long[] {d, h}, 42.0, DataType.FLOAT);
        NativeMatrix out = NativeMatrix.of(halves);
        int split = 29;
        NativeMatrix.multiply(NativeMatrix.of(x).columns(0, split), true, NativeMatrix.of(dh), false,
                out.rows(0, split));
        NativeMatrix.multiply(NativeMatrix.of(x).columns(split, d), true, NativeMatrix.of(dh), false,
                out.rows(split, d));
        // Equal within rounding: some OpenBLAS kernels (Haswell's) sum a block's rows in another order.
        float[] expected = whole.data().asFloat();
        float[] actual = halves.data().asFloat();
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-5f * Math.max(1f, Math.abs(expected[i])), "element " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> NativeMatrix.of(x).columns(5, d + 1));
        assertThrows(IllegalArgumentException.class, () -> NativeMatrix.of(x).rows(3, 2));
    }

    private static void same(INDArray expected, NativeMatrix a, boolean ta, NativeMatrix b, boolean tb,
                             DataType type, int rows, int cols) {
        INDArray out = Nd4j.valueArrayOf(new long[] {rows, cols}, 42.0, type); // overwritten, not accumulated
        NativeMatrix.multiply(a, ta, b, tb, NativeMatrix.of(out));
        assertArrayEquals(expected.data().asDouble(), out.data().asDouble(), 0.0);
        assertTrue(out.sumNumber().doubleValue() != 42.0 * rows * cols);
    }

    @Test
    void refusesMismatchedShapesTypesAndViews() {
        INDArray a = Nd4j.create(DataType.FLOAT, 3, 4);
        INDArray b = Nd4j.create(DataType.FLOAT, 5, 2);
        INDArray c = Nd4j.create(DataType.FLOAT, 3, 2);
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                () -> NativeMatrix.multiply(NativeMatrix.of(a), false, NativeMatrix.of(b), false, NativeMatrix.of(c)));
        assertTrue(shape.getMessage().contains("cannot multiply [3,4] by [5,2]"), shape.getMessage());
        INDArray d = Nd4j.create(DataType.DOUBLE, 4, 2);
        assertThrows(IllegalArgumentException.class,
                () -> NativeMatrix.multiply(NativeMatrix.of(a), false, NativeMatrix.of(d), false, NativeMatrix.of(c)));
        assertThrows(IllegalArgumentException.class, () -> NativeMatrix.in(a, 10, 1, 3), "past the end");
        assertThrows(IllegalArgumentException.class, () -> NativeMatrix.of(a.transpose()), "f-order view");
        assertThrows(IllegalArgumentException.class, () -> NativeMatrix.of(Nd4j.create(DataType.INT, 2, 2)));
    }
}
