package org.bn4j.examples.compare;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import me.tongfei.progressbar.ProgressBar;
import org.bn4j.examples.CommonOptions;
import org.bn4j.examples.data.FashionMnist;
import org.bn4j.examples.data.ShuffledBatchIterator;
import org.bn4j.examples.experiments.Charts;
import org.bn4j.examples.nets.Mlp;
import org.bn4j.examples.nets.Variant;
import org.bn4j.examples.util.MetricsLog;
import org.bn4j.examples.util.Plots;
import org.bn4j.examples.util.Progress;
import org.bn4j.examples.util.Report;
import org.bn4j.examples.util.Trainer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.knowm.xchart.style.Styler;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code compare}: every normalization layer of bn4j, no normalization, and a SELU network without normalization, in
 * the same MLP ({@link Mlp}: 784 → 256 → [norm] → activation → 10 softmax), same seed, same initialization of the
 * shared layers, same batch order. Three parts:
 * <ol>
 *   <li>{@code accuracy}: test accuracy per epoch and time per epoch;</li>
 *   <li>{@code lr}: a learning-rate sweep, one pass over the first training images per rate; the largest rate that
 *       still trains (not diverged, test accuracy at least {@code --trains-at});</li>
 *   <li>{@code batch}: test accuracy after one pass over the first training images at small batch sizes.</li>
 * </ol>
 * The default is sized to print its table within a few minutes on two cores ({@link Plan#FAST}); {@code --full} runs
 * the protocol of the documented results ({@link Plan#FULL}). The command runs ({@link #run}), gives a {@link Result},
 * and reports it ({@link #report}: the printed table, the plots and summary.md); the CSV files are written as the
 * runs go.
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train the same small MLP (784 -> 256 -> [norm] -> ReLU -> 10 softmax) with every normalization layer, "
                + "none, and SELU without normalization on Fashion-MNIST: test accuracy and time per epoch, a learning-rate "
                + "sweep (largest rate that still trains) and accuracy at small batch sizes. The default run is sized for a "
                + "few minutes; --full runs the longer protocol of docs/experiments.md.",
                "Writes epochs.csv, steps.csv, lr_sweep.csv, batch_sizes.csv, test_accuracy.png, train_loss.png, "
                        + "lr_sweep.png, batch_sizes.png and summary.md to the output directory."})
public class CompareCommand implements Callable<Integer> {

    @Mixin
    CommonOptions common;

    @Option(names = "--full", description = "The longer protocol of the documented results: 5 epochs, sweeps over 10,000 "
            + "images, every evaluation on the whole test set, training accuracy on 5,000 images after each epoch "
            + "(default: 1 epoch, sweeps over 5,000 and 2,000 images evaluated on 2,000 test images, no training accuracy).")
    boolean full;

    @Option(names = "--variants", paramLabel = "LIST", split = ",",
            defaultValue = "none,selu,bn,lp1,lpinf,ghost,noisy,noise,ln,wn",
            description = "Runs, comma separated (default: ${DEFAULT-VALUE}). Known: none, selu, bn, dl4j-bn (DL4J's built-in "
                    + "batch norm, a reference), lp1, lp2, lpinf, ghost, noisy, noise, ln, wn (weight norm).")
    List<String> variants;

    @Option(names = "--parts", paramLabel = "LIST", split = ",", defaultValue = "accuracy,lr,batch",
            description = "Parts to run (default: ${DEFAULT-VALUE}).")
    List<String> parts;

    @Option(names = "--epochs", paramLabel = "N",
            description = "Epochs (default: 1, 5 with --full; on the bundled subset 5, 20 with --full; 2 with --quick).")
    Integer epochs;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "128", description = "Minibatch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--optimizer", paramLabel = "sgd|adam", defaultValue = "sgd",
            description = "Plain SGD (no momentum) or Adam (default: ${DEFAULT-VALUE}).")
    String optimizer;

    @Option(names = "--lr", paramLabel = "X", description = "Learning rate (default: 0.1 for sgd, 0.001 for adam).")
    Double lr;

    @Option(names = "--hidden", paramLabel = "N", defaultValue = "256", description = "Hidden width (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--max-train", paramLabel = "N", description = "Use only the first N training images (default: all; 2000 with --quick).")
    Integer maxTrain;

    @Option(names = "--max-test", paramLabel = "N", description = "Use only the first N test images (default: all; 1000 with --quick).")
    Integer maxTest;

    @Option(names = "--train-eval", paramLabel = "N",
            description = "Training images evaluated (inference mode) after each epoch (default: 0, 5000 with --full and --quick).")
    Integer trainEval;

    @Option(names = "--lrs", paramLabel = "LIST", split = ",", defaultValue = "0.03,0.1,0.3,1,3,10",
            description = "Learning rates of the sweep, plain SGD (default: ${DEFAULT-VALUE}; 0.1,1,10 with --quick).")
    List<Double> lrs;

    @Option(names = "--batch-sizes", paramLabel = "LIST", split = ",", defaultValue = "4,8,32,128",
            description = "Batch sizes of the small-batch part (default: ${DEFAULT-VALUE}; 8,32 with --quick).")
    List<Integer> batchSizes;

    @Option(names = "--sweep-examples", paramLabel = "N",
            description = "Training images seen by each run of the lr and batch parts: one pass (default: 5000 for the lr "
                    + "part and 2000 for the batch part; 10000 with --full; 1000 with --quick).")
    Integer sweepExamples;

    @Option(names = "--trains-at", paramLabel = "ACC", defaultValue = "0.7",
            description = "A sweep run 'trains' when it does not diverge and reaches this test accuracy (default: ${DEFAULT-VALUE}).")
    double trainsAt;

    /**
     * The sizes of a compare run.
     *
     * @param epochs        epochs of the accuracy part
     * @param trainEval     training images evaluated after each epoch of the accuracy part
     * @param lrExamples    training images of each run of the learning-rate sweep (one pass)
     * @param batchExamples training images of each run of the small-batch part (one pass)
     * @param sweepTest     test images the sweep runs are evaluated on
     */
    record Plan(int epochs, int trainEval, int lrExamples, int batchExamples, int sweepTest) {
        /** The default: the comparison within a few minutes on two cores. */
        static final Plan FAST = new Plan(1, 0, 5000, 2000, 2000);
        /** {@code --full}: the protocol of docs/experiments.md. */
        static final Plan FULL = new Plan(5, 5000, 10000, 10000, Integer.MAX_VALUE);
        /** {@code --quick}: a smoke test. */
        static final Plan QUICK = new Plan(2, 5000, 1000, 1000, Integer.MAX_VALUE);
    }

    /**
     * What a compare run measured.
     *
     * @param accuracy   the accuracy part's runs by name (empty when the part was not run)
     * @param largestLr  the largest rate that trains by run (NaN: none does; empty when the part was not run)
     * @param smallBatch test accuracy by run and batch size (NaN: diverged; empty when the part was not run)
     * @param logs       the CSV tables as written (epochs, steps, lr_sweep, batch_sizes), for the plots
     */
    record Result(FashionMnist data, Plan plan, List<Variant> variants, List<Double> lrs, List<Integer> sizes,
                  Map<String, Trainer.Result> accuracy, Map<String, Double> largestLr,
                  Map<String, Map<Integer, Double>> smallBatch, Map<String, MetricsLog> logs, double seconds) {
    }

    @Override
    public Integer call() throws Exception {
        for (String p : parts) {
            if (!List.of("accuracy", "lr", "batch").contains(p)) {
                throw new CommandLine.ParameterException(new CommandLine(this), "unknown part '" + p + "' (accuracy, lr, batch)");
            }
        }
        IUpdater updater = updater();
        List<Variant> vs = Variant.parse(variants, common.seed);
        Path dir = common.outDir();
        Files.createDirectories(dir);
        boolean q = common.quick;
        FashionMnist data = common.loadData();
        Plan base = q ? Plan.QUICK : full ? Plan.FULL : Plan.FAST;
        int nEpochs = epochs != null ? epochs : q ? 2 : data.isSubset() ? (full ? 20 : 5) : base.epochs();
        data = data.limit(maxTrain != null ? maxTrain : q ? 2000 : Integer.MAX_VALUE,
                maxTest != null ? maxTest : q ? 1000 : Integer.MAX_VALUE);
        int n = data.train().size();
        Plan plan = new Plan(nEpochs, Math.min(n, trainEval != null ? trainEval : base.trainEval()),
                Math.min(n, sweepExamples != null ? sweepExamples : base.lrExamples()),
                Math.min(n, sweepExamples != null ? sweepExamples : base.batchExamples()),
                Math.min(data.test().size(), base.sweepTest()));
        List<Double> sweepLrs = q && !explicit("--lrs") ? List.of(0.1, 1.0, 10.0) : lrs;
        List<Integer> sizes = q && !explicit("--batch-sizes") ? List.of(8, 32) : batchSizes;

        System.out.printf(Locale.ROOT, "compare (%s): 784 -> %d -> [norm] -> ReLU (SELU for selu) -> 10 softmax; %s; batch %d; "
                        + "%d epochs on %d images, tested on %d; seed %d%n", q ? "--quick" : full ? "--full" : "default; --full for "
                        + "the longer protocol", hidden, updaterText(), batch, nEpochs, n, data.test().size(), common.seed);
        Result r = run(dir, data, plan, vs, updater, sweepLrs, sizes);
        report(r, dir);
        return 0;
    }

    /** Trains every run of the chosen parts, writing the CSV files as it goes, under one progress bar. */
    Result run(Path dir, FashionMnist data, Plan plan, List<Variant> vs, IUpdater updater, List<Double> sweepLrs,
               List<Integer> sizes) throws IOException {
        long t0 = System.nanoTime();
        DataSet test = data.test().all(FashionMnist.Shape.FLAT);
        DataSet trainEvalSet = plan.trainEval() > 0 ? data.train().batch(range(plan.trainEval()), FashionMnist.Shape.FLAT) : null;
        FashionMnist lrData = data.limit(plan.lrExamples(), plan.sweepTest());
        FashionMnist batchData = data.limit(plan.batchExamples(), plan.sweepTest());
        DataSet lrTest = lrData.test().all(FashionMnist.Shape.FLAT);
        DataSet batchTest = batchData.test().all(FashionMnist.Shape.FLAT);

        long total = 0;
        if (parts.contains("accuracy")) {
            total += (long) vs.size() * plan.epochs() * (data.train().size() / batch);
        }
        if (parts.contains("lr")) {
            total += (long) vs.size() * sweepLrs.size() * (plan.lrExamples() / batch);
        }
        if (parts.contains("batch")) {
            for (int b : sizes) {
                total += (long) vs.size() * (plan.batchExamples() / b);
            }
        }
        Map<String, Trainer.Result> accuracy = new LinkedHashMap<>();
        Map<String, Double> largestLr = new LinkedHashMap<>();
        Map<String, Map<Integer, Double>> smallBatch = new LinkedHashMap<>();
        Map<String, MetricsLog> logs = new LinkedHashMap<>();
        try (ProgressBar pb = Progress.bar("compare", total, !common.noProgress);
             MetricsLog epochLog = new MetricsLog(dir.resolve("epochs.csv"), Trainer.EVAL_COLUMNS);
             MetricsLog stepLog = new MetricsLog(dir.resolve("steps.csv"), Trainer.STEP_COLUMNS);
             MetricsLog lrLog = new MetricsLog(dir.resolve("lr_sweep.csv"), "run", "lr", "examples", "test_acc", "diverged", "trains");
             MetricsLog bsLog = new MetricsLog(dir.resolve("batch_sizes.csv"), "run", "batch", "lr", "examples", "steps",
                     "test_acc", "diverged", "seconds")) {
            logs.putAll(Map.of("epochs", epochLog, "steps", stepLog, "lr_sweep", lrLog, "batch_sizes", bsLog));
            long done = 0;
            if (parts.contains("accuracy")) {
                for (Variant v : vs) {
                    MultiLayerNetwork net = net(v, updater);
                    ShuffledBatchIterator it = data.train().iterator(batch, common.seed, FashionMnist.Shape.FLAT, true);
                    if (pb == null) {
                        System.out.println("Run '" + v.name() + "': " + v.describe() + ", " + net.numParams() + " parameters");
                    }
                    accuracy.put(v.name(), new Trainer(v.name(), net, it, it.batchesPerEpoch()).evaluate(trainEvalSet, test)
                            .progress(!common.noProgress).bar(pb).evalLog(epochLog).stepLog(stepLog).run(plan.epochs()));
                    done = advance(pb, done + (long) plan.epochs() * it.batchesPerEpoch());
                }
            }
            if (parts.contains("lr")) {
                for (Variant v : vs) {
                    double best = Double.NaN;
                    for (double rate : sweepLrs) {
                        Trainer.Result r = sweepRun(v, new Sgd(rate), lrData, lrTest, batch, pb);
                        double acc = r.diverged() ? Double.NaN : r.last().testAcc();
                        boolean trains = !r.diverged() && acc >= trainsAt;
                        lrLog.add(v.name(), rate, plan.lrExamples(), acc, r.diverged(), trains);
                        if (trains && !(rate <= best)) {
                            best = rate;
                        }
                        done = advance(pb, done + plan.lrExamples() / batch);
                    }
                    largestLr.put(v.name(), best);
                }
            }
            if (parts.contains("batch")) {
                double rate = lr != null ? lr : 0.1;
                for (Variant v : vs) {
                    Map<Integer, Double> m = new LinkedHashMap<>();
                    for (int b : sizes) {
                        long s0 = System.nanoTime();
                        Trainer.Result r = sweepRun(v, new Sgd(rate), batchData, batchTest, b, pb);
                        double acc = r.diverged() ? Double.NaN : r.last().testAcc();
                        m.put(b, acc);
                        bsLog.add(v.name(), b, rate, plan.batchExamples(), r.last().step(), acc, r.diverged(),
                                (System.nanoTime() - s0) / 1e9);
                        done = advance(pb, done + plan.batchExamples() / b);
                    }
                    smallBatch.put(v.name(), m);
                }
            }
        }
        return new Result(data, plan, vs, sweepLrs, sizes, accuracy, largestLr, smallBatch, logs, (System.nanoTime() - t0) / 1e9);
    }

    /** Moves the bar to {@code to} (a diverged run stops early) and returns it. */
    private static long advance(ProgressBar pb, long to) {
        if (pb != null) {
            pb.stepTo(to);
        }
        return to;
    }

    /** Prints the comparison, draws the plots and writes summary.md. */
    void report(Result r, Path dir) throws IOException {
        List<String> names = r.variants().stream().map(Variant::name).toList();
        Styler.LegendPosition right = Styler.LegendPosition.OutsideE;
        System.out.println();
        if (!r.accuracy().isEmpty()) {
            System.out.printf(Locale.ROOT, "Test accuracy after %d epochs (%d test images):%n", r.plan().epochs(), r.data().test().size());
            for (Trainer.Result res : r.accuracy().values()) {
                System.out.printf(Locale.ROOT, "  %-8s %.4f%s   (best %.4f, %.1f s per epoch)%n", res.run(), res.last().testAcc(),
                        res.diverged() ? " DIVERGED" : "", res.bestTestAcc(), res.secondsPerEpoch());
            }
            Plots.lineChart(dir.resolve("test_accuracy.png"), "Fashion-MNIST MLP: test accuracy", "epoch", "test accuracy",
                    Charts.perRun(r.logs().get("epochs"), "epoch", "test_acc", names, 1), Plots.Style.MARKERS.withLegend(right));
            Plots.lineChart(dir.resolve("train_loss.png"), "Fashion-MNIST MLP: training loss (moving average of 20 steps)",
                    "step", "cross-entropy", Charts.perRun(r.logs().get("steps"), "step", "train_loss", names, 20),
                    Plots.Style.LINES.withLegend(right));
        }
        if (!r.largestLr().isEmpty()) {
            System.out.printf(Locale.ROOT, "%nLearning-rate sweep (plain SGD, batch %d, one pass over %d images): largest rate "
                    + "with test accuracy >= %.2f%n", batch, r.plan().lrExamples(), trainsAt);
            r.largestLr().forEach((name, l) -> System.out.printf(Locale.ROOT, "  %-8s %s%n", name,
                    Double.isNaN(l) ? "none of the rates trains" : "lr " + Report.num(l)));
            Plots.lineChart(dir.resolve("lr_sweep.png"), "Learning-rate sweep: test accuracy after one pass over "
                            + r.plan().lrExamples() + " images (0 = diverged)", "learning rate (plain SGD)", "test accuracy",
                    accuracySeries(r.logs().get("lr_sweep"), "lr", names), Plots.Style.MARKERS.withLogX().withYRange(0.0, 1.0)
                            .withLegend(right));
        }
        if (!r.smallBatch().isEmpty()) {
            System.out.printf(Locale.ROOT, "%nSmall batches (plain SGD lr %s, one pass over %d images): test accuracy%n",
                    Report.num(lr != null ? lr : 0.1), r.plan().batchExamples());
            StringBuilder h = new StringBuilder(String.format(Locale.ROOT, "  %-8s", "batch"));
            r.sizes().forEach(b -> h.append(String.format(Locale.ROOT, " %8d", b)));
            System.out.println(h);
            r.smallBatch().forEach((name, m) -> {
                StringBuilder l = new StringBuilder(String.format(Locale.ROOT, "  %-8s", name));
                r.sizes().forEach(b -> l.append(String.format(Locale.ROOT, " %8s", Report.num(m.get(b), 4))));
                System.out.println(l);
            });
            Plots.lineChart(dir.resolve("batch_sizes.png"), "Test accuracy after one pass over " + r.plan().batchExamples()
                            + " images, by batch size (0 = diverged)", "batch size", "test accuracy",
                    accuracySeries(r.logs().get("batch_sizes"), "batch", names), Plots.Style.MARKERS.withLogX().withLegend(right));
        }
        summary(r).write(dir.resolve("summary.md"));
        System.out.println();
        System.out.println("Wrote " + dir.toAbsolutePath() + "/{epochs.csv,steps.csv,lr_sweep.csv,batch_sizes.csv,*.png,summary.md}");
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

    private boolean explicit(String option) {
        var pr = common.parseResult();
        return pr != null && pr.hasMatchedOption(option);
    }

    private MultiLayerNetwork net(Variant v, IUpdater u) {
        Nd4j.getRandom().setSeed(common.seed);
        return Mlp.build(FashionMnist.PIXELS, new int[] {hidden}, FashionMnist.CLASSES, v, Activation.RELU, u, common.seed);
    }

    /** One pass over {@code d}'s training images at batch size {@code b}, evaluated on {@code test}. */
    private Trainer.Result sweepRun(Variant v, IUpdater u, FashionMnist d, DataSet test, int b, ProgressBar pb) {
        MultiLayerNetwork net = net(v, u);
        ShuffledBatchIterator it = d.train().iterator(b, common.seed, FashionMnist.Shape.FLAT, true);
        return new Trainer(v.name(), net, it, it.batchesPerEpoch()).evaluate(null, test)
                .progress(pb != null).bar(pb).log(new PrintStream(OutputStream.nullOutputStream())).run(1);
    }

    private static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }

    private IUpdater updater() {
        return switch (optimizer.toLowerCase(Locale.ROOT)) {
            case "sgd" -> new Sgd(lr != null ? lr : 0.1);
            case "adam" -> new Adam(lr != null ? lr : 1e-3);
            default -> throw new CommandLine.ParameterException(new CommandLine(this), "--optimizer must be sgd or adam, got " + optimizer);
        };
    }

    private String updaterText() {
        boolean sgd = optimizer.equalsIgnoreCase("sgd");
        double rate = lr != null ? lr : (sgd ? 0.1 : 1e-3);
        return (sgd ? "plain SGD" : "Adam") + " lr " + Report.num(rate);
    }

    private Report summary(Result r) {
        Report rep = new Report("compare: every normalization layer in the same MLP", common.commandLine());
        List<String> header = new ArrayList<>(List.of("run", "layer"));
        if (!r.accuracy().isEmpty()) {
            header.addAll(List.of("test acc (epoch " + r.plan().epochs() + ")", "best test acc", "train loss (last epoch)",
                    "s per epoch"));
        }
        if (!r.largestLr().isEmpty()) {
            header.add("largest lr that trains");
        }
        for (int b : r.smallBatch().isEmpty() ? List.<Integer>of() : r.sizes()) {
            header.add("acc, batch " + b);
        }
        List<List<String>> rows = new ArrayList<>();
        for (Variant v : r.variants()) {
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
                for (int b : r.sizes()) {
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
        FashionMnist data = r.data();
        Plan p = r.plan();
        String sweepTest = p.sweepTest() >= data.test().size() ? "the whole test set" : "the first " + p.sweepTest() + " test images";
        rep.heading("Setup");
        rep.text("- " + (common.quick ? "`--quick`" : full ? "`--full` protocol" : "Default (fast) protocol; `--full` runs 5 epochs "
                + "and sweeps over 10,000 images evaluated on the whole test set") + (p.trainEval() > 0 ? "; training accuracy "
                + "on the first " + p.trainEval() + " training images after every epoch (epochs.csv)" : "") + ".");
        rep.text("- Data: " + data.source() + "; " + data.train().size() + " training and " + data.test().size() + " test images.");
        rep.text(String.format(Locale.ROOT, "- Inputs: pixels scaled to [0,1], standardized with the training set's mean %.4f "
                + "and std %.4f (one scalar each); features [N,784], one-hot labels.", data.mean(), data.std()));
        rep.text("- Network: 784 → " + hidden + " (dense, no bias when followed by a norm layer) → [norm] → ReLU → 10 softmax, "
                + "cross-entropy, Xavier (Glorot) uniform init, float32, no regularization; the selu run uses SELU and LeCun "
                + "normal init without a norm layer; the wn run replaces the dense layer by WeightNormDense (data-dependent "
                + "init, with bias) and has no norm layer. Ghost batch norm uses ghost batches of " + Variant.GHOST_BATCH
                + " (at batch sizes up to " + Variant.GHOST_BATCH + " it is plain batch norm).");
        rep.text("- Accuracy part: " + updaterText() + ", batch " + batch + " (reshuffled every epoch, incomplete last batch "
                + "dropped), " + p.epochs() + " epochs; evaluation in inference mode (DL4J's Evaluation) on the whole test set "
                + "after every epoch. Time per epoch is the training time only (no evaluation).");
        rep.text("- Learning-rate part: plain SGD at lr " + r.lrs() + ", batch " + batch + ", one pass over the first "
                + p.lrExamples() + " training images, evaluated on " + sweepTest + "; a rate trains when the run does not "
                + "diverge and reaches test accuracy ≥ " + trainsAt + ".");
        rep.text("- Small-batch part: batch sizes " + r.sizes() + ", plain SGD lr " + Report.num(lr != null ? lr : 0.1)
                + ", one pass over the first " + p.batchExamples() + " training images (so smaller batches take more steps), "
                + "evaluated on " + sweepTest + ".");
        rep.text("- Seed " + common.seed + " for initialization, batch order and noise; every run starts from the same seed. "
                + "One seed: rerun with other `--seed` values to see the spread.");
        rep.machine(r.seconds());
        return rep;
    }
}
