package org.bn4j.examples.experiments;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.bn4j.examples.CommonOptions;
import org.bn4j.examples.nets.Variant;
import org.bn4j.diagnostics.DiagnosticsCharts;
import org.bn4j.diagnostics.DiagnosticsCsv;
import org.bn4j.diagnostics.DiagnosticsListener;
import org.bn4j.diagnostics.Landscape;
import org.bn4j.examples.util.MetricsLog;
import org.bn4j.examples.util.Plots;
import org.bn4j.examples.util.Report;
import org.bn4j.examples.util.Stats;
import org.bn4j.examples.util.Trainer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * VGG-mini runs with Santurkar et al.'s landscape probe (loss band, gradient predictiveness, effective
 * β-smoothness; bn4j's {@code org.bn4j.diagnostics}) every few steps; shared by {@code landscape} and {@code lp}.
 * Step sizes η = multiples × lr.
 */
final class LandscapeRuns {

    /** The paper's step range: 0.5 to 4 times the learning rate. */
    static final double[] ETA_MULTIPLES = {0.5, 1, 2, 3, 4};

    /** Aggregates of one run. */
    record Run(String name, Variant variant, double lr, Trainer.Result result, double testAcc, double lossRange,
               double gradDiff, double gradDiffEarly, double beta, double betaEarly) {
    }

    /** The runs, their probes as recorded, and the evaluations (for the charts). */
    record Result(Map<String, Run> runs, Map<String, DiagnosticsListener> probes, MetricsLog evals) {
    }

    private LandscapeRuns() {
    }

    static String runName(Variant v, double lr, boolean severalLrs) {
        return severalLrs ? v.name() + "@" + Report.num(lr) : v.name();
    }

    /**
     * Trains every variant at every lr with bn4j's landscape probe ({@link DiagnosticsListener#landscape}); writes
     * steps.csv, evals.csv and landscape.csv to {@code dir}.
     */
    static Result run(Path dir, List<Variant> vs, List<Double> lrs, CnnOptions cnn, CnnData data, CommonOptions common)
            throws IOException {
        boolean q = common.quick;
        Map<String, Run> out = new LinkedHashMap<>();
        Map<String, DiagnosticsListener> probes = new LinkedHashMap<>();
        MetricsLog evals = new MetricsLog(dir.resolve("evals.csv"), Trainer.EVAL_COLUMNS);
        try (evals; MetricsLog steps = new MetricsLog(dir.resolve("steps.csv"), Trainer.STEP_COLUMNS);
             DiagnosticsCsv csv = DiagnosticsCsv.in(dir)) {
            for (double lr : lrs) {
                for (Variant v : vs) {
                    String name = runName(v, lr, lrs.size() > 1);
                    MultiLayerNetwork net = cnn.net(v, lr, common.seed, q);
                    double[] etas = new double[ETA_MULTIPLES.length];
                    for (int i = 0; i < etas.length; i++) {
                        etas[i] = ETA_MULTIPLES[i] * lr;
                    }
                    DiagnosticsListener probe = DiagnosticsListener.builder().every(cnn.probeEvery(q)).landscape(etas)
                            .csv(csv, name).build();
                    System.out.println("Run '" + name + "': " + v.describe() + ", lr " + Report.num(lr));
                    Trainer.Result r = cnn.train(name, net, data, common.seed, common, steps, evals, probe);
                    probes.put(name, probe);
                    List<Landscape> ls = probe.landscapes().stream().map(DiagnosticsListener.Probed::value).toList();
                    double[] range = ls.stream().mapToDouble(Landscape::lossRange).toArray();
                    double[] gd = ls.stream().mapToDouble(Landscape::gradDiffMax).toArray();
                    double[] beta = ls.stream().mapToDouble(Landscape::betaMax).toArray();
                    out.put(name, new Run(name, v, lr, r, r.diverged() ? Double.NaN : CnnOptions.testAccuracy(net, data),
                            Stats.median(range), Stats.median(gd), Stats.mean(Stats.head(gd, 0.25)), Stats.median(beta),
                            Stats.mean(Stats.head(beta, 0.25))));
                }
            }
        }
        return new Result(out, probes, evals);
    }

    /** The probes' charts and the training accuracy. */
    static void charts(Path dir, Result r) throws IOException {
        DiagnosticsCharts.write(dir, "", r.probes());
        Plots.lineChart(dir.resolve("train_accuracy.png"), "Training accuracy (first training images, inference mode)",
                "step", "accuracy", Charts.perRun(r.evals(), "step", "train_acc", new ArrayList<>(r.runs().keySet()), 1),
                Plots.Style.MARKERS.withLegend(org.knowm.xchart.style.Styler.LegendPosition.OutsideE));
    }

    /** Table of the runs' aggregates. */
    static void table(Report rep, Map<String, Run> runs) {
        List<List<String>> rows = new ArrayList<>();
        for (Run r : runs.values()) {
            rows.add(List.of(r.name(), r.variant().describe(), Report.num(r.lr()),
                    r.result().diverged() ? "diverged at step " + r.result().steps() : Report.num(r.result().last().trainAcc(), 4),
                    Report.num(r.testAcc(), 4), Report.num(r.lossRange()), Report.num(r.gradDiff()), Report.num(r.gradDiffEarly()),
                    Report.num(r.beta()), Report.num(r.betaEarly()), Report.num(r.result().seconds())));
        }
        rep.table(List.of("run", "layer", "lr", "train acc (end)", "test acc (end)", "loss range (median)",
                "grad change (median of max)", "grad change, first 25% of probes", "effective beta (median)",
                "effective beta, first 25%", "seconds"), rows);
        rep.text("Loss range: max − min over η of L(w − ηg) at a probe; grad change: max over η of ‖∇L(w) − ∇L(w − ηg)‖₂; "
                + "effective β: max over η of that change divided by ‖ηg‖₂. Medians over the probes of a run, and means over "
                + "its first quarter of probes (early training). All on the batch of the probed step, in training mode.");
    }

    /** Verdicts comparing {@code other} (e.g. "bn") against {@code base} (e.g. "none") at each lr. */
    static void verdicts(Report rep, Map<String, Run> runs, String other, String base, String what) {
        for (Run o : runs.values()) {
            if (!o.variant().name().equals(other)) {
                continue;
            }
            Run b = runs.values().stream().filter(r -> r.variant().name().equals(base) && r.lr() == o.lr()).findFirst().orElse(null);
            if (b == null) {
                continue;
            }
            String at = " (lr " + Report.num(o.lr()) + ")";
            if (b.result().diverged() || o.result().diverged()) {
                // the probes of a diverged run cover only its first steps: its medians do not compare with a whole run's
                rep.verdict("with " + what + " the network trains where the one without it diverges" + at + ".",
                        Report.Outcome.of(b.result().diverged() && !o.result().diverged()),
                        String.format(Locale.ROOT, "%s %s, %s %s; the landscape figures are not compared at this learning "
                                + "rate (the probes of a diverged run cover only its steps before divergence).", base, status(b),
                                other, status(o)));
                continue;
            }
            rep.verdict("with " + what + " the loss changes less along the gradient (here: median loss range over η at most 0.9x "
                            + "the one without)" + at + ".", Report.Outcome.of(o.lossRange() < 0.9 * b.lossRange()),
                    String.format(Locale.ROOT, "median loss range %s: %s, %s: %s (ratio %s).", other, Report.num(o.lossRange()),
                            base, Report.num(b.lossRange()), Report.num(o.lossRange() / b.lossRange())));
            double early = b.gradDiffEarly() / o.gradDiffEarly();
            Report.Outcome gp = o.gradDiff() < 0.9 * b.gradDiff() ? (early >= 10 ? Report.Outcome.HELD : Report.Outcome.PARTLY)
                    : Report.Outcome.NOT_HELD;
            rep.verdict("with " + what + " the gradient is more predictive (smaller change of the gradient along the step), by "
                            + "about two orders of magnitude early in training (held: median at most 0.9x and at least 10x "
                            + "smaller over the first quarter of the probes; in part: median at most 0.9x, less than 10x early)"
                            + at + ".", gp,
                    String.format(Locale.ROOT, "median gradient change %s: %s, %s: %s; first quarter of training %s vs %s, "
                                    + "%s times smaller.", other, Report.num(o.gradDiff()), base, Report.num(b.gradDiff()),
                            Report.num(o.gradDiffEarly()), Report.num(b.gradDiffEarly()), Report.num(early)));
            rep.verdict("with " + what + " the effective β-smoothness is smaller (here: median at most 0.9x)" + at + ".",
                    Report.Outcome.of(o.beta() < 0.9 * b.beta()), String.format(Locale.ROOT, "median effective β %s: %s, %s: %s "
                            + "(ratio %s).", other, Report.num(o.beta()), base, Report.num(b.beta()), Report.num(o.beta() / b.beta())));
        }
    }

    private static String status(Run r) {
        return r.result().diverged() ? "diverged at step " + r.result().steps() : "trained " + r.result().steps() + " steps";
    }

    static void images(Report rep) {
        rep.image("loss landscape", "loss_landscape.png").image("gradient predictiveness", "gradient_predictiveness.png")
                .image("effective beta-smoothness", "beta_smoothness.png").image("training accuracy", "train_accuracy.png");
    }
}
