package org.bn4j.examples.compare;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

import org.bn4j.examples.CommonOptions;
import org.bn4j.examples.data.FashionMnist;
import org.bn4j.examples.data.ShuffledBatchIterator;
import org.bn4j.examples.nets.Mlp;
import org.bn4j.examples.nets.NormLayers;
import org.bn4j.examples.util.MetricsLog;
import org.bn4j.examples.util.Plots;
import org.bn4j.examples.util.TrainingLoop;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code compare}: the same small MLP ({@link Mlp}: 784 → 256 → [norm] → ReLU → 10 softmax) trained
 * once without normalization and once with batch norm, same seed, same initialization of the shared
 * layers, same batch order. Prints the test accuracies and writes {@code epochs.csv},
 * {@code steps.csv}, {@code test_accuracy.png}, {@code train_loss.png} and {@code summary.md}.
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train the same small MLP (784 -> 256 -> [batch norm] -> ReLU -> 10 softmax) without and with "
                + "batch norm on Fashion-MNIST and compare test accuracy per epoch.",
                "Writes epochs.csv, steps.csv, test_accuracy.png, train_loss.png and summary.md to the output directory."})
public class CompareCommand implements Callable<Integer> {

    @Mixin
    CommonOptions common;

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

    @Option(names = "--impl", paramLabel = "bn4j|dl4j", defaultValue = "bn4j",
            description = "Batch-norm implementation for the 'bn' run: bn4j (org.bn4j.layers.BatchNorm) or dl4j "
                    + "(DL4J's built-in BatchNormalization). Default: ${DEFAULT-VALUE}.")
    String impl;

    @Option(names = "--variants", paramLabel = "LIST", split = ",", defaultValue = "none,bn",
            description = "Runs to make, comma separated, from: none, bn (batch norm of --impl), dl4j-bn (DL4J's built-in "
                    + "batch norm, as a reference). Default: ${DEFAULT-VALUE}.")
    List<String> variants;

    @Option(names = "--max-train", paramLabel = "N", description = "Use only the first N training images (default: all; 2000 with --quick).")
    Integer maxTrain;

    @Option(names = "--max-test", paramLabel = "N", description = "Use only the first N test images (default: all; 1000 with --quick).")
    Integer maxTest;

    @Option(names = "--train-eval", paramLabel = "N", defaultValue = "5000",
            description = "Training images evaluated (inference mode) after each epoch (default: ${DEFAULT-VALUE}).")
    int trainEval;

    /** Results of the last call (for tests). */
    Map<String, TrainingLoop.Result> results;

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        IUpdater updater = updater();
        Path dir = common.outDir();
        Files.createDirectories(dir);

        FashionMnist data = common.loadData();
        int nEpochs = epochs != null ? epochs : (common.quick ? 2 : data.isSubset() ? 20 : 5);
        int mTrain = maxTrain != null ? maxTrain : (common.quick ? 2000 : Integer.MAX_VALUE);
        int mTest = maxTest != null ? maxTest : (common.quick ? 1000 : Integer.MAX_VALUE);
        data = data.limit(mTrain, mTest);

        DataSet test = data.test().all(FashionMnist.Shape.FLAT);
        int nEval = Math.min(trainEval, data.train().size());
        int[] evalIdx = new int[nEval];
        for (int i = 0; i < nEval; i++) {
            evalIdx[i] = i;
        }
        DataSet trainEvalSet = nEval > 0 ? data.train().batch(evalIdx, FashionMnist.Shape.FLAT) : null;

        NormLayers.Impl bnImpl = NormLayers.Impl.parse(impl);
        Map<String, Supplier<Layer>> runs = new LinkedHashMap<>();
        Map<String, String> describe = new LinkedHashMap<>();
        for (String v : variants) {
            switch (v.trim()) {
                case "none" -> {
                    runs.put("none", NormLayers.none());
                    describe.put("none", "no normalization (dense layer with bias)");
                }
                case "bn" -> {
                    runs.put("bn", NormLayers.batchNorm(bnImpl));
                    describe.put("bn", "batch norm: " + bnImpl.describe());
                }
                case "dl4j-bn" -> {
                    runs.put("dl4j-bn", NormLayers.batchNorm(NormLayers.Impl.DL4J));
                    describe.put("dl4j-bn", "batch norm: " + NormLayers.Impl.DL4J.describe());
                }
                default -> throw new picocli.CommandLine.ParameterException(
                        new picocli.CommandLine(this), "unknown variant '" + v + "' (none, bn, dl4j-bn)");
            }
        }

        out.printf(Locale.ROOT, "Model: 784 -> %d -> [norm] -> ReLU -> 10 softmax; %s; batch %d; %d epochs; seed %d%n",
                hidden, updaterText(), batch, nEpochs, common.seed);
        out.printf(Locale.ROOT, "Training on %d images, testing on %d; pixel mean %.4f, std %.4f (training set)%n",
                data.train().size(), data.test().size(), data.mean(), data.std());

        results = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        try (MetricsLog epochLog = new MetricsLog(dir.resolve("epochs.csv"), TrainingLoop.EPOCH_COLUMNS);
             MetricsLog stepLog = new MetricsLog(dir.resolve("steps.csv"), TrainingLoop.STEP_COLUMNS)) {
            for (Map.Entry<String, Supplier<Layer>> r : runs.entrySet()) {
                Nd4j.getRandom().setSeed(common.seed);
                MultiLayerNetwork net = Mlp.build(FashionMnist.PIXELS, hidden, FashionMnist.CLASSES, r.getValue(),
                        updater, common.seed);
                ShuffledBatchIterator it = data.train().iterator(batch, common.seed, FashionMnist.Shape.FLAT, true);
                out.println("Run '" + r.getKey() + "': " + describe.get(r.getKey()) + ", " + net.numParams() + " parameters");
                TrainingLoop.Result res = new TrainingLoop(r.getKey(), net, it, it.batchesPerEpoch(), trainEvalSet, test)
                        .progress(!common.noProgress)
                        .epochLog(epochLog)
                        .stepLog(stepLog)
                        .run(nEpochs);
                results.put(r.getKey(), res);
            }
            double total = (System.nanoTime() - t0) / 1e9;

            out.println();
            out.printf(Locale.ROOT, "Test accuracy after %d epochs (%d test images):%n", nEpochs, data.test().size());
            for (TrainingLoop.Result res : results.values()) {
                out.printf(Locale.ROOT, "  %-8s %.4f%s   (best %.4f, training %.1f s)%n", res.run(), res.last().testAcc(),
                        res.diverged() ? " DIVERGED" : "", res.bestTestAcc(), res.trainSeconds());
            }

            Path accPng = plotAccuracy(dir, epochLog);
            Path lossPng = plotLoss(dir, stepLog);
            Path md = writeSummary(dir, data, nEpochs, describe, total);
            out.println();
            out.println("Wrote " + epochLog.file() + ", " + stepLog.file() + ", " + accPng + ", " + lossPng + ", " + md);
        }
        return 0;
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
        return (sgd ? "plain SGD" : "Adam") + String.format(Locale.ROOT, " lr %s", rate);
    }

    private Path plotAccuracy(Path dir, MetricsLog epochLog) throws IOException {
        List<Plots.Series> s = new ArrayList<>();
        int run = epochLog.index("run");
        for (String name : results.keySet()) {
            s.add(new Plots.Series(name + " (test)", epochLog.column("epoch", r -> r[run].equals(name)),
                    epochLog.column("test_acc", r -> r[run].equals(name))));
        }
        return Plots.lineChart(dir.resolve("test_accuracy.png"), "Fashion-MNIST MLP: test accuracy", "epoch",
                "test accuracy", s, Plots.Style.MARKERS);
    }

    private Path plotLoss(Path dir, MetricsLog stepLog) throws IOException {
        List<Plots.Series> s = new ArrayList<>();
        int run = stepLog.index("run");
        for (String name : results.keySet()) {
            double[] y = stepLog.column("train_loss", r -> r[run].equals(name));
            s.add(new Plots.Series(name, stepLog.column("step", r -> r[run].equals(name)), Plots.movingAverage(y, 20)));
        }
        return Plots.lineChart(dir.resolve("train_loss.png"), "Fashion-MNIST MLP: training loss (moving average of 20 steps)",
                "step", "cross-entropy", s, Plots.Style.LINES);
    }

    private Path writeSummary(Path dir, FashionMnist data, int nEpochs, Map<String, String> describe, double total)
            throws IOException {
        StringBuilder md = new StringBuilder();
        md.append("# compare: MLP without and with batch norm\n\n");
        md.append("Generated ").append(LocalDateTime.now().format(DateTimeFormatter.ISO_LOCAL_DATE_TIME).substring(0, 19))
                .append(" by `compare`").append(common.quick ? " --quick" : "").append(".\n\n");
        md.append("| run | layer | test accuracy (epoch ").append(nEpochs).append(") | best test accuracy | "
                + "final train loss (epoch mean) | training time (s) |\n|---|---|---|---|---|---|\n");
        for (TrainingLoop.Result r : results.values()) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %.4f%s | %.4f | %.4f | %.1f |%n", r.run(), describe.get(r.run()),
                    r.last().testAcc(), r.diverged() ? " (diverged)" : "", r.bestTestAcc(), r.last().trainLossMean(),
                    r.trainSeconds()));
        }
        md.append("\n![test accuracy](test_accuracy.png)\n\n![training loss](train_loss.png)\n\n");
        md.append("## Setup\n\n");
        md.append("- Data: ").append(data.source())
                .append("; ").append(data.train().size()).append(" training and ").append(data.test().size())
                .append(" test images.\n");
        md.append(String.format(Locale.ROOT, "- Inputs: pixels scaled to [0,1], standardized with the training set's mean %.4f "
                + "and std %.4f (one scalar each); features [N,784], one-hot labels.%n", data.mean(), data.std()));
        md.append("- Network: 784 → ").append(hidden).append(" (dense, no bias when followed by batch norm) → [norm] → ReLU → "
                + "10 softmax, cross-entropy loss, Xavier (Glorot) uniform init, float32, no regularization.\n");
        md.append("- Training: ").append(updaterText()).append(", batch ").append(batch).append(" (reshuffled every epoch, "
                + "incomplete last batch dropped), ").append(nEpochs).append(" epochs, seed ").append(common.seed)
                .append(" (same initialization of the shared layers and same batch order for every run).\n");
        md.append("- Evaluation: inference mode (batch norm uses its running statistics) on the whole test set after every "
                + "epoch; epoch 0 is before training. One seed: rerun with other `--seed` values to see the spread.\n");
        md.append(String.format(Locale.ROOT, "- Machine: %d logical CPUs, OMP_NUM_THREADS=%s, ND4J backend %s; whole run %.1f s.%n",
                Runtime.getRuntime().availableProcessors(), System.getenv().getOrDefault("OMP_NUM_THREADS", "(unset)"),
                Nd4j.getBackend().getClass().getSimpleName(), total));
        md.append("\nFiles: `epochs.csv` (per-epoch metrics), `steps.csv` (training loss per step), `test_accuracy.png`, "
                + "`train_loss.png`.\n");
        Path p = dir.resolve("summary.md");
        Files.writeString(p, md.toString());
        return p;
    }
}
