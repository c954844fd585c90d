package org.bn4j.examples.experiments;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.bn4j.examples.CommonOptions;
import org.bn4j.examples.data.FashionMnist;
import org.bn4j.examples.data.ShuffledBatchIterator;
import org.bn4j.examples.nets.Mlp;
import org.bn4j.examples.nets.Variant;
import org.bn4j.diagnostics.DiagnosticsCharts;
import org.bn4j.diagnostics.DiagnosticsCsv;
import org.bn4j.diagnostics.DiagnosticsListener;
import org.bn4j.diagnostics.Site;
import org.bn4j.examples.util.MetricsLog;
import org.bn4j.examples.util.Plots;
import org.bn4j.examples.util.Report;
import org.bn4j.examples.util.Stats;
import org.bn4j.examples.util.Trainer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code saturation}: batch norm before tanh (Ioffe and Szegedy 2015) in a 2-layer tanh MLP (784 → 100 → tanh → 100 →
 * tanh → 10): the fraction of saturated units (|tanh| > 0.99) per hidden layer and the gradient norm per weight layer
 * over training, and test accuracy, without and with batch norm, at one or more learning rates.
 */
@Command(name = "saturation", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Saturation of tanh units with and without batch norm before the tanh: 784 -> 100 -> [bn] -> tanh -> 100 "
                + "-> [bn] -> tanh -> 10 softmax; fraction of units with |tanh| > 0.99 and gradient norms per layer over "
                + "training, and test accuracy.",
                "Writes epochs.csv, saturation.csv, gradient_norms.csv, saturation.png, gradient_norms.png, test_accuracy.png and "
                        + "summary.md."})
public class SaturationCommand implements Callable<Integer> {

    @Mixin
    CommonOptions common;

    @Option(names = "--lrs", split = ",", paramLabel = "LIST", defaultValue = "0.1,1",
            description = "Learning rates (plain SGD), one pair of runs each (default: ${DEFAULT-VALUE}).")
    List<Double> lrs;

    @Option(names = "--variants", split = ",", paramLabel = "LIST", defaultValue = "none,bn",
            description = "Runs (default: ${DEFAULT-VALUE}).")
    List<String> variants;

    @Option(names = "--epochs", paramLabel = "N", description = "Epochs (default: 3 on the full set, 15 on the subset; 1 with --quick).")
    Integer epochs;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "128", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--probe-every", paramLabel = "N", description = "Steps between probes (default: 50; 5 with --quick).")
    Integer probeEvery;

    @Option(names = "--threshold", paramLabel = "X", defaultValue = "0.99",
            description = "A unit is saturated when |tanh| exceeds this (default: ${DEFAULT-VALUE}).")
    double threshold;

    static final int[] HIDDEN = {100, 100};
    static final List<String> ACTS = List.of("act1", "act2");
    static final List<String> WEIGHTS = List.of("fc1", "fc2", "out");
    /** Training images on which saturation is measured. */
    static final int PROBE_IMAGES = 1000;

    record Run(String name, Variant v, double lr, Trainer.Result result, double[] meanSat, double[] meanGrad) {
    }

    /** What a run measured: the runs with their means, the probes as recorded, the evaluations. */
    record Result(FashionMnist data, String setup, int every, int probeImages, Map<String, Run> runs,
                  Map<String, DiagnosticsListener> saturation, Map<String, DiagnosticsListener> gradients, MetricsLog evals,
                  double seconds) {
    }

    @Override
    public Integer call() throws Exception {
        return common.eachSeed(1, dir -> report(run(dir), dir));
    }

    /** Trains every run with the probes, writing epochs.csv, saturation.csv and gradient_norms.csv. */
    Result run(Path dir) throws IOException {
        long t0 = System.nanoTime();
        boolean q = common.quick;
        FashionMnist data = common.loadData();
        if (q) {
            data = data.limit(2000, 500);
        }
        int nEpochs = epochs != null ? epochs : q ? 1 : data.isSubset() ? 15 : 3;
        int every = probeEvery != null ? probeEvery : q ? 5 : 50;
        DataSet test = data.test().all(FashionMnist.Shape.FLAT);
        int[] idx = new int[Math.min(PROBE_IMAGES, data.train().size())];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        DataSet probeSet = data.train().batch(idx, FashionMnist.Shape.FLAT);
        List<Variant> vs = Variant.parse(variants, common.seed);
        String setup = String.format(Locale.ROOT, "MLP 784 → 100 → [norm] → tanh → 100 → [norm] → tanh → 10 softmax (no bias before "
                        + "a norm layer), Xavier uniform init; plain SGD lr %s, batch %d, %d epochs over %d training images; seed %d",
                lrs, batch, nEpochs, data.train().size(), common.seed);
        System.out.println("saturation: " + setup);

        Map<String, Run> runs = new LinkedHashMap<>();
        Map<String, DiagnosticsListener> satProbes = new LinkedHashMap<>();
        Map<String, DiagnosticsListener> gradProbes = new LinkedHashMap<>();
        MetricsLog evalLog = new MetricsLog(dir.resolve("epochs.csv"), Trainer.EVAL_COLUMNS);
        try (evalLog; DiagnosticsCsv csv = DiagnosticsCsv.in(dir)) {
            for (double lr : lrs) {
                for (Variant v : vs) {
                    String name = lrs.size() > 1 ? v.name() + "@" + Report.num(lr) : v.name();
                    Nd4j.getRandom().setSeed(common.seed);
                    MultiLayerNetwork net = Mlp.build(FashionMnist.PIXELS, HIDDEN, FashionMnist.CLASSES, v, Activation.TANH,
                            new Sgd(lr), common.seed);
                    ShuffledBatchIterator it = data.train().iterator(batch, common.seed, FashionMnist.Shape.FLAT, true);
                    // saturation on the fixed probe images, gradient norms on the batch of the probed step
                    DiagnosticsListener sat = DiagnosticsListener.builder().every(every).data(probeSet)
                            .saturation(threshold, ACTS.stream().map(Site::output).toArray(Site[]::new)).csv(csv, name).build();
                    DiagnosticsListener grad = DiagnosticsListener.builder().every(every)
                            .gradientNorms(WEIGHTS.toArray(String[]::new)).csv(csv, name).build();
                    System.out.println("Run '" + name + "': " + v.describe() + ", lr " + Report.num(lr));
                    Trainer.Result r = new Trainer(name, net, it, it.batchesPerEpoch()).evaluate(null, test)
                            .progress(!common.noProgress).evalLog(evalLog).listeners(sat, grad).run(nEpochs);
                    satProbes.put(name, sat);
                    gradProbes.put(name, grad);
                    double[] meanSat = ACTS.stream().mapToDouble(a -> Stats.mean(sat.saturation().stream()
                            .mapToDouble(p -> p.value().get(Site.output(a))).toArray())).toArray();
                    double[] meanGrad = WEIGHTS.stream().mapToDouble(w -> Stats.mean(grad.gradientNorms().stream()
                            .mapToDouble(p -> p.value().get(w)).toArray())).toArray();
                    runs.put(name, new Run(name, v, lr, r, meanSat, meanGrad));
                }
            }
        }
        return new Result(data, setup, every, probeSet.numExamples(), runs, satProbes, gradProbes, evalLog, (System.nanoTime() - t0) / 1e9);
    }

    /** Prints the means, draws the charts and writes summary.md. */
    void report(Result res, Path dir) throws IOException {
        Map<String, Run> runs = res.runs();
        int every = res.every();
        List<String> names = new ArrayList<>(runs.keySet());

        System.out.println();
        System.out.println("Mean over training of the saturated fraction (act1, act2) and gradient norms (fc1, fc2, out):");
        for (Run r : runs.values()) {
            System.out.printf(Locale.ROOT, "  %-8s saturated %s, %s  grad %s, %s, %s  test acc %s%s%n", r.name(), Report.pct(r.meanSat()[0]),
                    Report.pct(r.meanSat()[1]), Report.num(r.meanGrad()[0]), Report.num(r.meanGrad()[1]), Report.num(r.meanGrad()[2]),
                    Report.num(r.result().last().testAcc(), 4), r.result().diverged() ? " DIVERGED" : "");
        }

        DiagnosticsCharts.write(dir, "", res.saturation());
        DiagnosticsCharts.write(dir, "", res.gradients());
        Plots.lineChart(dir.resolve("test_accuracy.png"), "Test accuracy per epoch", "epoch", "test accuracy",
                Charts.perRun(res.evals(), "epoch", "test_acc", names, 1),
                Plots.Style.MARKERS.withLegend(org.knowm.xchart.style.Styler.LegendPosition.OutsideE));

        Report rep = new Report("saturation: batch norm before tanh", common.commandLine());
        for (double lr : lrs) {
            Run none = find(runs, "none", lr);
            Run bn = find(runs, "bn", lr);
            if (none == null || bn == null) {
                continue;
            }
            String at = " (lr " + Report.num(lr) + ")";
            int held = (bn.meanSat()[0] < none.meanSat()[0] ? 1 : 0) + (bn.meanSat()[1] < none.meanSat()[1] ? 1 : 0);
            rep.verdict("batch norm before tanh gives fewer saturated units" + at + ".", Report.Outcome.of(held, 2),
                    String.format(Locale.ROOT, "mean saturated fraction over training, with / without BN: layer 1 %s / %s, "
                                    + "layer 2 %s / %s.", Report.pct(bn.meanSat()[0]), Report.pct(none.meanSat()[0]),
                            Report.pct(bn.meanSat()[1]), Report.pct(none.meanSat()[1])));
            double rb = bn.meanGrad()[0] / bn.meanGrad()[2];
            double rn = none.meanGrad()[0] / none.meanGrad()[2];
            rep.verdict("with batch norm the gradients stay healthier: the first layer's gradient is not attenuated "
                            + "relative to the output layer's (ratio ‖∇W_1‖ / ‖∇W_out‖ larger with BN)" + at + ".",
                    Report.Outcome.of(rb > rn), String.format(Locale.ROOT, "mean ratio with BN %s, without %s "
                                    + "(mean ‖∇W_1‖ %s vs %s).", Report.num(rb), Report.num(rn), Report.num(bn.meanGrad()[0]),
                            Report.num(none.meanGrad()[0])));
            double ab = bn.result().diverged() ? 0 : bn.result().last().testAcc();
            double an = none.result().diverged() ? 0 : none.result().last().testAcc();
            rep.verdict("batch norm trains the tanh network at least as well (test accuracy at the end)" + at + ".",
                    Report.Outcome.of(ab >= an), "test accuracy with BN " + Report.num(ab, 4) + ", without " + Report.num(an, 4) + ".");
        }
        rep.heading("Figures");
        List<List<String>> t = new ArrayList<>();
        for (Run r : runs.values()) {
            t.add(List.of(r.name(), r.v().describe(), Report.num(r.lr()), Report.pct(r.meanSat()[0]), Report.pct(r.meanSat()[1]),
                    Report.num(r.meanGrad()[0]), Report.num(r.meanGrad()[1]), Report.num(r.meanGrad()[2]),
                    Report.num(r.result().last().testAcc(), 4) + (r.result().diverged() ? " (diverged)" : ""),
                    Report.num(r.result().seconds())));
        }
        rep.table(List.of("run", "layer", "lr", "saturated, layer 1", "saturated, layer 2", "‖∇W_1‖", "‖∇W_2‖", "‖∇W_out‖",
                "test acc (end)", "training s"), t);
        rep.text("Means over the probes (before step 0 and every " + every + " steps after; bn4j's DiagnosticsListener). Saturated: fraction of (image, unit) "
                + "pairs with |tanh| > " + threshold + " on the first " + res.probeImages() + " training images, in "
                + "training mode (batch statistics of those images). Gradient norms: ‖∂L/∂W‖₂ of the weight matrices on the "
                + "step's batch (mean loss over the batch).");
        rep.image("saturation", "saturation.png").image("gradient norms", "gradient_norms.png").image("test accuracy", "test_accuracy.png");
        rep.heading("Setup");
        rep.text("- " + res.setup() + ".");
        rep.text("- Data: " + res.data().source() + "; inputs standardized as in compare. Evaluation of the test set in inference mode.");
        rep.machine(res.seconds());
        rep.write(dir.resolve("summary.md"));
        System.out.println("Wrote " + dir.toAbsolutePath() + "/{epochs.csv,saturation.csv,gradient_norms.csv,*.png,summary.md}");
    }

    private static Run find(Map<String, Run> runs, String v, double lr) {
        return runs.values().stream().filter(r -> r.v().name().equals(v) && r.lr() == lr).findFirst().orElse(null);
    }
}
