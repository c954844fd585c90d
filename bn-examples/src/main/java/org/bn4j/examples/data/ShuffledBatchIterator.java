package org.bn4j.examples.data;

import java.util.List;
import java.util.NoSuchElementException;
import java.util.Random;

import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * Minibatches of a {@link FashionMnist.Split} in a random order that is reshuffled on every
 * {@link #reset()}; the generator is seeded once, so a run's whole batch sequence is reproducible.
 */
public final class ShuffledBatchIterator implements DataSetIterator {

    private final FashionMnist.Split split;
    private final int batchSize;
    private final Random rng;
    private final FashionMnist.Shape shape;
    private final boolean dropLast;
    private final int[] order;
    private int cursor;
    private DataSetPreProcessor preProcessor;

    public ShuffledBatchIterator(FashionMnist.Split split, int batchSize, Random rng, FashionMnist.Shape shape, boolean dropLast) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be positive: " + batchSize);
        }
        if (dropLast && batchSize > split.size()) {
            throw new IllegalArgumentException("batch size " + batchSize + " exceeds the " + split.name()
                    + " set (" + split.size() + ") and the incomplete batch would be dropped");
        }
        this.split = split;
        this.batchSize = batchSize;
        this.rng = rng;
        this.shape = shape;
        this.dropLast = dropLast;
        this.order = new int[split.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        shuffle();
    }

    private void shuffle() {
        for (int i = order.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        cursor = 0;
    }

    /** Number of batches per epoch. */
    public int batchesPerEpoch() {
        return dropLast ? order.length / batchSize : (order.length + batchSize - 1) / batchSize;
    }

    @Override
    public boolean hasNext() {
        int left = order.length - cursor;
        return dropLast ? left >= batchSize : left > 0;
    }

    @Override
    public DataSet next() {
        return next(batchSize);
    }

    @Override
    public DataSet next(int num) {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        int n = Math.min(num, order.length - cursor);
        int[] idx = new int[n];
        System.arraycopy(order, cursor, idx, 0, n);
        cursor += n;
        DataSet ds = split.batch(idx, shape);
        if (preProcessor != null) {
            preProcessor.preProcess(ds);
        }
        return ds;
    }

    @Override
    public int inputColumns() {
        return FashionMnist.PIXELS;
    }

    @Override
    public int totalOutcomes() {
        return FashionMnist.CLASSES;
    }

    @Override
    public boolean resetSupported() {
        return true;
    }

    @Override
    public boolean asyncSupported() {
        return false;
    }

    @Override
    public void reset() {
        shuffle();
    }

    @Override
    public int batch() {
        return batchSize;
    }

    @Override
    public void setPreProcessor(DataSetPreProcessor preProcessor) {
        this.preProcessor = preProcessor;
    }

    @Override
    public DataSetPreProcessor getPreProcessor() {
        return preProcessor;
    }

    @Override
    public List<String> getLabels() {
        return FashionMnist.CLASS_NAMES;
    }
}
