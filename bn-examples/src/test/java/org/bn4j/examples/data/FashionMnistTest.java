package org.bn4j.examples.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

class FashionMnistTest {

    static FashionMnist subset;

    @BeforeAll
    static void load() throws IOException {
        subset = FashionMnist.bundledSubset();
    }

    @Test
    void subsetIsBalanced6000And1000() {
        assertTrue(subset.isSubset());
        assertEquals(6000, subset.train().size());
        assertEquals(1000, subset.test().size());
        for (int c : subset.train().classCounts()) {
            assertEquals(600, c);
        }
        for (int c : subset.test().classCounts()) {
            assertEquals(100, c);
        }
    }

    @Test
    void subsetMatchesFullSetWhenInstalled() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(FashionMnist.hasFiles(FashionMnist.SYSTEM_DIR), "full set not installed");
        FashionMnist full = FashionMnist.fromDirectory(FashionMnist.SYSTEM_DIR);
        assertEquals(60000, full.train().size());
        assertEquals(10000, full.test().size());
        // the subset's first image is the full set's first image (class 9, ankle boot), bytes identical
        byte[] a = java.util.Arrays.copyOf(full.train().rawPixels(), FashionMnist.PIXELS);
        byte[] b = java.util.Arrays.copyOf(subset.train().rawPixels(), FashionMnist.PIXELS);
        assertArrayEquals(a, b);
        assertEquals(full.train().label(0), subset.train().label(0));
        // the well-known statistics of the full training set
        assertEquals(0.2860, full.mean(), 5e-4);
        assertEquals(0.3530, full.std(), 5e-4);
    }

    @Test
    void shapesLabelsAndStandardization() {
        DataSet tr = subset.train().all(FashionMnist.Shape.FLAT);
        assertArrayEquals(new long[] {6000, 784}, tr.getFeatures().shape());
        assertArrayEquals(new long[] {6000, 10}, tr.getLabels().shape());
        // one-hot rows that agree with the raw labels
        assertEquals(6000.0, tr.getLabels().sumNumber().doubleValue(), 0);
        assertEquals(1.0, tr.getLabels().max(1).minNumber().doubleValue(), 0);
        long[] arg = tr.getLabels().argMax(1).toLongVector();
        for (int i = 0; i < 6000; i += 97) {
            assertEquals(subset.train().label(i), arg[i]);
        }
        // standardized with the training set's scalar statistics: mean 0, std 1 over all training pixels
        INDArray x = tr.getFeatures().castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE);
        assertEquals(0.0, x.meanNumber().doubleValue(), 1e-4);
        assertEquals(1.0, x.stdNumber().doubleValue(), 1e-3);
        // pixel 0 maps to -mean/std, pixel 255 to (1-mean)/std
        double lo = -subset.mean() / subset.std();
        double hi = (1 - subset.mean()) / subset.std();
        assertEquals(lo, x.minNumber().doubleValue(), 1e-5);
        assertEquals(hi, x.maxNumber().doubleValue(), 1e-5);
        assertTrue(subset.mean() > 0.2 && subset.mean() < 0.4, "mean " + subset.mean());
        // the test set uses the training statistics (so its mean is near, not exactly, 0)
        DataSet te = subset.test().all(FashionMnist.Shape.IMAGE);
        assertArrayEquals(new long[] {1000, 1, 28, 28}, te.getFeatures().shape());
        double teMean = te.getFeatures().meanNumber().doubleValue();
        assertTrue(Math.abs(teMean) < 0.1, "test mean " + teMean);
        assertNotEquals(0.0, teMean, 1e-6);
    }

    @Test
    void syntheticStandardization() {
        // train pixels: half 0, half 255 -> mean 0.5, std 0.5; test pixel 51 -> (0.2 - 0.5) / 0.5 = -0.6
        byte[] px = new byte[2 * 784];
        java.util.Arrays.fill(px, 784, 2 * 784, (byte) 255);
        byte[] tpx = new byte[784];
        java.util.Arrays.fill(tpx, (byte) 51);
        FashionMnist d = FashionMnist.of(new Idx.Array(new int[] {2, 28, 28}, px), new Idx.Array(new int[] {2}, new byte[] {1, 7}),
                new Idx.Array(new int[] {1, 28, 28}, tpx), new Idx.Array(new int[] {1}, new byte[] {3}), "synthetic", false);
        assertEquals(0.5, d.mean(), 1e-7);
        assertEquals(0.5, d.std(), 1e-7);
        DataSet te = d.test().all(FashionMnist.Shape.FLAT);
        assertEquals(-0.6, te.getFeatures().getDouble(0, 100), 1e-6);
        assertEquals(1.0, te.getLabels().getDouble(0, 3), 0);
        DataSet tr = d.train().all(FashionMnist.Shape.FLAT);
        assertEquals(-1.0, tr.getFeatures().getDouble(0, 0), 1e-6);
        assertEquals(1.0, tr.getFeatures().getDouble(1, 783), 1e-6);
    }

    @Test
    void shuffledBatchesAreSeededAndCoverEachExampleOncePerEpoch() {
        ShuffledBatchIterator a = subset.test().iterator(128, 7, FashionMnist.Shape.FLAT, true);
        ShuffledBatchIterator b = subset.test().iterator(128, 7, FashionMnist.Shape.FLAT, true);
        assertEquals(7, a.batchesPerEpoch()); // 1000 / 128, the incomplete last batch is dropped
        List<INDArray> epoch1 = new ArrayList<>();
        while (a.hasNext()) {
            DataSet x = a.next();
            DataSet y = b.next();
            assertEquals(128, x.numExamples());
            assertEquals(x.getFeatures(), y.getFeatures());
            epoch1.add(x.getFeatures());
        }
        assertFalse(b.hasNext());
        // distinct rows within the epoch (no example twice): compare row sums as fingerprints
        INDArray all = Nd4j.vstack(epoch1.toArray(new INDArray[0]));
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < all.rows(); i++) {
            seen.add(Double.doubleToLongBits(all.getRow(i).sumNumber().doubleValue()) ^ (long) all.getRow(i).getDouble(400) * 31);
        }
        assertTrue(seen.size() > 890, "rows in an epoch should be distinct examples: " + seen.size());
        a.reset();
        assertNotEquals(epoch1.get(0), a.next().getFeatures(), "reset() reshuffles");
        ShuffledBatchIterator c = subset.test().iterator(128, 8, FashionMnist.Shape.FLAT, false);
        assertEquals(8, c.batchesPerEpoch());
        assertNotEquals(epoch1.get(0), c.next().getFeatures(), "another seed, another order");

        DataSet r = subset.train().randomBatch(new Random(3), 64, FashionMnist.Shape.IMAGE);
        assertArrayEquals(new long[] {64, 1, 28, 28}, r.getFeatures().shape());
        assertEquals(r.getFeatures(), subset.train().randomBatch(new Random(3), 64, FashionMnist.Shape.IMAGE).getFeatures());
    }

    @Test
    void fallsBackToTheSubsetWithAnInstallHint(@org.junit.jupiter.api.io.TempDir java.nio.file.Path empty) throws IOException {
        List<String> msgs = new ArrayList<>();
        FashionMnist d = FashionMnist.load(null, msgs::add, empty);
        assertTrue(d.isSubset());
        assertEquals(6000, d.train().size());
        assertEquals(1, msgs.size());
        String m = msgs.get(0);
        assertTrue(m.contains("bundled subset") && m.contains("apt-get install -y dataset-fashion-mnist") && m.contains("--data"), m);
    }

    @Test
    void limitKeepsTheFirstImagesAndRecomputesStatistics() {
        FashionMnist small = subset.limit(100, 50);
        assertEquals(100, small.train().size());
        assertEquals(50, small.test().size());
        assertEquals(subset.train().label(99), small.train().label(99));
        assertNotEquals(subset.mean(), small.mean());
    }
}
