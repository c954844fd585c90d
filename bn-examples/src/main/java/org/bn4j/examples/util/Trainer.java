package org.bn4j.examples.util;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import me.tongfei.progressbar.ProgressBar;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.optimize.listeners.CollectScoresListener;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * The one training loop of the experiments, on DL4J's own: one {@code net.fit(iterator)} per epoch with DL4J
 * listeners for the per-step work ({@link CollectScoresListener} for the training loss of every step, a progress bar,
 * a divergence check, and whatever listeners the caller adds, such as bn4j's {@code DiagnosticsListener}), and an
 * evaluation with DL4J's {@link Evaluation} in inference mode before training and after every epoch (so between
 * optimizer steps, never inside one). An "epoch" is one pass of the iterator: a pass over the training set, or, for
 * the step-based CNN runs, the steps between two evaluations ({@link StepBatches}).
 *
 * <p>A non-finite training loss stops the run: the iterator then reports no further batch, so DL4J ends the epoch,
 * and the run is marked diverged. So does an exception from a step when the weights are no longer finite or a bn4j
 * layer rejected non-finite activations (its batch statistics "not finite"): bn4j's layers reject non-finite input with
 * an exception, so a step that left overflowing weights ends in one on the next step. The training data are finite.
 */
public final class Trainer {

    /** An evaluation after {@code step} optimizer steps: accuracy and mean loss on the training subset and the test set. */
    public record Eval(int epoch, long step, double seconds, double trainAcc, double trainLoss, double testAcc, double testLoss) {
    }

    /**
     * A finished run.
     *
     * @param losses  training loss of every step (DL4J's score of the step's batch, training mode, before the update)
     * @param seconds training time, evaluations excluded
     */
    public record Result(String run, List<Eval> evals, double[] losses, boolean diverged, double seconds) {
        public Eval last() {
            return evals.get(evals.size() - 1);
        }

        public long steps() {
            return losses.length;
        }

        /** Mean training loss over the last {@code n} steps (or fewer); +∞ for a diverged run. */
        public double meanLossLast(int n) {
            if (diverged) {
                return Double.POSITIVE_INFINITY;
            }
            int from = Math.max(0, losses.length - n);
            return Stats.mean(java.util.Arrays.copyOfRange(losses, from, losses.length));
        }

        public double bestTestAcc() {
            return evals.stream().mapToDouble(Eval::testAcc).filter(Double::isFinite).max().orElse(Double.NaN);
        }

        public double secondsPerEpoch() {
            return seconds / Math.max(1, evals.size() - 1);
        }
    }

    /** Columns of the evaluations CSV. */
    public static final String[] EVAL_COLUMNS = {"run", "epoch", "step", "seconds", "train_acc", "train_loss", "test_acc", "test_loss"};
    /** Columns of the steps CSV. */
    public static final String[] STEP_COLUMNS = {"run", "step", "train_loss"};

    private final String run;
    private final Model net;
    private final DataSetIterator train;
    private final long stepsPerEpoch;
    private final List<TrainingListener> extra = new ArrayList<>();
    private DataSet trainEval;
    private DataSet test;
    private boolean progress = true;
    private PrintStream log = System.out;
    private MetricsLog stepLog;
    private MetricsLog evalLog;
    private long totalSteps = -1;
    private ProgressBar sharedBar;

    /**
     * @param train         one epoch of training batches; {@code reset()} is called before every epoch
     * @param stepsPerEpoch batches one epoch yields (for the progress bar)
     */
    public Trainer(String run, MultiLayerNetwork net, DataSetIterator train, long stepsPerEpoch) {
        this(run, (Model) net, train, stepsPerEpoch);
    }

    /**
     * As {@link #Trainer(String, MultiLayerNetwork, DataSetIterator, long)} for a {@link ComputationGraph} with one input
     * and one output.
     */
    public Trainer(String run, ComputationGraph net, DataSetIterator train, long stepsPerEpoch) {
        this(run, (Model) net, train, stepsPerEpoch);
    }

    /**
     * @param net a {@link MultiLayerNetwork} or a {@link ComputationGraph} (one input, one output)
     * @throws IllegalArgumentException for any other model
     */
    public static Trainer of(String run, Model net, DataSetIterator train, long stepsPerEpoch) {
        return new Trainer(run, net, train, stepsPerEpoch);
    }

    private Trainer(String run, Model net, DataSetIterator train, long stepsPerEpoch) {
        if (!(net instanceof MultiLayerNetwork) && !(net instanceof ComputationGraph)) {
            throw new IllegalArgumentException("Trainer: expected a MultiLayerNetwork or a ComputationGraph, got "
                    + (net == null ? "null" : net.getClass().getName()));
        }
        this.run = run;
        this.net = net;
        this.train = train;
        this.stepsPerEpoch = stepsPerEpoch;
    }

    /** Steps of the whole run, for the progress bar (default: epochs × steps per epoch). */
    public Trainer totalSteps(long n) {
        this.totalSteps = n;
        return this;
    }

    /** Steps the given progress bar (a bar over several runs; not closed here) instead of a bar of its own. */
    public Trainer bar(ProgressBar bar) {
        this.sharedBar = bar;
        return this;
    }

    /** Evaluates on these sets (either may be null) before training and after every epoch. */
    public Trainer evaluate(DataSet trainEval, DataSet test) {
        this.trainEval = trainEval;
        this.test = test;
        return this;
    }

    public Trainer listeners(TrainingListener... l) {
        extra.addAll(List.of(l));
        return this;
    }

    public Trainer progress(boolean on) {
        this.progress = on;
        return this;
    }

    public Trainer log(PrintStream out) {
        this.log = out;
        return this;
    }

    /** Rows {@link #STEP_COLUMNS} after the run. */
    public Trainer stepLog(MetricsLog m) {
        this.stepLog = m;
        return this;
    }

    /** Rows {@link #EVAL_COLUMNS} as the evaluations come. */
    public Trainer evalLog(MetricsLog m) {
        this.evalLog = m;
        return this;
    }

    public Result run(int epochs) {
        CollectScoresListener scores = new CollectScoresListener(1);
        Divergence divergence = new Divergence();
        List<Eval> evals = new ArrayList<>();
        double seconds = 0;
        try (ProgressBar own = sharedBar != null ? null
                : Progress.bar(run, totalSteps > 0 ? totalSteps : epochs * stepsPerEpoch, progress)) {
            ProgressBar pb = sharedBar != null ? sharedBar : own;
            List<TrainingListener> ls = new ArrayList<>(List.of(scores, divergence));
            if (pb != null) {
                ls.add(new BaseTrainingListener() {
                    @Override
                    public void iterationDone(Model model, int iteration, int epoch) {
                        pb.step();
                        pb.setExtraMessage(String.format(Locale.ROOT, "%s loss %.3f", run, model.score()));
                    }
                });
            }
            ls.addAll(extra);
            net.setListeners(ls);
            evals.add(eval(0, 0, 0));
            DataSetIterator it = new Stoppable(train, divergence);
            for (int e = 1; e <= epochs && !divergence.diverged; e++) {
                train.reset();
                long t0 = System.nanoTime();
                try {
                    if (net instanceof MultiLayerNetwork m) {
                        m.fit(it);
                    } else {
                        ((ComputationGraph) net).fit(it);
                    }
                } catch (RuntimeException ex) {
                    // a step that left non-finite or overflowing weights: the next forward pass gets non-finite
                    // activations, which bn4j's layers reject with an exception instead of passing them on to a
                    // non-finite loss (the training data are finite, so the network made them)
                    if (finite(net.params()) && !nonFiniteActivations(ex)) {
                        throw ex;
                    }
                    divergence.diverged = true;
                }
                seconds += (System.nanoTime() - t0) / 1e9;
                if (!divergence.diverged) {
                    evals.add(eval(e, iterations(net), seconds));
                    if (pb == null) {
                        Eval ev = evals.get(evals.size() - 1);
                        log.printf(Locale.ROOT, "  %s epoch %d/%d: step %d, test acc %.4f (%.1f s)%n", run, e, epochs, ev.step(),
                                ev.testAcc(), seconds);
                    }
                }
            }
        } finally {
            net.setListeners(new TrainingListener[0]);
        }
        double[] losses = scores.getListScore().toDoubleArray();
        if (divergence.diverged) {
            log.println("  " + run + ": training loss or weights became non-finite at step " + losses.length + "; stopped (diverged).");
        }
        if (stepLog != null) {
            for (int i = 0; i < losses.length; i++) {
                stepLog.add(run, i + 1, losses[i]);
            }
        }
        return new Result(run, evals, losses, divergence.diverged, seconds);
    }

    private Eval eval(int epoch, long step, double seconds) {
        double[] tr = trainEval == null ? new double[] {Double.NaN, Double.NaN} : accuracyAndLoss(net, trainEval);
        double[] te = test == null ? new double[] {Double.NaN, Double.NaN} : accuracyAndLoss(net, test);
        Eval e = new Eval(epoch, step, seconds, tr[0], tr[1], te[0], te[1]);
        if (evalLog != null) {
            evalLog.add(run, epoch, step, seconds, tr[0], tr[1], te[0], te[1]);
        }
        return e;
    }

    /** Examples per forward pass of an evaluation. */
    private static final int EVAL_BATCH = 2000;

    /**
     * {accuracy, mean loss} of {@code net} on {@code data} in inference mode (running statistics for batch norm):
     * accuracy from DL4J's {@link Evaluation}, the loss from {@code score(DataSet, false)}, in chunks.
     */
    public static double[] accuracyAndLoss(Model net, DataSet data) {
        Evaluation ev = new Evaluation();
        double lossSum = 0;
        for (DataSet part : data.numExamples() <= EVAL_BATCH ? List.of(data) : data.batchBy(EVAL_BATCH)) {
            if (net instanceof ComputationGraph g) {
                ev.eval(part.getLabels(), g.outputSingle(false, part.getFeatures()));
                lossSum += g.score(part, false) * part.numExamples();
            } else {
                MultiLayerNetwork m = (MultiLayerNetwork) net;
                ev.eval(part.getLabels(), m.output(part.getFeatures(), false));
                lossSum += m.score(part, false) * part.numExamples();
            }
        }
        return new double[] {ev.accuracy(), lossSum / data.numExamples()};
    }

    /** True when every value is finite. */
    private static boolean finite(org.nd4j.linalg.api.ndarray.INDArray a) {
        return a == null || Double.isFinite(a.sumNumber().doubleValue());
    }

    /** True for a bn4j layer's rejection of non-finite input ("the batch statistics are not finite"). */
    private static boolean nonFiniteActivations(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof org.deeplearning4j.exception.DL4JInvalidInputException && t.getMessage() != null
                    && t.getMessage().contains("not finite")) {
                return true;
            }
        }
        return false;
    }

    /** Optimizer steps the network has taken. */
    private static long iterations(Model net) {
        return net instanceof MultiLayerNetwork m ? m.getIterationCount() : ((ComputationGraph) net).getIterationCount();
    }

    /** Sets {@link #diverged} when a step's loss is not finite. */
    private static final class Divergence extends BaseTrainingListener {
        volatile boolean diverged;

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            if (!Double.isFinite(model.score())) {
                diverged = true;
            }
        }
    }

    /** The training iterator, ending early once the run diverged. */
    private static final class Stoppable implements DataSetIterator {
        private final DataSetIterator in;
        private final Divergence d;

        Stoppable(DataSetIterator in, Divergence d) {
            this.in = in;
            this.d = d;
        }

        @Override
        public boolean hasNext() {
            return !d.diverged && in.hasNext();
        }

        @Override
        public DataSet next() {
            return in.next();
        }

        @Override
        public DataSet next(int num) {
            return in.next(num);
        }

        @Override
        public int inputColumns() {
            return in.inputColumns();
        }

        @Override
        public int totalOutcomes() {
            return in.totalOutcomes();
        }

        @Override
        public boolean resetSupported() {
            return false;
        }

        @Override
        public boolean asyncSupported() {
            return false;
        }

        @Override
        public void reset() {
            throw new UnsupportedOperationException("the Trainer resets the training iterator itself");
        }

        @Override
        public int batch() {
            return in.batch();
        }

        @Override
        public void setPreProcessor(DataSetPreProcessor p) {
            in.setPreProcessor(p);
        }

        @Override
        public DataSetPreProcessor getPreProcessor() {
            return in.getPreProcessor();
        }

        @Override
        public List<String> getLabels() {
            return in.getLabels();
        }
    }
}
