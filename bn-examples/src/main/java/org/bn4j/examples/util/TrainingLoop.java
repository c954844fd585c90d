package org.bn4j.examples.util;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * A small epoch-based training loop for a {@link MultiLayerNetwork}: one {@code fit} per minibatch,
 * a progress bar with ETA (me.tongfei progressbar, on stderr), the training loss of every step and
 * per-epoch metrics written to {@link MetricsLog}s, and evaluation before training (epoch 0) and
 * after each epoch in inference mode.
 *
 * <p>Step CSV columns: {@code run, epoch, step, train_loss} (the loss DL4J reports for the minibatch
 * just fitted, computed in training mode before the update). Epoch CSV columns: {@link #EPOCH_COLUMNS}.
 * A non-finite training loss stops the run and marks it diverged.
 */
public final class TrainingLoop {

    public static final String[] STEP_COLUMNS = {"run", "epoch", "step", "train_loss"};
    public static final String[] EPOCH_COLUMNS = {"run", "epoch", "step", "seconds", "train_loss_mean",
            "train_eval_loss", "train_eval_acc", "test_loss", "test_acc"};

    /** Metrics after one epoch (epoch 0: before training). */
    public record Epoch(int epoch, long step, double seconds, double trainLossMean, double trainEvalLoss,
                        double trainEvalAcc, double testLoss, double testAcc) {
    }

    /** Result of a run. */
    public record Result(String run, List<Epoch> epochs, boolean diverged, double trainSeconds) {
        public Epoch last() {
            return epochs.get(epochs.size() - 1);
        }

        public double bestTestAcc() {
            return epochs.stream().mapToDouble(Epoch::testAcc).filter(d -> !Double.isNaN(d)).max().orElse(Double.NaN);
        }
    }

    /** Called after every step (for probes); may be null. */
    @FunctionalInterface
    public interface StepHook {
        void afterStep(long step, MultiLayerNetwork net, DataSet batch);
    }

    private final String run;
    private final MultiLayerNetwork net;
    private final DataSetIterator train;
    private final int batchesPerEpoch;
    private final DataSet trainEval;
    private final DataSet test;
    private boolean progress = true;
    private PrintStream log = System.out;
    private MetricsLog stepLog;
    private MetricsLog epochLog;
    private StepHook hook;
    private int evalBatch = 2000;

    /**
     * @param run             name of the run (first CSV column, progress-bar label)
     * @param train           training minibatches; {@code reset()} is called before every epoch
     * @param batchesPerEpoch number of batches one pass of {@code train} yields (for the ETA)
     * @param trainEval       training examples evaluated after each epoch (may be null)
     * @param test            test set evaluated after each epoch
     */
    public TrainingLoop(String run, MultiLayerNetwork net, DataSetIterator train, int batchesPerEpoch,
                        DataSet trainEval, DataSet test) {
        this.run = run;
        this.net = net;
        this.train = train;
        this.batchesPerEpoch = batchesPerEpoch;
        this.trainEval = trainEval;
        this.test = test;
    }

    public TrainingLoop progress(boolean on) {
        this.progress = on;
        return this;
    }

    public TrainingLoop log(PrintStream out) {
        this.log = out;
        return this;
    }

    public TrainingLoop stepLog(MetricsLog m) {
        this.stepLog = m;
        return this;
    }

    public TrainingLoop epochLog(MetricsLog m) {
        this.epochLog = m;
        return this;
    }

    public TrainingLoop hook(StepHook h) {
        this.hook = h;
        return this;
    }

    /** Trains for {@code epochs} epochs. */
    public Result run(int epochs) {
        List<Epoch> out = new ArrayList<>();
        long start = System.nanoTime();
        double trainSeconds = 0;
        out.add(record(0, 0, 0, Double.NaN));
        long step = 0;
        boolean diverged = false;
        ProgressBar pb = progress ? new ProgressBarBuilder()
                .setTaskName(String.format("%-10s", run))
                .setInitialMax((long) epochs * batchesPerEpoch)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250)
                .setConsumer(new ConsoleProgressBarConsumer(System.err, 110))
                .build() : null;
        try {
            for (int e = 1; e <= epochs && !diverged; e++) {
                train.reset();
                double lossSum = 0;
                int n = 0;
                long t0 = System.nanoTime();
                while (train.hasNext()) {
                    DataSet b = train.next();
                    net.fit(b);
                    double loss = net.score();
                    step++;
                    if (stepLog != null) {
                        stepLog.add(run, e, step, loss);
                    }
                    if (hook != null) {
                        hook.afterStep(step, net, b);
                    }
                    if (!Double.isFinite(loss)) {
                        diverged = true;
                        break;
                    }
                    lossSum += loss;
                    n++;
                    if (pb != null) {
                        pb.step();
                        pb.setExtraMessage(String.format(Locale.ROOT, "epoch %d/%d loss %.3f", e, epochs, lossSum / n));
                    }
                }
                trainSeconds += (System.nanoTime() - t0) / 1e9;
                Epoch m = record(e, step, trainSeconds, diverged ? Double.NaN : lossSum / Math.max(1, n));
                out.add(m);
                if (pb == null) {
                    log.printf(Locale.ROOT, "  %s epoch %d/%d: train loss %.4f, test acc %.4f (%.1f s)%n",
                            run, e, epochs, m.trainLossMean(), m.testAcc(), trainSeconds);
                }
            }
        } finally {
            if (pb != null) {
                pb.close();
            }
        }
        if (diverged) {
            log.println("  " + run + ": training loss became non-finite at step " + step + "; stopped (diverged).");
        }
        return new Result(run, out, diverged, trainSeconds);
    }

    private Epoch record(int epoch, long step, double seconds, double trainLossMean) {
        double[] tr = trainEval == null ? new double[] {Double.NaN, Double.NaN} : evaluate(net, trainEval, evalBatch);
        double[] te = evaluate(net, test, evalBatch);
        Epoch m = new Epoch(epoch, step, seconds, trainLossMean, tr[0], tr[1], te[0], te[1]);
        if (epochLog != null) {
            epochLog.add(run, epoch, step, seconds, trainLossMean, tr[0], tr[1], te[0], te[1]);
        }
        return m;
    }

    /**
     * Loss and accuracy of {@code net} on {@code data} in inference mode (running statistics for
     * batch norm), in chunks of {@code chunk} examples. Returns {loss, accuracy}.
     */
    public static double[] evaluate(MultiLayerNetwork net, DataSet data, int chunk) {
        int n = data.numExamples();
        double lossSum = 0;
        long correct = 0;
        for (int s = 0; s < n; s += chunk) {
            int e = Math.min(n, s + chunk);
            DataSet part = n <= chunk ? data : (DataSet) data.getRange(s, e);
            INDArray out = net.output(part.getFeatures(), false);
            long[] pred = out.argMax(1).toLongVector();
            long[] truth = part.getLabels().argMax(1).toLongVector();
            for (int i = 0; i < pred.length; i++) {
                if (pred[i] == truth[i]) {
                    correct++;
                }
            }
            // score(DataSet, training=false): mean loss over the chunk (plus any L1/L2 terms; none in these examples)
            lossSum += net.score(part, false) * (e - s);
        }
        return new double[] {lossSum / n, (double) correct / n};
    }
}
