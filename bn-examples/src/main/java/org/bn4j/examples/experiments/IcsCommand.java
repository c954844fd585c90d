package org.bn4j.examples.experiments;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.bn4j.examples.CommonOptions;
import org.bn4j.examples.nets.Variant;
import org.bn4j.examples.probe.Probe;
import org.bn4j.examples.util.MetricsLog;
import org.bn4j.examples.util.Plots;
import org.bn4j.examples.util.Report;
import org.bn4j.examples.util.StepTrainer;
import org.bn4j.examples.util.Stats;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ics}: internal covariate shift as Santurkar et al. (2018, Definition 2.1) measure it, ‖G − G'‖₂ and
 * cos(G, G') where G = ∇_{W_i} L at step t and G' the same gradient after the layers before i took their step t,
 * for VGG-mini and for the 25-layer deep linear network, without and with batch norm.
 */
@Command(name = "ics", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Internal covariate shift (Santurkar et al. 2018, Definition 2.1): ||G - G'|| and cos(G, G') per layer "
                + "over training, for VGG-mini and a 25-layer deep linear network, without and with batch norm.",
                "Writes steps.csv, evals.csv, ics_cnn.csv, dln_loss.csv, ics_dln.csv, ics_cnn.png, ics_dln.png, dln_loss.png "
                        + "and summary.md."})
public class IcsCommand implements Callable<Integer> {

    @Mixin
    CommonOptions common;

    @Mixin
    CnnOptions cnn;

    @Mixin
    DeepLinearRuns dln;

    @Option(names = "--lr", paramLabel = "X", defaultValue = "0.1", description = "CNN learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--variants", split = ",", paramLabel = "LIST", defaultValue = "none,bn",
            description = "Runs for both networks (default: ${DEFAULT-VALUE}).")
    List<String> variants;

    @Option(names = "--nets", split = ",", paramLabel = "LIST", defaultValue = "cnn,dln",
            description = "Networks (default: ${DEFAULT-VALUE}).")
    List<String> nets;

    /** Weight layers of VGG-mini whose ICS is measured (conv1 has no layer before it: G = G'). */
    static final List<String> CNN_LAYERS = List.of("conv2", "conv4", "fc5", "out");

    record Row(String net, String run, String layer, double diff, double cos, double gradNorm, double relDiff) {
    }

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        cnn.defaultProbeEvery = 50; // an ICS probe costs one gradient per watched layer
        Path dir = common.outDir();
        Files.createDirectories(dir);
        boolean q = common.quick;
        List<Variant> vs = Variant.parse(variants, common.seed);
        List<String> names = vs.stream().map(Variant::name).toList();
        List<Row> rows = new ArrayList<>();
        Map<String, String> accs = new LinkedHashMap<>();
        Report rep = new Report("ics: internal covariate shift (Santurkar et al. 2018, Definition 2.1)", common.commandLine());
        List<String> setup = new ArrayList<>();

        if (nets.contains("cnn")) {
            CnnData data = cnn.data(common);
            System.out.println("ics (CNN): " + cnn.describe(data, q, Report.num(lr)) + "; seed " + common.seed);
            setup.add("- CNN: " + cnn.describe(data, q, Report.num(lr)) + ". ICS probe every " + cnn.probeEvery(q)
                    + " steps for " + CNN_LAYERS + ".");
            try (MetricsLog steps = new MetricsLog(dir.resolve("steps.csv"), StepTrainer.STEP_COLUMNS);
                 MetricsLog evals = new MetricsLog(dir.resolve("evals.csv"), StepTrainer.EVAL_COLUMNS);
                 MetricsLog ics = new MetricsLog(dir.resolve("ics_cnn.csv"), "run", "step", "layer", "diff", "cos", "grad_norm")) {
                for (Variant v : vs) {
                    MultiLayerNetwork net = cnn.net(v, lr, common.seed, q);
                    System.out.println("Run '" + v.name() + "' (CNN): " + v.describe());
                    StepTrainer.Result r = cnn.trainer(v.name(), net, data, common.seed, common, steps, evals)
                            .probe(cnn.probeEvery(q), DeepLinearRuns.icsProbe(v.name(), lr, CNN_LAYERS, ics))
                            .run(cnn.steps(q));
                    accs.put("CNN " + v.name(), r.diverged() ? "diverged" : "train " + Report.num(r.last().trainAcc(), 3)
                            + ", test " + Report.num(CnnOptions.testAccuracy(net, data), 3));
                }
                rows.addAll(aggregate("CNN", ics, names, CNN_LAYERS));
                icsPlot(dir.resolve("ics_cnn.png"), "VGG-mini", ics, names, CNN_LAYERS);
            }
        }
        if (nets.contains("dln")) {
            DataSet d = dln.data(common.seed);
            System.out.println("ics (deep linear): " + dln.describe(q) + "; seed " + common.seed);
            setup.add("- Deep linear network: " + dln.describe(q) + ". ICS probe every " + dln.probeEvery(q) + " steps for "
                    + DeepLinearRuns.icsLayers() + ".");
            try (MetricsLog loss = new MetricsLog(dir.resolve("dln_loss.csv"), StepTrainer.STEP_COLUMNS);
                 MetricsLog ics = new MetricsLog(dir.resolve("ics_dln.csv"), "run", "step", "layer", "diff", "cos", "grad_norm")) {
                for (Variant v : vs) {
                    MultiLayerNetwork net = dln.net(v, common.seed);
                    StepTrainer.Result r = dln.trainer(v.name(), net, d, !common.noProgress, loss)
                            .probe(dln.probeEvery(q), DeepLinearRuns.icsProbe(v.name(), dln.lr(), DeepLinearRuns.icsLayers(), ics))
                            .run(dln.steps(q));
                    accs.put("deep linear " + v.name(), r.diverged() ? "diverged at step " + r.steps()
                            : "loss " + Report.num(r.losses()[0]) + " → " + Report.num(r.losses()[r.losses().length - 1]));
                }
                rows.addAll(aggregate("deep linear", ics, names, DeepLinearRuns.icsLayers()));
                icsPlot(dir.resolve("ics_dln.png"), "deep linear network", ics, names, DeepLinearRuns.icsLayers());
                Plots.lineChart(dir.resolve("dln_loss.png"), "Deep linear network: training loss (full batch)", "step",
                        "loss (log)", Charts.perRun(loss, "step", "train_loss", names, 1), Plots.Style.LINES.withLogY()
                                .withLegend(org.knowm.xchart.style.Styler.LegendPosition.InsideNE));
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;

        System.out.println();
        System.out.println("Medians over probes: ||G - G'||, cos(G, G'), ||G||");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "  %-12s %-5s %-6s diff %-9s cos %-7s |G| %s%n", r.net(), r.run(), r.layer(),
                    Report.num(r.diff()), Report.num(r.cos()), Report.num(r.gradNorm()));
        }
        accs.forEach((k, v) -> System.out.println("  " + k + ": " + v));

        verdicts(rep, rows);
        rep.heading("Figures");
        List<List<String>> t = new ArrayList<>();
        for (Row r : rows) {
            t.add(List.of(r.net(), r.run(), r.layer(), Report.num(r.diff()), Report.num(r.relDiff()), Report.num(r.cos()),
                    Report.num(r.gradNorm())));
        }
        rep.table(List.of("network", "run", "layer", "‖G − G'‖ (median)", "‖G − G'‖ / ‖G‖ (median)", "cos(G, G') (median)",
                "‖G‖ (median)"), t);
        rep.text("Medians over the probes after the first (at step 0 nothing has trained yet). Outcome of training:");
        accs.forEach((k, v) -> rep.text("- " + k + ": " + v));
        if (nets.contains("cnn")) {
            rep.image("ICS, VGG-mini", "ics_cnn.png");
        }
        if (nets.contains("dln")) {
            rep.image("ICS, deep linear network", "ics_dln.png").image("deep linear network loss", "dln_loss.png");
        }
        rep.heading("Setup");
        setup.forEach(rep::text);
        rep.text("- G = ∇_{W_i} L on the step's batch at the current parameters, as plain SGD applies it (mean over the batch); "
                + "G' = the same after every parameter of the layers before layer i (weights, biases, γ, β) took its SGD step "
                + "for this batch. Only the weight matrix/kernel W_i is compared.");
        rep.text("- Seed " + common.seed + " (one seed) for initialization, batches, A and the inputs.");
        rep.machine(secs);
        rep.write(dir.resolve("summary.md"));
        System.out.println("Wrote " + dir.toAbsolutePath() + "/{*.csv,*.png,summary.md}");
        return 0;
    }

    private static List<Row> aggregate(String net, MetricsLog ics, List<String> runs, List<String> layers) {
        List<Row> out = new ArrayList<>();
        int run = ics.index("run");
        int layer = ics.index("layer");
        int step = ics.index("step");
        for (String r : runs) {
            for (String l : layers) {
                java.util.function.Predicate<Object[]> f = x -> x[run].equals(r) && x[layer].equals(l)
                        && ((Number) x[step]).longValue() > 0;
                double[] diff = ics.column("diff", f);
                double[] gn = ics.column("grad_norm", f);
                double[] rel = new double[diff.length];
                for (int i = 0; i < rel.length; i++) {
                    rel[i] = diff[i] / gn[i];
                }
                out.add(new Row(net, r, l, Stats.median(diff), Stats.median(ics.column("cos", f)), Stats.median(gn), Stats.median(rel)));
            }
        }
        return out;
    }

    private static void icsPlot(Path png, String what, MetricsLog ics, List<String> runs, List<String> layers)
            throws java.io.IOException {
        List<Plots.Series> cos = new ArrayList<>();
        List<Plots.Series> diff = new ArrayList<>();
        int run = ics.index("run");
        int layer = ics.index("layer");
        for (String r : runs) {
            for (String l : layers) {
                java.util.function.Predicate<Object[]> f = x -> x[run].equals(r) && x[layer].equals(l);
                double[] s = ics.column("step", f);
                cos.add(new Plots.Series(r + " " + l, s, ics.column("cos", f)));
                diff.add(new Plots.Series(r + " " + l, s, ics.column("diff", f)));
            }
        }
        Plots.lineChart(png, "ICS, " + what + ": cos(G, G') per layer", "step", "cos(G, G')", cos,
                Plots.Style.MARKERS.withLegend(org.knowm.xchart.style.Styler.LegendPosition.OutsideE));
        String n = png.getFileName().toString().replace(".png", "_diff.png");
        Plots.lineChart(png.resolveSibling(n), "ICS, " + what + ": ||G - G'|| per layer", "step", "||G - G'|| (log)", diff,
                Plots.Style.MARKERS.withLogY().withLegend(org.knowm.xchart.style.Styler.LegendPosition.OutsideE));
    }

    private static void verdicts(Report rep, List<Row> rows) {
        for (String net : List.of("CNN", "deep linear")) {
            List<Row> bn = rows.stream().filter(r -> r.net().equals(net) && r.run().equals("bn")).toList();
            List<Row> none = rows.stream().filter(r -> r.net().equals(net) && r.run().equals("none")).toList();
            if (bn.isEmpty() || none.isEmpty()) {
                continue;
            }
            int held = 0;
            StringBuilder m = new StringBuilder("median cos(G, G') with / without BN:");
            for (int i = 0; i < bn.size(); i++) {
                Row b = bn.get(i);
                Row n = none.get(i);
                held += b.cos() <= n.cos() + 0.02 ? 1 : 0;
                m.append(' ').append(b.layer()).append(' ').append(Report.num(b.cos())).append(" / ").append(Report.num(n.cos()))
                        .append(" (‖G − G'‖ ").append(Report.num(b.diff())).append(" / ").append(Report.num(n.diff())).append(");");
            }
            m.setLength(m.length() - 1);
            rep.verdict("batch norm does not reduce internal covariate shift in the " + net + " network (counted per layer: "
                    + "cos(G, G') with BN not above the one without, +0.02).", Report.Outcome.of(held, bn.size()), m + ".");
            if (net.equals("deep linear")) {
                double c = Stats.median(bn.stream().mapToDouble(r -> Math.abs(r.cos())).toArray());
                double c0 = Stats.median(none.stream().mapToDouble(r -> Math.abs(r.cos())).toArray());
                rep.verdict("in the deep linear network with batch norm, G and G' become almost uncorrelated (here: the "
                                + "median over layers of |median cos(G, G')| is below 0.3; in part: below the one without BN).",
                        c < 0.3 ? Report.Outcome.HELD : c < c0 ? Report.Outcome.PARTLY : Report.Outcome.NOT_HELD,
                        "median over layers of |median cos(G, G')|: with BN " + Report.num(c) + ", without " + Report.num(c0)
                                + " (a cosine near −1 means G' points against G: correlated, not uncorrelated).");
            }
        }
    }
}
