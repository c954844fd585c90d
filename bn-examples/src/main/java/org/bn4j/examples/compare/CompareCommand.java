package org.bn4j.examples.compare;

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
import org.bn4j.examples.nets.Mlp;
import org.bn4j.examples.nets.Variant;
import org.bn4j.examples.experiments.Charts;
import org.bn4j.examples.util.MetricsLog;
import org.bn4j.examples.util.Plots;
import org.bn4j.examples.util.Progress;
import org.bn4j.examples.util.Report;
import org.bn4j.examples.util.Trainer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code compare}: every normalization layer of bn4j, no normalization, and a SELU network without normalization, in
 * the same MLP ({@link Mlp}: 784 → 256 → [norm] → activation → 10 softmax), same seed, same initialization of the
 * shared layers, same batch order. Three parts:
 * <ol>
 *   <li>{@code accuracy}: test accuracy per epoch and time per epoch (prints the final test accuracies);</li>
 *   <li>{@code lr}: a learning-rate sweep, one pass over {@code --sweep-examples} images per rate; the largest rate
 *       that still trains (not diverged, test accuracy at least {@code --trains-at});</li>
 *   <li>{@code batch}: test accuracy after one pass over {@code --sweep-examples} images at small batch sizes.</li>
 * </ol>
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train the same small MLP (784 -> 256 -> [norm] -> ReLU -> 10 softmax) with every normalization layer, "
                + "none, and SELU without normalization on Fashion-MNIST: test accuracy and time per epoch, a learning-rate "
                + "sweep (largest rate that still trains) and accuracy at small batch sizes.",
                "Writes epochs.csv, steps.csv, lr_sweep.csv, batch_sizes.csv, test_accuracy.png, train_loss.png, "
                        + "lr_sweep.png, batch_sizes.png and summary.md to the output directory."})
public class CompareCommand implements Callable<Integer> {

    @Mixin
    CommonOptions common;

    @Option(names = "--variants", paramLabel = "LIST", split = ",",
            defaultValue = "none,selu,bn,lp1,lpinf,ghost,noisy,noise,ln,wn",
            description = "Runs, comma separated (default: ${DEFAULT-VALUE}). Known: none, selu, bn, dl4j-bn (DL4J's built-in "
                    + "batch norm, a reference), lp1, lp2, lpinf, ghost, noisy, noise, ln, wn (weight norm).")
    List<String> variants;

    @Option(names = "--parts", paramLabel = "LIST", split = ",", defaultValue = "accuracy,lr,batch",
            description = "Parts to run (default: ${DEFAULT-VALUE}).")
    List<String> parts;

    @Option(names = "--epochs", paramLabel = "N", description = "Epochs (default: 5 on the full set, 20 on the bundled subset, 2 with --quick).")
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

    @Option(names = "--train-eval", paramLabel = "N", defaultValue = "5000",
            description = "Training images evaluated (inference mode) after each epoch (default: ${DEFAULT-VALUE}).")
    int trainEval;

    @Option(names = "--lrs", paramLabel = "LIST", split = ",", defaultValue = "0.03,0.1,0.3,1,3,10",
            description = "Learning rates of the sweep, plain SGD (default: ${DEFAULT-VALUE}; 0.1,1,10 with --quick).")
    List<Double> lrs;

    @Option(names = "--batch-sizes", paramLabel = "LIST", split = ",", defaultValue = "4,8,32,128",
            description = "Batch sizes of the small-batch part (default: ${DEFAULT-VALUE}; 8,32 with --quick).")
    List<Integer> batchSizes;

    @Option(names = "--sweep-examples", paramLabel = "N",
            description = "Training images seen by each run of the lr and batch parts: one pass (default: 10000; 1000 with --quick).")
    Integer sweepExamples;

    @Option(names = "--trains-at", paramLabel = "ACC", defaultValue = "0.7",
            description = "A sweep run 'trains' when it does not diverge and reaches this test accuracy (default: ${DEFAULT-VALUE}).")
    double trainsAt;

    /** Results of the last call (for tests). */
    Map<String, Trainer.Result> results;

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        Path dir = common.outDir();
        Files.createDirectories(dir);
        long t0 = System.nanoTime();
        boolean q = common.quick;
        IUpdater updater = updater();
        List<Variant> vs = Variant.parse(variants, common.seed);
        List<String> names = vs.stream().map(Variant::name).toList();
        for (String p : parts) {
            if (!List.of("accuracy", "lr", "batch").contains(p)) {
                throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "unknown part '" + p
                        + "' (accuracy, lr, batch)");
            }
        }

        FashionMnist data = common.loadData();
        int nEpochs = epochs != null ? epochs : (q ? 2 : data.isSubset() ? 20 : 5);
        int mTrain = maxTrain != null ? maxTrain : (q ? 2000 : Integer.MAX_VALUE);
        int mTest = maxTest != null ? maxTest : (q ? 1000 : Integer.MAX_VALUE);
        data = data.limit(mTrain, mTest);
        int nSweep = Math.min(data.train().size(), sweepExamples != null ? sweepExamples : q ? 1000 : 10000);
        List<Double> sweepLrs = q && !explicit("--lrs") ? List.of(0.1, 1.0, 10.0) : lrs;
        List<Integer> sizes = q && !explicit("--batch-sizes") ? List.of(8, 32) : batchSizes;

        DataSet test = data.test().all(FashionMnist.Shape.FLAT);
        int nEval = Math.min(trainEval, data.train().size());
        DataSet trainEvalSet = nEval > 0 ? data.train().batch(range(nEval), FashionMnist.Shape.FLAT) : null;

        out.printf(Locale.ROOT, "Model: 784 -> %d -> [norm] -> ReLU (SELU for selu) -> 10 softmax; %s; batch %d; %d epochs; seed %d%n",
                hidden, updaterText(), batch, nEpochs, common.seed);
        out.printf(Locale.ROOT, "Training on %d images, testing on %d; pixel mean %.4f, std %.4f (training set)%n",
                data.train().size(), data.test().size(), data.mean(), data.std());

        results = new LinkedHashMap<>();
        Map<String, Double> largestLr = new LinkedHashMap<>();
        Map<String, Map<Integer, Double>> smallBatch = new LinkedHashMap<>();
        Report rep = new Report("compare: every normalization layer in the same MLP", common.commandLine());
        try (MetricsLog epochLog = new MetricsLog(dir.resolve("epochs.csv"), Trainer.EVAL_COLUMNS);
             MetricsLog stepLog = new MetricsLog(dir.resolve("steps.csv"), Trainer.STEP_COLUMNS);
             MetricsLog lrLog = new MetricsLog(dir.resolve("lr_sweep.csv"), "run", "lr", "examples", "test_acc", "diverged", "trains");
             MetricsLog bsLog = new MetricsLog(dir.resolve("batch_sizes.csv"), "run", "batch", "lr", "examples", "steps", "test_acc",
                     "diverged", "seconds")) {
            if (parts.contains("accuracy")) {
                for (Variant v : vs) {
                    MultiLayerNetwork net = net(v, updater);
                    ShuffledBatchIterator it = data.train().iterator(batch, common.seed, FashionMnist.Shape.FLAT, true);
                    out.println("Run '" + v.name() + "': " + v.describe() + ", " + net.numParams() + " parameters");
                    Trainer.Result res = new Trainer(v.name(), net, it, it.batchesPerEpoch()).evaluate(trainEvalSet, test)
                            .progress(!common.noProgress).evalLog(epochLog).stepLog(stepLog).run(nEpochs);
                    results.put(v.name(), res);
                }
                out.println();
                out.printf(Locale.ROOT, "Test accuracy after %d epochs (%d test images):%n", nEpochs, data.test().size());
                for (Trainer.Result res : results.values()) {
                    out.printf(Locale.ROOT, "  %-8s %.4f%s   (best %.4f, %.1f s per epoch)%n", res.run(), res.last().testAcc(),
                            res.diverged() ? " DIVERGED" : "", res.bestTestAcc(), res.secondsPerEpoch());
                }
                Plots.lineChart(dir.resolve("test_accuracy.png"), "Fashion-MNIST MLP: test accuracy", "epoch", "test accuracy",
                        series(epochLog, "epoch", "test_acc", names, 1), Plots.Style.MARKERS.withLegend(
                                org.knowm.xchart.style.Styler.LegendPosition.OutsideE));
                Plots.lineChart(dir.resolve("train_loss.png"), "Fashion-MNIST MLP: training loss (moving average of 20 steps)",
                        "step", "cross-entropy", series(stepLog, "step", "train_loss", names, 20),
                        Plots.Style.LINES.withLegend(org.knowm.xchart.style.Styler.LegendPosition.OutsideE));
            }
            if (parts.contains("lr")) {
                out.println();
                out.printf(Locale.ROOT, "Learning-rate sweep (plain SGD, batch %d, one pass over %d images): largest rate "
                        + "with test accuracy >= %.2f%n", batch, nSweep, trainsAt);
                FashionMnist sweepData = data.limit(nSweep, data.test().size());
                try (ProgressBar pb = Progress.bar("lr sweep", (long) vs.size() * sweepLrs.size(), !common.noProgress)) {
                    for (Variant v : vs) {
                        double best = Double.NaN;
                        for (double rate : sweepLrs) {
                            Trainer.Result r = sweepRun(v, new Sgd(rate), sweepData, batch, test);
                            double acc = r.diverged() ? Double.NaN : r.last().testAcc();
                            boolean trains = !r.diverged() && acc >= trainsAt;
                            lrLog.add(v.name(), rate, nSweep, acc, r.diverged(), trains);
                            if (trains && !(rate <= best)) {
                                best = rate;
                            }
                            if (pb != null) {
                                pb.step();
                            }
                        }
                        largestLr.put(v.name(), best);
                    }
                }
                for (Variant v : vs) {
                    out.printf(Locale.ROOT, "  %-8s %s%n", v.name(), Double.isNaN(largestLr.get(v.name())) ? "none of the rates trains"
                            : "lr " + Report.num(largestLr.get(v.name())));
                }
                List<Plots.Series> s = accuracySeries(lrLog, "lr", names);
                Plots.lineChart(dir.resolve("lr_sweep.png"), "Learning-rate sweep: test accuracy after one pass over " + nSweep
                                + " images (0 = diverged)", "learning rate (plain SGD)", "test accuracy", s,
                        Plots.Style.MARKERS.withLogX().withYRange(0.0, 1.0).withLegend(org.knowm.xchart.style.Styler.LegendPosition.OutsideE));
            }
            if (parts.contains("batch")) {
                double rate = lr != null ? lr : 0.1;
                out.println();
                out.printf(Locale.ROOT, "Small batches (plain SGD lr %s, one pass over %d images): test accuracy%n", Report.num(rate), nSweep);
                FashionMnist sweepData = data.limit(nSweep, data.test().size());
                try (ProgressBar pb = Progress.bar("batch sizes", (long) vs.size() * sizes.size(), !common.noProgress)) {
                    for (Variant v : vs) {
                        Map<Integer, Double> m = new LinkedHashMap<>();
                        for (int b : sizes) {
                            long s0 = System.nanoTime();
                            Trainer.Result r = sweepRun(v, new Sgd(rate), sweepData, b, test);
                            double acc = r.diverged() ? Double.NaN : r.last().testAcc();
                            m.put(b, acc);
                            bsLog.add(v.name(), b, rate, nSweep, r.last().step(), acc, r.diverged(), (System.nanoTime() - s0) / 1e9);
                            if (pb != null) {
                                pb.step();
                            }
                        }
                        smallBatch.put(v.name(), m);
                    }
                }
                StringBuilder h = new StringBuilder(String.format(Locale.ROOT, "  %-8s", "batch"));
                sizes.forEach(b -> h.append(String.format(Locale.ROOT, " %8d", b)));
                out.println(h);
                for (Variant v : vs) {
                    StringBuilder l = new StringBuilder(String.format(Locale.ROOT, "  %-8s", v.name()));
                    sizes.forEach(b -> l.append(String.format(Locale.ROOT, " %8s", Report.num(smallBatch.get(v.name()).get(b), 4))));
                    out.println(l);
                }
                List<Plots.Series> s = accuracySeries(bsLog, "batch", names);
                Plots.lineChart(dir.resolve("batch_sizes.png"), "Test accuracy after one pass over " + nSweep
                                + " images, by batch size (0 = diverged)", "batch size", "test accuracy", s,
                        Plots.Style.MARKERS.withLogX().withLegend(org.knowm.xchart.style.Styler.LegendPosition.OutsideE));
            }
            double total = (System.nanoTime() - t0) / 1e9;
            summary(rep, vs, data, nEpochs, nSweep, sizes, sweepLrs, largestLr, smallBatch, total);
            rep.write(dir.resolve("summary.md"));
            out.println();
            out.println("Wrote " + dir.toAbsolutePath() + "/{epochs.csv,steps.csv,lr_sweep.csv,batch_sizes.csv,*.png,summary.md}");
        }
        return 0;
    }

    /** Test accuracy against {@code xColumn}, one series per run, a diverged run (NaN) drawn as 0. */
    private static List<Plots.Series> accuracySeries(MetricsLog log, String xColumn, List<String> names) {
        List<Plots.Series> s = new ArrayList<>();
        for (String n : names) {
            double[] x = Charts.values(log, xColumn, n, null, null);
            double[] y = Charts.values(log, "test_acc", n, null, null);
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

    private Trainer.Result sweepRun(Variant v, IUpdater u, FashionMnist d, int b, DataSet test) {
        MultiLayerNetwork net = net(v, u);
        ShuffledBatchIterator it = d.train().iterator(b, common.seed, FashionMnist.Shape.FLAT, true);
        return new Trainer(v.name(), net, it, it.batchesPerEpoch()).evaluate(null, test).progress(false)
                .log(new PrintStream(OutputStream.nullOutputStream())).run(1);
    }

    private static List<Plots.Series> series(MetricsLog log, String x, String y, List<String> runs, int smooth) {
        List<Plots.Series> s = new ArrayList<>();
        int run = log.index("run");
        for (String name : runs) {
            double[] ys = log.column(y, r -> r[run].equals(name));
            if (ys.length > 0) {
                s.add(new Plots.Series(name, log.column(x, r -> r[run].equals(name)), smooth > 1 ? Plots.movingAverage(ys, smooth) : ys));
            }
        }
        return s;
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
            default -> throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                    "--optimizer must be sgd or adam, got " + optimizer);
        };
    }

    private String updaterText() {
        boolean sgd = optimizer.equalsIgnoreCase("sgd");
        double rate = lr != null ? lr : (sgd ? 0.1 : 1e-3);
        return (sgd ? "plain SGD" : "Adam") + " lr " + Report.num(rate);
    }

    private void summary(Report rep, List<Variant> vs, FashionMnist data, int nEpochs, int nSweep, List<Integer> sizes,
                         List<Double> sweepLrs, Map<String, Double> largestLr, Map<String, Map<Integer, Double>> smallBatch,
                         double total) {
        List<String> header = new ArrayList<>(List.of("run", "layer"));
        if (!results.isEmpty()) {
            header.addAll(List.of("test acc (epoch " + nEpochs + ")", "best test acc", "final train loss", "s per epoch"));
        }
        if (!largestLr.isEmpty()) {
            header.add("largest lr that trains");
        }
        for (int b : smallBatch.isEmpty() ? List.<Integer>of() : sizes) {
            header.add("acc, batch " + b);
        }
        List<List<String>> rows = new ArrayList<>();
        for (Variant v : vs) {
            List<String> row = new ArrayList<>(List.of(v.name(), v.describe()));
            Trainer.Result r = results.get(v.name());
            if (r != null) {
                row.add(Report.num(r.last().testAcc(), 4) + (r.diverged() ? " (diverged)" : ""));
                row.add(Report.num(r.bestTestAcc(), 4));
                row.add(Report.num(r.meanLossLast((int) (r.steps() / Math.max(1, r.evals().size() - 1))), 4));
                row.add(Report.num(r.secondsPerEpoch(), 3));
            }
            if (!largestLr.isEmpty()) {
                double l = largestLr.get(v.name());
                row.add(Double.isNaN(l) ? "none" : Report.num(l));
            }
            if (!smallBatch.isEmpty()) {
                for (int b : sizes) {
                    row.add(Report.num(smallBatch.get(v.name()).get(b), 4));
                }
            }
            rows.add(row);
        }
        rep.table(header, rows);
        if (!results.isEmpty()) {
            rep.image("test accuracy", "test_accuracy.png").image("training loss", "train_loss.png");
        }
        if (!largestLr.isEmpty()) {
            String bn = largestLr.containsKey("bn") && largestLr.containsKey("none")
                    ? verdictLr(largestLr.get("bn"), largestLr.get("none")) : null;
            if (bn != null) {
                rep.text("");
                rep.verdict("batch norm tolerates larger learning rates than no normalization.",
                        Report.Outcome.of(largestLr.get("bn") > largestLr.getOrDefault("none", Double.NaN)
                                || Double.isNaN(largestLr.get("none")) && !Double.isNaN(largestLr.get("bn"))), bn);
            }
            rep.image("learning-rate sweep", "lr_sweep.png");
        }
        if (!smallBatch.isEmpty()) {
            rep.image("small batches", "batch_sizes.png");
        }
        rep.heading("Setup");
        rep.text("- Data: " + data.source() + "; " + data.train().size() + " training and " + data.test().size() + " test images.");
        rep.text(String.format(Locale.ROOT, "- Inputs: pixels scaled to [0,1], standardized with the training set's mean %.4f "
                + "and std %.4f (one scalar each); features [N,784], one-hot labels.", data.mean(), data.std()));
        rep.text("- Network: 784 → " + hidden + " (dense, no bias when followed by a norm layer) → [norm] → ReLU → 10 softmax, "
                + "cross-entropy, Xavier (Glorot) uniform init, float32, no regularization; the selu run uses SELU and LeCun "
                + "normal init without a norm layer; the wn run replaces the dense layer by WeightNormDense (data-dependent "
                + "init, with bias) and has no norm layer. Ghost batch norm uses ghost batches of " + Variant.GHOST_BATCH
                + " (at batch sizes up to " + Variant.GHOST_BATCH + " it is plain batch norm).");
        rep.text("- Accuracy part: " + updaterText() + ", batch " + batch + " (reshuffled every epoch, incomplete last batch "
                + "dropped), " + nEpochs + " epochs; evaluation in inference mode on the whole test set after every epoch. "
                + "Time per epoch is the training time only (no evaluation).");
        rep.text("- Learning-rate part: plain SGD at lr " + sweepLrs + ", batch " + batch + ", one pass over the first " + nSweep
                + " training images; a rate trains when the run does not diverge and reaches test accuracy ≥ " + trainsAt + ".");
        rep.text("- Small-batch part: batch sizes " + sizes + ", plain SGD lr " + Report.num(lr != null ? lr : 0.1)
                + ", one pass over the first " + nSweep + " training images (so smaller batches take more steps).");
        rep.text("- Seed " + common.seed + " for initialization, batch order and noise; every run starts from the same seed. "
                + "One seed: rerun with other `--seed` values to see the spread.");
        rep.machine(total);
    }

    private static String verdictLr(double bn, double none) {
        return "largest rate that trains: batch norm " + (Double.isNaN(bn) ? "none" : Report.num(bn)) + ", no normalization "
                + (Double.isNaN(none) ? "none" : Report.num(none)) + ".";
    }
}
