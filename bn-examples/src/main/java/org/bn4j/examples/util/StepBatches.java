package org.bn4j.examples.util;

import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Supplier;

import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * A step-based run as epochs for {@link Trainer}: {@code steps} batches from a supplier (random batches, or the same
 * full batch every step), cut into "epochs" of {@code perEpoch} batches (the last may be shorter) so that the
 * trainer evaluates every {@code perEpoch} steps. {@link #reset()} starts the next epoch.
 */
public final class StepBatches implements DataSetIterator {

    private final Supplier<DataSet> batches;
    private final int steps;
    private final int perEpoch;
    private int given;
    private int epochEnd;

    public StepBatches(Supplier<DataSet> batches, int steps, int perEpoch) {
        if (steps < 1 || perEpoch < 1) {
            throw new IllegalArgumentException("steps and steps per epoch must be positive: " + steps + ", " + perEpoch);
        }
        this.batches = batches;
        this.steps = steps;
        this.perEpoch = perEpoch;
    }

    /** Epochs the run takes. */
    public int epochs() {
        return (steps + perEpoch - 1) / perEpoch;
    }

    @Override
    public boolean hasNext() {
        return given < epochEnd;
    }

    @Override
    public DataSet next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        given++;
        return batches.get();
    }

    @Override
    public DataSet next(int num) {
        return next();
    }

    @Override
    public void reset() {
        epochEnd = Math.min(steps, given + perEpoch);
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
    public int inputColumns() {
        return -1;
    }

    @Override
    public int totalOutcomes() {
        return -1;
    }

    @Override
    public int batch() {
        return -1;
    }

    @Override
    public void setPreProcessor(DataSetPreProcessor preProcessor) {
        throw new UnsupportedOperationException("StepBatches has no preprocessor");
    }

    @Override
    public DataSetPreProcessor getPreProcessor() {
        return null;
    }

    @Override
    public List<String> getLabels() {
        return null;
    }
}
