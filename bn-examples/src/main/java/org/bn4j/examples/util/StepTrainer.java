package org.bn4j.examples.util;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

import me.tongfei.progressbar.ProgressBar;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Step-based training, the loop of the CNN and deep-linear experiments: {@code steps} SGD steps, each on the batch
 * the {@link Supplier} gives (a random batch of 128, or the full batch), with a progress bar and ETA. Before step t
 * (t = 0, 1, …, the number of steps taken so far, which is also DL4J's iteration count) the probes registered with
 * {@link #probe} run on the batch of step t, and every {@code evalEvery} steps (and at the end) the network is
 * evaluated in inference mode. A non-finite training loss stops the run (diverged).
 */
public final class StepTrainer {

    /** Called before the step with index {@code step} is taken, with the batch of that step. */
    @FunctionalInterface
    public interface Probe {
        void before(long step, MultiLayerNetwork net, DataSet batch);
    }

    /** An evaluation: step (steps taken), accuracy and loss on the training subset and the test set. */
    public record Eval(long step, double trainAcc, double trainLoss, double testAcc, double testLoss) {
    }

    /** Result of a run. */
    public record Result(String run, long steps, boolean diverged, double seconds, double[] losses, List<Eval> evals) {
        public Eval last() {
            return evals.get(evals.size() - 1);
        }

        /** Mean training loss over the last {@code n} steps (or fewer). */
        public double meanLossLast(int n) {
            int from = Math.max(0, losses.length - n);
            double s = 0;
            for (int i = from; i < losses.length; i++) {
                s += losses[i];
            }
            return losses.length == from ? Double.NaN : s / (losses.length - from);
        }
    }

    private final String run;
    private final MultiLayerNetwork net;
    private final Supplier<DataSet> batches;
    private boolean progress = true;
    private PrintStream log = System.out;
    private MetricsLog stepLog;
    private MetricsLog evalLog;
    private final List<int[]> probeEvery = new ArrayList<>();
    private final List<Probe> probes = new ArrayList<>();
    private int evalEvery;
    private DataSet trainEval;
    private DataSet test;

    public StepTrainer(String run, MultiLayerNetwork net, Supplier<DataSet> batches) {
        this.run = run;
        this.net = net;
        this.batches = batches;
    }

    public StepTrainer progress(boolean on) {
        this.progress = on;
        return this;
    }

    public StepTrainer log(PrintStream out) {
        this.log = out;
        return this;
    }

    /** Logs {@code run, step, train_loss} after every step. */
    public StepTrainer stepLog(MetricsLog m) {
        this.stepLog = m;
        return this;
    }

    /** Evaluates every {@code every} steps and at the end; rows {@code run, step, train_acc, train_loss, test_acc, test_loss}. */
    public StepTrainer evaluate(int every, DataSet trainEval, DataSet test, MetricsLog m) {
        this.evalEvery = every;
        this.trainEval = trainEval;
        this.test = test;
        this.evalLog = m;
        return this;
    }

    /** Runs {@code p} before every step whose index is a multiple of {@code every} (and before the last step + 1). */
    public StepTrainer probe(int every, Probe p) {
        probeEvery.add(new int[] {every});
        probes.add(p);
        return this;
    }

    public static final String[] STEP_COLUMNS = {"run", "step", "train_loss"};
    public static final String[] EVAL_COLUMNS = {"run", "step", "train_acc", "train_loss", "test_acc", "test_loss"};

    public Result run(int steps) {
        List<Eval> evals = new ArrayList<>();
        double[] losses = new double[steps];
        boolean diverged = false;
        long t0 = System.nanoTime();
        int done = 0;
        try (ProgressBar pb = Progress.bar(run, steps, progress)) {
            if (evalEvery > 0) {
                evals.add(eval(0));
            }
            for (int t = 0; t < steps; t++) {
                DataSet b = batches.get();
                for (int i = 0; i < probes.size(); i++) {
                    if (t % probeEvery.get(i)[0] == 0) {
                        probes.get(i).before(t, net, b);
                    }
                }
                net.fit(b);
                double loss = net.score();
                losses[t] = loss;
                done = t + 1;
                if (stepLog != null) {
                    stepLog.add(run, t + 1, loss);
                }
                if (!Double.isFinite(loss)) {
                    diverged = true;
                    break;
                }
                if (evalEvery > 0 && (t + 1) % evalEvery == 0 && t + 1 < steps) {
                    evals.add(eval(t + 1));
                }
                if (pb != null) {
                    pb.step();
                    pb.setExtraMessage(String.format(Locale.ROOT, "loss %.3f", loss));
                }
            }
        }
        if (evalEvery > 0 && !diverged) {
            evals.add(eval(steps));
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        if (diverged) {
            log.println("  " + run + ": training loss became non-finite at step " + done + "; stopped (diverged).");
        } else if (!progress && !evals.isEmpty()) {
            Eval e = evals.get(evals.size() - 1);
            log.printf(Locale.ROOT, "  %s: %d steps, test acc %.4f (%.1f s)%n", run, steps, e.testAcc(), secs);
        }
        double[] l = java.util.Arrays.copyOf(losses, done);
        return new Result(run, done, diverged, secs, l, evals);
    }

    private Eval eval(long step) {
        double[] tr = trainEval == null ? new double[] {Double.NaN, Double.NaN} : TrainingLoop.evaluate(net, trainEval, 2000);
        double[] te = test == null ? new double[] {Double.NaN, Double.NaN} : TrainingLoop.evaluate(net, test, 2000);
        Eval e = new Eval(step, tr[1], tr[0], te[1], te[0]);
        if (evalLog != null) {
            evalLog.add(run, step, tr[1], tr[0], te[1], te[0]);
        }
        return e;
    }
}
