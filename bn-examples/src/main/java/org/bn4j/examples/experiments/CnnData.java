package org.bn4j.examples.experiments;

import java.util.Random;
import java.util.function.Supplier;

import org.bn4j.examples.data.FashionMnist;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fashion-MNIST as the CNN experiments use it: [N,1,S,S] images, S = 28, or S = 14 (each 2×2 block averaged, then
 * standardized again with the mean and std of the averaged training images, so the inputs are standardized either
 * way); random training batches drawn with replacement between batches (each batch has distinct images), a fixed
 * training subset and a test subset for evaluations during training, and the whole test set.
 */
public final class CnnData {

    private final INDArray trainX;
    private final INDArray trainY;
    private final INDArray testX;
    private final INDArray testY;
    private final int side;
    private final String describe;

    public CnnData(FashionMnist data, int side) {
        if (side != 28 && side != 14) {
            throw new IllegalArgumentException("image side must be 28 or 14 (2x2 average), got " + side);
        }
        this.side = side;
        DataSet tr = data.train().all(FashionMnist.Shape.IMAGE);
        DataSet te = data.test().all(FashionMnist.Shape.IMAGE);
        if (side == 14) {
            INDArray x = pool(tr.getFeatures());
            double m = x.meanNumber().doubleValue();
            double s = x.stdNumber().doubleValue();
            trainX = x.subi(m).divi(s);
            testX = pool(te.getFeatures()).subi(m).divi(s);
            describe = String.format(java.util.Locale.ROOT, "14×14 (2×2 averages of the 28×28 images, re-standardized "
                    + "with the averaged training set's mean %.4f and std %.4f)", m, s);
        } else {
            trainX = tr.getFeatures();
            testX = te.getFeatures();
            describe = "28×28";
        }
        trainY = tr.getLabels();
        testY = te.getLabels();
    }

    private static INDArray pool(INDArray x) {
        long n = x.size(0);
        return x.reshape('c', n, 1, 14, 2, 14, 2).mean(3, 5).reshape('c', n, 1, 14, 14).castTo(DataType.FLOAT);
    }

    public int side() {
        return side;
    }

    public String describe() {
        return describe;
    }

    public int trainSize() {
        return (int) trainX.size(0);
    }

    public int testSize() {
        return (int) testX.size(0);
    }

    /** The examples with these indices of the training set. */
    public DataSet train(int[] idx) {
        return rows(trainX, trainY, idx);
    }

    private DataSet rows(INDArray x, INDArray y, int[] idx) {
        long n = x.size(0);
        INDArray flat = x.reshape('c', n, side * side);
        INDArray fx = Nd4j.pullRows(flat, 1, idx).reshape('c', idx.length, 1, side, side);
        INDArray fy = Nd4j.pullRows(y, 1, idx);
        return new DataSet(fx, fy);
    }

    /** Batches of {@code size} distinct training images drawn uniformly at random, from a generator seeded once. */
    public Supplier<DataSet> randomBatches(int size, long seed) {
        Random rng = new Random(seed);
        int n = trainSize();
        if (size > n) {
            throw new IllegalArgumentException("batch " + size + " larger than the training set " + n);
        }
        return () -> {
            int[] idx = new int[size];
            java.util.Set<Integer> seen = new java.util.HashSet<>();
            for (int k = 0; k < size; k++) {
                int i;
                do {
                    i = rng.nextInt(n);
                } while (!seen.add(i));
                idx[k] = i;
            }
            return train(idx);
        };
    }

    /** The first {@code n} training images (evaluated during training). */
    public DataSet trainHead(int n) {
        return train(range(Math.min(n, trainSize())));
    }

    /** The first {@code n} test images. */
    public DataSet testHead(int n) {
        return rows(testX, testY, range(Math.min(n, testSize())));
    }

    /** The whole test set. */
    public DataSet test() {
        return new DataSet(testX, testY);
    }

    private static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }
}
