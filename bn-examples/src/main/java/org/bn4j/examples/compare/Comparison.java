package org.bn4j.examples.compare;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import me.tongfei.progressbar.ProgressBar;
import org.bn4j.examples.data.FashionMnist;
import org.bn4j.examples.data.ShuffledBatchIterator;
import org.bn4j.examples.experiments.Charts;
import org.bn4j.examples.util.MetricsLog;
import org.bn4j.examples.util.Plots;
import org.bn4j.examples.util.Progress;
import org.bn4j.examples.util.Report;
import org.bn4j.examples.util.Trainer;
import org.deeplearning4j.nn.api.Model;
import org.knowm.xchart.style.Styler;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * The comparison of normalization variants that {@code compare} (the examples' MLP) and {@code compare-model} (a
 * user's network, {@link ModelCompare}) both run: the same network once per variant, same data, same batch order, in
 * three parts:
 * <ol>
 *   <li>{@code accuracy}: test accuracy after every epoch, training loss of every step, time per epoch;</li>
 *   <li>{@code lr}: a learning-rate sweep with plain SGD, one pass over the first training images per rate; the largest
 *       rate that still trains (not diverged, test accuracy at least {@link Settings#trainsAt});</li>
 *   <li>{@code batch}: test accuracy after one pass over the first training images at small batch sizes (plain SGD).</li>
 * </ol>
 * {@link #run} trains and writes {@code epochs.csv}, {@code steps.csv}, {@code lr_sweep.csv} and
 * {@code batch_sizes.csv} as it goes, under one progress bar; {@link #print} prints the figures and draws
 * {@code test_accuracy.png}, {@code train_loss.png}, {@code lr_sweep.png} and {@code batch_sizes.png};
 * {@link #table} adds the result table to a {@code summary.md}.
 */
public final class Comparison {

    /** The parts, in the order they run. */
    public static final List<String> PARTS = List.of("accuracy", "lr", "batch");

    private Comparison() {
    }

    /**
     * One run: a fresh network per call, all runs starting from the same weights where they share layers. The
     * comparison closes each network ({@code Model.close()}: its native memory) when its run is done, so that dozens of
     * networks do not hold off-heap memory until a garbage collection.
     *
     * @param network makes the network with this updater on every layer, or with its own updaters when given null
     */
    public record Run(String name, String describe, Function<IUpdater, Model> network) {
    }

    /**
     * The sizes of a comparison.
     *
     * @param epochs        epochs of the accuracy part
     * @param trainExamples training images of the accuracy part (the first ones; an epoch is one pass over them)
     * @param trainEval     training images evaluated (inference mode) after each epoch of the accuracy part
     * @param lrExamples    training images of each run of the learning-rate sweep (one pass)
     * @param batchExamples training images of each run of the small-batch part (one pass)
     * @param sweepTest     test images the sweep runs are evaluated on
     */
    public record Plan(int epochs, int trainExamples, int trainEval, int lrExamples, int batchExamples, int sweepTest) {
        /** What the sweeps are evaluated on, in words: "the whole test set" or "the first N test images". */
        public String sweepTestImages(int testImages) {
            return sweepTest >= testImages ? "the whole test set" : "the first " + sweepTest + " test images";
        }

        /**
         * {@code compare}'s default, the README's main job (its measured time is in bn-examples/README.md): one pass
         * over the first 30,000 training images in the accuracy part; the small-batch part over 1,000 images, because at
         * batch size 4 its steps are many and cost nearly as much as a step at batch 128.
         */
        public static final Plan FAST = new Plan(1, 30000, 0, 5000, 1000, 2000);
        /** {@code --full}: the protocol of docs/experiments.md. */
        public static final Plan FULL = new Plan(5, Integer.MAX_VALUE, 5000, 10000, 10000, Integer.MAX_VALUE);
        /** {@code --quick}: a smoke test. */
        public static final Plan QUICK = new Plan(2, Integer.MAX_VALUE, 5000, 1000, 1000, Integer.MAX_VALUE);
    }

    /**
     * How a comparison trains.
     *
     * @param parts       the parts to run ({@link #PARTS})
     * @param batch       batch size of the accuracy part and the learning-rate sweep
     * @param updater     updater of the accuracy part, or null for each network's own
     * @param updaterText the updater in words ("plain SGD lr 0.1")
     * @param lrs         learning rates of the sweep (plain SGD)
     * @param batchSizes  batch sizes of the small-batch part
     * @param batchLr     learning rate of the small-batch part (plain SGD)
     * @param trainsAt    a sweep run trains when it does not diverge and reaches this test accuracy
     * @param seed        seed of the batch order
     * @param shape       the layout of the features the networks take
     * @param progress    show a progress bar (else one line per run and epoch)
     */
    public record Settings(Plan plan, Set<String> parts, int batch, IUpdater updater, String updaterText, List<Double> lrs,
                           List<Integer> batchSizes, double batchLr, double trainsAt, long seed, FashionMnist.Shape shape,
                           boolean progress) {
        public Settings {
            for (String p : parts) {
                if (!PARTS.contains(p)) {
                    throw new IllegalArgumentException("unknown part '" + p + "'; known: " + String.join(", ", PARTS));
                }
            }
        }

        /** The same settings with other sizes, e.g. {@code new Plan(3, 10000, 0, 2000, 1000, 2000)}. */
        public Settings withPlan(Plan p) {
            return new Settings(p, parts, batch, updater, updaterText, lrs, batchSizes, batchLr, trainsAt, seed, shape, progress);
        }

        /** The same settings running only these parts ({@link #PARTS}). */
        public Settings withParts(String... ps) {
            return new Settings(plan, new java.util.LinkedHashSet<>(List.of(ps)), batch, updater, updaterText, lrs, batchSizes,
                    batchLr, trainsAt, seed, shape, progress);
        }

        /** The same settings with this updater in the accuracy part (null: each network's own), described as {@code text}. */
        public Settings withUpdater(IUpdater u, String text) {
            return new Settings(plan, parts, batch, u, text, lrs, batchSizes, batchLr, trainsAt, seed, shape, progress);
        }
    }

    /**
     * What a comparison measured.
     *
     * @param accuracy   the accuracy part's runs by name (empty when the part was not run)
     * @param largestLr  the largest rate that trains by run (NaN: none does; empty when the part was not run)
     * @param smallBatch test accuracy by run and batch size (NaN: diverged; empty when the part was not run)
     * @param logs       the CSV tables as written (epochs, steps, lr_sweep, batch_sizes), for the plots
     * @param seconds    wall time of the whole comparison
     */
    public record Result(FashionMnist data, Settings settings, List<Run> runs, Map<String, Trainer.Result> accuracy,
                         Map<String, Double> largestLr, Map<String, Map<Integer, Double>> smallBatch,
                         Map<String, MetricsLog> logs, double seconds) {
        public List<String> names() {
            return runs.stream().map(Run::name).toList();
        }
    }

    /** Trains every run of the chosen parts, writing the CSV files to {@code dir} as it goes, under one progress bar. */
    public static Result run(Path dir, FashionMnist data, Settings s, List<Run> runs) throws IOException {
        long t0 = System.nanoTime();
        Plan plan = s.plan();
        FashionMnist.Shape shape = s.shape();
        // each part standardizes with the mean and std of the training images it uses (FashionMnist.limit)
        FashionMnist accData = data.limit(plan.trainExamples(), data.test().size());
        DataSet test = accData.test().all(shape);
        DataSet trainEvalSet = plan.trainEval() > 0 ? accData.train().batch(range(Math.min(plan.trainEval(),
                accData.train().size())), shape) : null;
        FashionMnist lrData = data.limit(plan.lrExamples(), plan.sweepTest());
        FashionMnist batchData = data.limit(plan.batchExamples(), plan.sweepTest());
        DataSet lrTest = lrData.test().all(shape);
        DataSet batchTest = batchData.test().all(shape);

        long total = 0;
        if (s.parts().contains("accuracy")) {
            total += (long) runs.size() * plan.epochs() * (accData.train().size() / s.batch());
        }
        if (s.parts().contains("lr")) {
            total += (long) runs.size() * s.lrs().size() * (plan.lrExamples() / s.batch());
        }
        if (s.parts().contains("batch")) {
            for (int b : s.batchSizes()) {
                total += (long) runs.size() * (plan.batchExamples() / b);
            }
        }
        Map<String, Trainer.Result> accuracy = new LinkedHashMap<>();
        Map<String, Double> largestLr = new LinkedHashMap<>();
        Map<String, Map<Integer, Double>> smallBatch = new LinkedHashMap<>();
        Map<String, MetricsLog> logs = new LinkedHashMap<>();
        try (ProgressBar pb = Progress.bar("compare", total, s.progress());
             MetricsLog epochLog = new MetricsLog(dir.resolve("epochs.csv"), Trainer.EVAL_COLUMNS);
             MetricsLog stepLog = new MetricsLog(dir.resolve("steps.csv"), Trainer.STEP_COLUMNS);
             MetricsLog lrLog = new MetricsLog(dir.resolve("lr_sweep.csv"), "run", "lr", "examples", "test_acc", "diverged", "trains");
             MetricsLog bsLog = new MetricsLog(dir.resolve("batch_sizes.csv"), "run", "batch", "lr", "examples", "steps",
                     "test_acc", "diverged", "seconds")) {
            logs.putAll(Map.of("epochs", epochLog, "steps", stepLog, "lr_sweep", lrLog, "batch_sizes", bsLog));
            long done = 0;
            if (s.parts().contains("accuracy")) {
                for (Run v : runs) {
                    Model net = v.network().apply(s.updater());
                    ShuffledBatchIterator it = accData.train().iterator(s.batch(), s.seed(), shape, true);
                    if (pb == null) {
                        System.out.println("Run '" + v.name() + "': " + v.describe() + ", " + net.numParams() + " parameters");
                    }
                    accuracy.put(v.name(), Trainer.of(v.name(), net, it, it.batchesPerEpoch()).evaluate(trainEvalSet, test)
                            .progress(s.progress()).bar(pb).evalLog(epochLog).stepLog(stepLog).run(plan.epochs()));
                    net.close();
                    done = advance(pb, done + (long) plan.epochs() * it.batchesPerEpoch());
                }
            }
            if (s.parts().contains("lr")) {
                for (Run v : runs) {
                    double best = Double.NaN;
                    for (double rate : s.lrs()) {
                        Trainer.Result r = sweepRun(v, new Sgd(rate), lrData, lrTest, s.batch(), s, pb);
                        double acc = r.diverged() ? Double.NaN : r.last().testAcc();
                        boolean trains = !r.diverged() && acc >= s.trainsAt();
                        lrLog.add(v.name(), rate, plan.lrExamples(), acc, r.diverged(), trains);
                        if (trains && !(rate <= best)) {
                            best = rate;
                        }
                        done = advance(pb, done + plan.lrExamples() / s.batch());
                    }
                    largestLr.put(v.name(), best);
                }
            }
            if (s.parts().contains("batch")) {
                for (Run v : runs) {
                    Map<Integer, Double> m = new LinkedHashMap<>();
                    for (int b : s.batchSizes()) {
                        long s0 = System.nanoTime();
                        Trainer.Result r = sweepRun(v, new Sgd(s.batchLr()), batchData, batchTest, b, s, pb);
                        double acc = r.diverged() ? Double.NaN : r.last().testAcc();
                        m.put(b, acc);
                        bsLog.add(v.name(), b, s.batchLr(), plan.batchExamples(), r.last().step(), acc, r.diverged(),
                                (System.nanoTime() - s0) / 1e9);
                        done = advance(pb, done + plan.batchExamples() / b);
                    }
                    smallBatch.put(v.name(), m);
                }
            }
        }
        return new Result(data, s, List.copyOf(runs), accuracy, largestLr, smallBatch, logs, (System.nanoTime() - t0) / 1e9);
    }

    /** Moves the bar to {@code to} (a diverged run stops early) and returns it. */
    private static long advance(ProgressBar pb, long to) {
        if (pb != null) {
            pb.stepTo(to);
        }
        return to;
    }

    /** One pass over {@code d}'s training images at batch size {@code b}, evaluated on {@code test}. */
    private static Trainer.Result sweepRun(Run v, IUpdater u, FashionMnist d, DataSet test, int b, Settings s, ProgressBar pb) {
        Model net = v.network().apply(u);
        ShuffledBatchIterator it = d.train().iterator(b, s.seed(), s.shape(), true);
        try {
            return Trainer.of(v.name(), net, it, it.batchesPerEpoch()).evaluate(null, test)
                    .progress(pb != null).bar(pb).log(new PrintStream(OutputStream.nullOutputStream())).run(1);
        } finally {
            net.close();
        }
    }

    /**
     * Prints the figures and draws the plots into {@code dir}.
     *
     * @param subject what was trained, for the plot titles ("Fashion-MNIST MLP")
     */
    public static void print(Result r, Path dir, String subject) throws IOException {
        List<String> names = r.names();
        Settings s = r.settings();
        Styler.LegendPosition right = Styler.LegendPosition.OutsideE;
        System.out.println();
        if (!r.accuracy().isEmpty()) {
            System.out.printf(Locale.ROOT, "Test accuracy after %d epoch(s) over %d training images (%d test images; %s):%n",
                    s.plan().epochs(), Math.min(s.plan().trainExamples(), r.data().train().size()), r.data().test().size(),
                    s.updaterText());
            for (Trainer.Result res : r.accuracy().values()) {
                System.out.printf(Locale.ROOT, "  %-9s %.4f%s   (best %.4f, %.1f s per epoch)%n", res.run(), res.last().testAcc(),
                        res.diverged() ? " DIVERGED" : "", res.bestTestAcc(), res.secondsPerEpoch());
            }
            Plots.lineChart(dir.resolve("test_accuracy.png"), subject + ": test accuracy", "epoch", "test accuracy",
                    Charts.perRun(r.logs().get("epochs"), "epoch", "test_acc", names, 1), Plots.Style.MARKERS.withLegend(right));
            Plots.lineChart(dir.resolve("train_loss.png"), subject + ": training loss (moving average of 20 steps)",
                    "step", "cross-entropy", Charts.perRun(r.logs().get("steps"), "step", "train_loss", names, 20),
                    Plots.Style.LINES.withLegend(right));
        }
        if (!r.largestLr().isEmpty()) {
            System.out.printf(Locale.ROOT, "%nLearning-rate sweep (plain SGD, batch %d, one pass over %d images): largest rate "
                    + "with test accuracy >= %.2f%n", s.batch(), s.plan().lrExamples(), s.trainsAt());
            r.largestLr().forEach((name, l) -> System.out.printf(Locale.ROOT, "  %-9s %s%n", name,
                    Double.isNaN(l) ? "none of the rates trains" : "lr " + Report.num(l)));
            Plots.lineChart(dir.resolve("lr_sweep.png"), "Learning-rate sweep: test accuracy after one pass over "
                            + s.plan().lrExamples() + " images (0 = diverged)", "learning rate (plain SGD)", "test accuracy",
                    accuracySeries(r.logs().get("lr_sweep"), "lr", names), Plots.Style.MARKERS.withLogX().withYRange(0.0, 1.0)
                            .withLegend(right));
        }
        if (!r.smallBatch().isEmpty()) {
            System.out.printf(Locale.ROOT, "%nSmall batches (plain SGD lr %s, one pass over %d images): test accuracy%n",
                    Report.num(s.batchLr()), s.plan().batchExamples());
            StringBuilder h = new StringBuilder(String.format(Locale.ROOT, "  %-9s", "batch"));
            s.batchSizes().forEach(b -> h.append(String.format(Locale.ROOT, " %8d", b)));
            System.out.println(h);
            r.smallBatch().forEach((name, m) -> {
                StringBuilder l = new StringBuilder(String.format(Locale.ROOT, "  %-9s", name));
                s.batchSizes().forEach(b -> l.append(String.format(Locale.ROOT, " %8s", Report.num(m.get(b), 4))));
                System.out.println(l);
            });
            Plots.lineChart(dir.resolve("batch_sizes.png"), "Test accuracy after one pass over " + s.plan().batchExamples()
                            + " images, by batch size (0 = diverged)", "batch size", "test accuracy",
                    accuracySeries(r.logs().get("batch_sizes"), "batch", names), Plots.Style.MARKERS.withLogX().withLegend(right));
        }
    }

    /** Test accuracy against {@code xColumn}, one series per run, a diverged run (NaN) drawn as 0. */
    private static List<Plots.Series> accuracySeries(MetricsLog log, String xColumn, List<String> names) {
        List<Plots.Series> s = new ArrayList<>();
        for (String n : names) {
            double[] x = Charts.values(log, xColumn, n);
            double[] y = Charts.values(log, "test_acc", n);
            if (x.length == 0) {
                continue;
            }
            for (int i = 0; i < y.length; i++) {
                y[i] = Double.isNaN(y[i]) ? 0 : y[i];
            }
            s.add(new Plots.Series(n, x, y));
        }
        return s;
    }

    /**
     * Adds the table of the result (one row per run), the plots and, when both ran the sweep, the verdict on batch norm
     * against no normalization.
     */
    public static void table(Result r, Report rep) {
        List<String> header = new ArrayList<>(List.of("run", "layer"));
        if (!r.accuracy().isEmpty()) {
            header.addAll(List.of("test acc (epoch " + r.settings().plan().epochs() + ")", "best test acc",
                    "train loss (last epoch)", "s per epoch"));
        }
        if (!r.largestLr().isEmpty()) {
            header.add("largest lr that trains");
        }
        List<Integer> sizes = r.settings().batchSizes();
        for (int b : r.smallBatch().isEmpty() ? List.<Integer>of() : sizes) {
            header.add("acc, batch " + b);
        }
        List<List<String>> rows = new ArrayList<>();
        for (Run v : r.runs()) {
            List<String> row = new ArrayList<>(List.of(v.name(), v.describe()));
            Trainer.Result a = r.accuracy().get(v.name());
            if (a != null) {
                row.add(Report.num(a.last().testAcc(), 4) + (a.diverged() ? " (diverged)" : ""));
                row.add(Report.num(a.bestTestAcc(), 4));
                row.add(Report.num(a.meanLossLast((int) (a.steps() / Math.max(1, a.evals().size() - 1))), 4));
                row.add(Report.num(a.secondsPerEpoch(), 3));
            }
            if (!r.largestLr().isEmpty()) {
                double l = r.largestLr().get(v.name());
                row.add(Double.isNaN(l) ? "none" : Report.num(l));
            }
            if (!r.smallBatch().isEmpty()) {
                for (int b : sizes) {
                    row.add(Report.num(r.smallBatch().get(v.name()).get(b), 4));
                }
            }
            rows.add(row);
        }
        rep.table(header, rows);
        if (!r.accuracy().isEmpty()) {
            rep.image("test accuracy", "test_accuracy.png").image("training loss", "train_loss.png");
        }
        if (!r.largestLr().isEmpty()) {
            Double bn = r.largestLr().get("bn");
            Double none = r.largestLr().get("none");
            if (bn != null && none != null) {
                rep.text("");
                rep.verdict("batch norm tolerates larger learning rates than no normalization.",
                        Report.Outcome.of(bn > none || Double.isNaN(none) && !Double.isNaN(bn)),
                        "largest rate that trains: batch norm " + (Double.isNaN(bn) ? "none" : Report.num(bn))
                                + ", no normalization " + (Double.isNaN(none) ? "none" : Report.num(none)) + ".");
            }
            rep.image("learning-rate sweep", "lr_sweep.png");
        }
        if (!r.smallBatch().isEmpty()) {
            rep.image("small batches", "batch_sizes.png");
        }
    }

    private static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }
}
