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
import org.bn4j.diagnostics.CovariateShift;
import org.bn4j.diagnostics.DiagnosticsCharts;
import org.bn4j.diagnostics.DiagnosticsCsv;
import org.bn4j.diagnostics.DiagnosticsListener;
import org.bn4j.examples.util.MetricsLog;
import org.bn4j.examples.util.Plots;
import org.bn4j.examples.util.Report;
import org.bn4j.examples.util.Stats;
import org.bn4j.examples.util.Trainer;
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
                "Writes steps.csv, evals.csv, cnn_ics.csv, dln_loss.csv, dln_ics.csv, cnn_ics.png, cnn_ics_diff.png, dln_ics.png, "
                        + "dln_ics_diff.png, dln_loss.png and summary.md."})
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

    /**
     * What a run measured.
     *
     * @param rows   medians per network, run and layer
     * @param accs   the outcome of training per network and run
     * @param probes the probes as recorded, by network ({@code cnn_}, {@code dln_}) and run
     * @param dlnLoss the deep linear network's loss per step (null when not run)
     */
    record Result(List<Row> rows, Map<String, String> accs, List<String> setup,
                  Map<String, Map<String, DiagnosticsListener>> probes, MetricsLog dlnLoss, double seconds) {
    }

    @Override
    public Integer call() throws Exception {
        cnn.defaultProbeEvery = 50; // an ICS probe costs one gradient per watched layer
        return common.eachSeed(cnn.seeds(), dir -> report(run(dir), dir));
    }

    /** Trains both networks with and without batch norm under the ICS probe, writing their CSV files. */
    Result run(Path dir) throws IOException {
        long t0 = System.nanoTime();
        boolean q = common.quick;
        List<Variant> vs = Variant.parse(variants, common.seed);
        List<Row> rows = new ArrayList<>();
        Map<String, String> accs = new LinkedHashMap<>();
        List<String> setup = new ArrayList<>();
        Map<String, Map<String, DiagnosticsListener>> allProbes = new LinkedHashMap<>();
        MetricsLog dlnLoss = null;

        if (nets.contains("cnn")) {
            CnnData data = cnn.data(common);
            System.out.println("ics (CNN): " + cnn.describe(data, q, Report.num(lr)) + "; seed " + common.seed);
            setup.add("- CNN: " + cnn.describe(data, q, Report.num(lr)) + ". ICS probe every " + cnn.probeEvery(q)
                    + " steps for " + CNN_LAYERS + ".");
            Map<String, DiagnosticsListener> probes = new LinkedHashMap<>();
            try (MetricsLog steps = new MetricsLog(dir.resolve("steps.csv"), Trainer.STEP_COLUMNS);
                 MetricsLog evals = new MetricsLog(dir.resolve("evals.csv"), Trainer.EVAL_COLUMNS);
                 DiagnosticsCsv csv = DiagnosticsCsv.in(dir, "cnn_")) {
                for (Variant v : vs) {
                    MultiLayerNetwork net = cnn.net(v, lr, common.seed, q);
                    System.out.println("Run '" + v.name() + "' (CNN): " + v.describe());
                    DiagnosticsListener probe = icsProbe(cnn.probeEvery(q), lr, CNN_LAYERS, csv, v.name());
                    Trainer.Result r = cnn.train(v.name(), net, data, common.seed, common, steps, evals, probe);
                    probes.put(v.name(), probe);
                    accs.put("CNN " + v.name(), r.diverged() ? "diverged" : "train " + Report.num(r.last().trainAcc(), 3)
                            + ", test " + Report.num(CnnOptions.testAccuracy(net, data), 3));
                }
            }
            rows.addAll(aggregate("CNN", probes));
            allProbes.put("cnn_", probes);
        }
        if (nets.contains("dln")) {
            DataSet d = dln.data(common.seed);
            System.out.println("ics (deep linear): " + dln.describe(q) + "; seed " + common.seed);
            setup.add("- Deep linear network: " + dln.describe(q) + ". ICS probe every " + dln.probeEvery(q) + " steps for "
                    + DeepLinearRuns.icsLayers() + ".");
            Map<String, DiagnosticsListener> probes = new LinkedHashMap<>();
            MetricsLog loss = new MetricsLog(dir.resolve("dln_loss.csv"), Trainer.STEP_COLUMNS);
            dlnLoss = loss;
            try (loss; DiagnosticsCsv csv = DiagnosticsCsv.in(dir, "dln_")) {
                for (Variant v : vs) {
                    MultiLayerNetwork net = dln.net(v, common.seed);
                    DiagnosticsListener probe = icsProbe(dln.probeEvery(q), dln.lr(), DeepLinearRuns.icsLayers(), csv, v.name());
                    Trainer.Result r = dln.train(v.name(), net, d, q, !common.noProgress, loss, probe);
                    probes.put(v.name(), probe);
                    accs.put("deep linear " + v.name(), r.diverged() ? "diverged at step " + r.steps()
                            : "loss " + Report.num(r.losses()[0]) + " → " + Report.num(r.losses()[r.losses().length - 1]));
                }
            }
            rows.addAll(aggregate("deep linear", probes));
            allProbes.put("dln_", probes);
        }
        return new Result(rows, accs, setup, allProbes, dlnLoss, (System.nanoTime() - t0) / 1e9);
    }

    /** Prints the medians, draws the charts and writes summary.md. */
    void report(Result res, Path dir) throws IOException {
        List<Row> rows = res.rows();
        Map<String, String> accs = res.accs();
        for (Map.Entry<String, Map<String, DiagnosticsListener>> e : res.probes().entrySet()) {
            DiagnosticsCharts.write(dir, e.getKey(), e.getValue());
        }
        if (res.dlnLoss() != null) {
            Plots.lineChart(dir.resolve("dln_loss.png"), "Deep linear network: training loss (full batch)", "step", "loss (log)",
                    Charts.perRun(res.dlnLoss(), "step", "train_loss",
                            Variant.parse(variants, common.seed).stream().map(Variant::name).toList(), 1), Plots.Style.LINES.withLogY()
                            .withLegend(org.knowm.xchart.style.Styler.LegendPosition.InsideNE));
        }
        Report rep = new Report("ics: internal covariate shift (Santurkar et al. 2018, Definition 2.1)", common.commandLine());

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
            rep.image("ICS, VGG-mini", "cnn_ics.png").image("ICS, VGG-mini", "cnn_ics_diff.png");
        }
        if (nets.contains("dln")) {
            rep.image("ICS, deep linear network", "dln_ics.png").image("ICS, deep linear network", "dln_ics_diff.png")
                    .image("deep linear network loss", "dln_loss.png");
        }
        rep.heading("Setup");
        res.setup().forEach(rep::text);
        rep.text("- G = ∇_{W_i} L on the step's batch at the current parameters, as plain SGD applies it (mean over the batch); "
                + "G' = the same after every parameter of the layers before layer i (weights, biases, γ, β) took its SGD step "
                + "for this batch. Only the weight matrix/kernel W_i is compared.");
        rep.text("- Seed " + common.seed + " (one seed) for initialization, batches, A and the inputs.");
        rep.machine(res.seconds());
        rep.write(dir.resolve("summary.md"));
        System.out.println("Wrote " + dir.toAbsolutePath() + "/{*.csv,*.png,summary.md}");
    }

    private static DiagnosticsListener icsProbe(int every, double lr, List<String> layers, DiagnosticsCsv csv, String run) {
        return DiagnosticsListener.builder().every(every).covariateShift(lr, layers.toArray(String[]::new)).csv(csv, run).build();
    }

    /** Medians over the probes after step 0, per run and layer. */
    private static List<Row> aggregate(String net, Map<String, DiagnosticsListener> probes) {
        List<Row> out = new ArrayList<>();
        probes.forEach((run, l) -> {
            Map<String, List<CovariateShift>> byLayer = new LinkedHashMap<>();
            l.covariateShifts().stream().filter(p -> p.step() > 0)
                    .forEach(p -> p.value().forEach(c -> byLayer.computeIfAbsent(c.layer(), k -> new ArrayList<>()).add(c)));
            byLayer.forEach((layer, cs) -> out.add(new Row(net, run, layer,
                    Stats.median(cs.stream().mapToDouble(CovariateShift::diffNorm).toArray()),
                    Stats.median(cs.stream().mapToDouble(CovariateShift::cosine).toArray()),
                    Stats.median(cs.stream().mapToDouble(CovariateShift::gradNorm).toArray()),
                    Stats.median(cs.stream().mapToDouble(c -> c.diffNorm() / c.gradNorm()).toArray()))));
        });
        return out;
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
