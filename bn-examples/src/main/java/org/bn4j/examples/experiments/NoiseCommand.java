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
import org.bn4j.examples.nets.Variant;
import org.bn4j.diagnostics.DiagnosticsCharts;
import org.bn4j.diagnostics.DiagnosticsCsv;
import org.bn4j.diagnostics.DiagnosticsListener;
import org.bn4j.diagnostics.Site;
import org.bn4j.examples.util.MetricsLog;
import org.bn4j.examples.util.Plots;
import org.bn4j.examples.util.Report;
import org.bn4j.examples.util.Report.Outcome;
import org.bn4j.examples.util.Trainer;
import org.bn4j.examples.util.Stats;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code noise}: Santurkar et al. (2018) §2.1. VGG-mini standard, with batch norm, with noisy batch norm (batch norm
 * followed by their distribution-changing noise) and with the noise alone; training accuracy and loss against steps,
 * test accuracy, and the distribution of the pre-activations (the inputs of the activation layers, in training mode,
 * noise included) over steps.
 */
@Command(name = "noise", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Noise injection (Santurkar et al. 2018, sec. 2.1): VGG-mini without normalization, with batch norm, "
                + "with noisy batch norm and with the noise only; accuracy against steps and the stability of the "
                + "activation distributions.",
                "Writes steps.csv, evals.csv, activations.csv, train_accuracy.png, train_loss.png, activations_<layer>_in.png, "
                        + "activation_drift.png and summary.md."})
public class NoiseCommand implements Callable<Integer> {

    @Mixin
    CommonOptions common;

    @Mixin
    CnnOptions cnn;

    @Option(names = "--lr", paramLabel = "X", defaultValue = "0.1", description = "Learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--variants", split = ",", paramLabel = "LIST", defaultValue = "none,bn,noisy,noise",
            description = "Runs (default: ${DEFAULT-VALUE}); names as in compare.")
    List<String> variants;

    /** Layers whose inputs are watched (the pre-activations of conv blocks 2 and 4 and of the dense layer). */
    static final List<String> WATCHED = List.of("act2", "act4", "act5");
    /** The layer whose input the verdicts' figures name first. */
    static final String SHOWN = "act4";

    /** What a run measured: each run's training, final test accuracy, mean drift per watched layer and probes. */
    record Result(CnnData data, List<Variant> variants, Map<String, Trainer.Result> runs, Map<String, Double> testAcc,
                  Map<String, Map<String, Double>> drift, Map<String, DiagnosticsListener> probes, MetricsLog steps,
                  MetricsLog evals, double seconds) {
    }

    @Override
    public Integer call() throws Exception {
        return common.eachSeed(cnn.seeds(), dir -> report(run(dir), dir));
    }

    /** Trains every run with the activation probe, writing steps.csv, evals.csv and activations.csv. */
    Result run(Path dir) throws IOException {
        long t0 = System.nanoTime();
        boolean q = common.quick;
        CnnData data = cnn.data(common);
        List<Variant> vs = Variant.parse(variants, common.seed);
        System.out.println("noise: " + cnn.describe(data, q, String.valueOf(lr)) + "; seed " + common.seed);

        Map<String, Trainer.Result> results = new LinkedHashMap<>();
        Map<String, Double> testAcc = new LinkedHashMap<>();
        Map<String, Map<String, Double>> drift = new LinkedHashMap<>();
        Map<String, DiagnosticsListener> probes = new LinkedHashMap<>();
        MetricsLog steps = new MetricsLog(dir.resolve("steps.csv"), Trainer.STEP_COLUMNS);
        MetricsLog evals = new MetricsLog(dir.resolve("evals.csv"), Trainer.EVAL_COLUMNS);
        try (steps; evals; DiagnosticsCsv csv = DiagnosticsCsv.in(dir)) {
            for (Variant v : vs) {
                MultiLayerNetwork net = cnn.net(v, lr, common.seed, q);
                System.out.println("Run '" + v.name() + "': " + v.describe());
                DiagnosticsListener probe = DiagnosticsListener.builder().every(cnn.probeEvery(q))
                        .activations(WATCHED.stream().map(Site::input).toArray(Site[]::new)).csv(csv, v.name()).build();
                Trainer.Result r = cnn.train(v.name(), net, data, common.seed, common, steps, evals, probe);
                results.put(v.name(), r);
                probes.put(v.name(), probe);
                testAcc.put(v.name(), r.diverged() ? Double.NaN : CnnOptions.testAccuracy(net, data));
                Map<String, Double> dm = new LinkedHashMap<>();
                for (String l : WATCHED) {
                    dm.put(l, Stats.mean(probe.activations().stream().mapToDouble(p -> p.value().get(Site.input(l)).drift()).toArray()));
                }
                drift.put(v.name(), dm);
            }
        }
        return new Result(data, vs, results, testAcc, drift, probes, steps, evals, (System.nanoTime() - t0) / 1e9);
    }

    /** Prints the accuracies, draws the charts and writes summary.md. */
    void report(Result res, Path dir) throws IOException {
        boolean q = common.quick;
        CnnData data = res.data();
        List<Variant> vs = res.variants();
        List<String> names = vs.stream().map(Variant::name).toList();
        Map<String, Trainer.Result> results = res.runs();
        Map<String, Double> testAcc = res.testAcc();
        Map<String, Map<String, Double>> drift = res.drift();
        Map<String, DiagnosticsListener> probes = res.probes();
        MetricsLog steps = res.steps();
        MetricsLog evals = res.evals();
        System.out.println();
        System.out.printf(Locale.ROOT, "Final accuracies after %d steps (train: first 1,000 training images; test: whole test set):%n", cnn.steps(q));
        for (String n : names) {
            Trainer.Result r = results.get(n);
            System.out.printf(Locale.ROOT, "  %-7s train %.4f  test %.4f  mean drift of %s %.4f%s  (%.1f s)%n", n,
                    r.diverged() ? Double.NaN : r.last().trainAcc(), testAcc.get(n), SHOWN, drift.get(n).get(SHOWN),
                    r.diverged() ? " DIVERGED" : "", r.seconds());
        }

        int smooth = Math.max(1, cnn.steps(q) / 30);
        Plots.lineChart(dir.resolve("train_accuracy.png"), "Noise injection: training accuracy (first 1,000 training images, inference mode)",
                "step", "accuracy", Charts.perRun(evals, "step", "train_acc", names, 1), Plots.Style.MARKERS);
        Plots.lineChart(dir.resolve("train_loss.png"), "Noise injection: training loss (moving average of " + smooth + " steps)",
                "step", "cross-entropy (training mode)", Charts.perRun(steps, "step", "train_loss", names, smooth),
                Plots.Style.LINES.withLegend(org.knowm.xchart.style.Styler.LegendPosition.InsideNE));
        DiagnosticsCharts.write(dir, "", probes);

        Report rep = new Report("noise: noise injection (Santurkar et al. 2018, §2.1)", common.commandLine());
        verdicts(rep, results, testAcc, drift);
        rep.heading("Figures");
        List<List<String>> rows = new ArrayList<>();
        for (Variant v : vs) {
            Trainer.Result r = results.get(v.name());
            List<String> row = new ArrayList<>(List.of(v.name(), v.describe(),
                    r.diverged() ? "diverged at step " + r.steps() : Report.num(r.last().trainAcc(), 4),
                    Report.num(testAcc.get(v.name()), 4), Report.num(r.meanLossLast(Math.max(1, cnn.steps(q) / 10)), 3)));
            for (String l : WATCHED) {
                row.add(Report.num(drift.get(v.name()).get(l), 3));
            }
            row.add(Report.num(r.seconds(), 3));
            rows.add(row);
        }
        List<String> header = new ArrayList<>(List.of("run", "layer", "train acc (end)", "test acc (end)",
                "train loss (last 10% of steps)"));
        for (String l : WATCHED) {
            header.add("drift " + l);
        }
        header.add("seconds");
        rep.table(header, rows);
        rep.text("Drift: how much the distribution of a layer's input (per channel mean and std, training mode, on the "
                + "step's batch, noise included) moves between consecutive probes, relative to its std; averaged over "
                + "probes. act2, act4, act5 are the inputs of the ReLUs of conv block 2, conv block 4 and the dense layer.");
        rep.image("training accuracy", "train_accuracy.png").image("training loss", "train_loss.png")
                .image("activation distribution", "activations_" + SHOWN + "_in.png").image("activation drift", "activation_drift.png");
        rep.heading("Setup");
        rep.text("- " + cnn.describe(data, q, String.valueOf(lr)) + ".");
        rep.text("- Probes every " + cnn.probeEvery(q) + " steps, before the step, on that step's batch. Noise: "
                + "NoiseConfig.santurkar() (n_mu 0.5, n_sigma 1.25, r_mu = r_sigma = 0.1) with seed " + common.seed
                + ", after the affine map; the noise-only run uses the same noise in place of the norm layers.");
        rep.text("- Seed " + common.seed + " for initialization, batches and noise (one seed).");
        rep.machine(res.seconds());
        rep.write(dir.resolve("summary.md"));
        System.out.println("Wrote " + dir.toAbsolutePath() + "/{steps.csv,evals.csv,activations.csv,*.png,summary.md}");
    }

    private void verdicts(Report rep, Map<String, Trainer.Result> res, Map<String, Double> test,
                          Map<String, Map<String, Double>> drift) {
        // training loss in training mode (noise included) over the last 10% of steps: the paper's training curves are
        // measured during training; inference-mode accuracy of a noisy network drops the noise it was trained with
        int tail = Math.max(1, cnn.steps(common.quick) / 10);
        Double bn = loss(res, "bn", tail);
        Double noisy = loss(res, "noisy", tail);
        Double none = loss(res, "none", tail);
        Double noise = loss(res, "noise", tail);
        String how = " (training loss, training mode, mean of the last " + tail + " steps)";
        if (bn != null && noisy != null && none != null) {
            rep.verdict("noisy batch norm trains about as well as batch norm (here: its training loss is closer to batch "
                            + "norm's than to the standard network's).", Outcome.of(Math.abs(noisy - bn) < Math.abs(noisy - none)),
                    String.format(Locale.ROOT, "noisy BN %s, BN %s, standard %s%s; inference-mode accuracy on 1,000 training "
                                    + "images %s, %s, %s; test accuracy %s, %s, %s.", Report.num(noisy), Report.num(bn),
                            Report.num(none), how, accText(res, "noisy"), accText(res, "bn"), accText(res, "none"),
                            Report.num(test.get("noisy"), 4), Report.num(test.get("bn"), 4), Report.num(test.get("none"), 4)));
        }
        if (none != null && noisy != null) {
            rep.verdict("noisy batch norm trains better than the standard network.", Outcome.of(noisy < none),
                    String.format(Locale.ROOT, "noisy BN %s, standard %s%s.", Report.num(noisy), Report.num(none), how));
        }
        if (drift.containsKey("bn") && drift.containsKey("noisy")) {
            int held = 0;
            StringBuilder m = new StringBuilder("mean relative drift between probes, noisy BN vs BN:");
            for (String l : WATCHED) {
                double a = drift.get("noisy").get(l);
                double b = drift.get("bn").get(l);
                held += a > b ? 1 : 0;
                m.append(' ').append(l).append(' ').append(Report.num(a)).append(" vs ").append(Report.num(b)).append(';');
            }
            m.setLength(m.length() - 1);
            rep.verdict("the activation distributions of noisy batch norm are less stable than batch norm's.",
                    Outcome.of(held, WATCHED.size()), m + ".");
        }
        if (res.containsKey("noise")) {
            Trainer.Result r = res.get("noise");
            double first = Stats.mean(Stats.head(r.losses(), 0.05));
            Outcome o = r.diverged() || noise >= 0.8 * first ? Outcome.HELD
                    : none != null && noise > none ? Outcome.PARTLY : Outcome.NOT_HELD;
            rep.verdict("the same noise without batch norm stops training (held: diverges or the loss stays above 80% of its "
                            + "start; in part: it trains, but worse than the standard network).", o,
                    r.diverged() ? "the noise-only run diverged at step " + r.steps() + "."
                            : String.format(Locale.ROOT, "noise only: loss %s at the start (first 5%% of steps), %s at the end; "
                                    + "standard %s at the end%s.", Report.num(first), Report.num(noise),
                            none == null ? "n/a" : Report.num(none), how));
        }
    }

    private static Double loss(Map<String, Trainer.Result> res, String name, int tail) {
        Trainer.Result r = res.get(name);
        if (r == null) {
            return null;
        }
        return r.diverged() ? Double.POSITIVE_INFINITY : r.meanLossLast(tail);
    }

    private static String accText(Map<String, Trainer.Result> res, String name) {
        Trainer.Result r = res.get(name);
        return r == null ? "n/a" : r.diverged() ? "diverged" : Report.num(r.last().trainAcc(), 4);
    }
}
