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
import org.bn4j.examples.util.MetricsLog;
import org.bn4j.examples.util.Plots;
import org.bn4j.examples.util.Report;
import org.bn4j.examples.util.Trainer;
import org.bn4j.examples.util.Stats;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code lp}: Santurkar et al. (2018) §3.3, ℓp normalization (p = 1, 2, ∞) against batch norm: on VGG-mini with the
 * landscape probe of {@code landscape}, and on the 25-layer deep linear network (training loss).
 */
@Command(name = "lp", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Lp batch norm (p = 1, 2, infinity) against batch norm (Santurkar et al. 2018, sec. 3.3): VGG-mini with the "
                + "landscape probes, and the 25-layer deep linear network.",
                "Writes steps.csv, evals.csv, landscape.csv, dln_loss.csv, the landscape PNGs, dln_loss.png and summary.md."})
public class LpCommand implements Callable<Integer> {

    @Mixin
    CommonOptions common;

    @Mixin
    CnnOptions cnn;

    @Mixin
    DeepLinearRuns dln;

    @Option(names = "--lr", paramLabel = "X", defaultValue = "0.1", description = "CNN learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--variants", split = ",", paramLabel = "LIST", defaultValue = "bn,lp1,lpinf",
            description = "CNN runs (default: ${DEFAULT-VALUE}; lp2, L2 batch norm, computes the same function as bn).")
    List<String> variants;

    @Option(names = "--dln-variants", split = ",", paramLabel = "LIST", defaultValue = "bn,lp1,lpinf",
            description = "Deep linear network runs (default: ${DEFAULT-VALUE}; the run without normalization, same "
                    + "setup and seed, is in ics; lp2 computes the same function as bn).")
    List<String> dlnVariants;

    @Option(names = "--nets", split = ",", paramLabel = "LIST", defaultValue = "cnn,dln",
            description = "Networks (default: ${DEFAULT-VALUE}).")
    List<String> nets;

    /**
     * What a run measured.
     *
     * @param cnn      the CNN runs (null when not run)
     * @param dln      the deep linear network's runs by name (empty when not run)
     * @param dlnLoss  its loss per step, for the plot
     * @param setup    setup lines for the summary
     */
    record Result(LandscapeRuns.Result cnn, Map<String, Trainer.Result> dln, MetricsLog dlnLoss, List<String> setup,
                  double seconds) {
    }

    @Override
    public Integer call() throws Exception {
        cnn.defaultProbeEvery = 50; // keeps the default run within 15 minutes on 2 cores
        return common.eachSeed(cnn.seeds(), dir -> report(run(dir), dir));
    }

    /** Trains the CNN runs with the landscape probe and the deep linear runs, writing their CSV files. */
    Result run(Path dir) throws IOException {
        long t0 = System.nanoTime();
        boolean q = common.quick;
        List<String> setup = new ArrayList<>();
        LandscapeRuns.Result cnnRuns = null;
        Map<String, Trainer.Result> dlnRuns = new LinkedHashMap<>();
        List<Variant> dv = Variant.parse(dlnVariants, common.seed);

        if (nets.contains("cnn")) {
            CnnData data = cnn.data(common);
            System.out.println("lp (CNN): " + cnn.describe(data, q, Report.num(lr)) + "; seed " + common.seed);
            setup.add("- CNN: " + cnn.describe(data, q, Report.num(lr)) + "; landscape probe as in `landscape`, every "
                    + cnn.probeEvery(q) + " steps.");
            cnnRuns = LandscapeRuns.run(dir, Variant.parse(variants, common.seed), List.of(lr), cnn, data, common);
        }
        MetricsLog loss = nets.contains("dln") ? new MetricsLog(dir.resolve("dln_loss.csv"), Trainer.STEP_COLUMNS) : null;
        if (loss != null) {
            DataSet d = dln.data(common.seed);
            System.out.println("lp (deep linear): " + dln.describe(q) + "; seed " + common.seed);
            setup.add("- Deep linear network: " + dln.describe(q) + ".");
            try (loss) {
                for (Variant v : dv) {
                    MultiLayerNetwork net = dln.net(v, common.seed);
                    dlnRuns.put(v.name(), dln.train(v.name(), net, d, q, !common.noProgress, loss));
                }
            }
        }
        return new Result(cnnRuns, dlnRuns, loss, setup, (System.nanoTime() - t0) / 1e9);
    }

    /** Prints the figures, draws the charts and writes summary.md. */
    void report(Result res, Path dir) throws IOException {
        Report rep = new Report("lp: ℓp batch normalization against batch norm (Santurkar et al. 2018, §3.3)", common.commandLine());
        Map<String, LandscapeRuns.Run> cnnRuns = res.cnn() == null ? Map.of() : res.cnn().runs();
        Map<String, Trainer.Result> dlnRuns = res.dln();
        List<Variant> dv = Variant.parse(dlnVariants, common.seed);
        if (res.cnn() != null) {
            LandscapeRuns.charts(dir, res.cnn());
        }
        if (!dlnRuns.isEmpty()) {
            Plots.lineChart(dir.resolve("dln_loss.png"), "Deep linear network: training loss (full batch)", "step", "loss (log)",
                    Charts.perRun(res.dlnLoss(), "step", "train_loss", dv.stream().map(Variant::name).toList(), 1),
                    Plots.Style.LINES.withLogY().withLegend(org.knowm.xchart.style.Styler.LegendPosition.InsideNE));
        }
        System.out.println();
        for (LandscapeRuns.Run r : cnnRuns.values()) {
            System.out.printf(Locale.ROOT, "  CNN %-6s train acc %-7s test acc %-7s loss range %-8s grad change %-8s beta %s%n", r.name(),
                    r.result().diverged() ? "diverged" : Report.num(r.result().last().trainAcc(), 4), Report.num(r.testAcc(), 4),
                    Report.num(r.lossRange()), Report.num(r.gradDiff()), Report.num(r.beta()));
        }
        for (Map.Entry<String, Trainer.Result> e : dlnRuns.entrySet()) {
            System.out.printf(Locale.ROOT, "  deep linear %-6s final loss %s%n", e.getKey(), lossText(e.getValue()));
        }

        LandscapeRuns.Run bn = cnnRuns.get("bn");
        if (bn != null) {
            for (LandscapeRuns.Run r : cnnRuns.values()) {
                if (r == bn || r.variant().name().equals("lp2")) {
                    continue;
                }
                boolean smooth = r.gradDiff() <= 2 * bn.gradDiff() && r.beta() <= 2 * bn.beta();
                boolean trains = !r.result().diverged() && r.result().last().trainAcc() >= bn.result().last().trainAcc() - 0.03;
                rep.verdict(r.variant().name() + " normalization trains and smooths the landscape about as well as batch norm "
                                + "(here: training accuracy within 3 points, median gradient change and effective β at most "
                                + "2x batch norm's) on the CNN.", Report.Outcome.of((smooth ? 1 : 0) + (trains ? 1 : 0), 2),
                        String.format(Locale.ROOT, "training accuracy %s vs %s; gradient change %s vs %s; effective β %s vs %s.",
                                r.result().diverged() ? "diverged" : Report.num(r.result().last().trainAcc(), 4),
                                Report.num(bn.result().last().trainAcc(), 4), Report.num(r.gradDiff()), Report.num(bn.gradDiff()),
                                Report.num(r.beta()), Report.num(bn.beta())));
            }
        }
        if (dlnRuns.containsKey("lp1") && dlnRuns.containsKey("bn")) {
            double a = last(dlnRuns.get("lp1"));
            double b = last(dlnRuns.get("bn"));
            rep.verdict("ℓ1 normalization beats batch norm on the deep linear network (lower training loss at the end).",
                    Report.Outcome.of(a < b), "final loss ℓ1 " + lossText(dlnRuns.get("lp1")) + ", batch norm "
                            + lossText(dlnRuns.get("bn")) + (dlnRuns.containsKey("none") ? ", no normalization "
                            + lossText(dlnRuns.get("none")) : "") + ".");
        }
        rep.heading("Figures");
        if (!cnnRuns.isEmpty()) {
            rep.text("VGG-mini:");
            LandscapeRuns.table(rep, cnnRuns);
            LandscapeRuns.images(rep);
        }
        if (!dlnRuns.isEmpty()) {
            rep.text("\nDeep linear network:");
            List<List<String>> rows = new ArrayList<>();
            for (Variant v : dv) {
                Trainer.Result r = dlnRuns.get(v.name());
                rows.add(List.of(v.name(), v.describe(), Report.num(r.losses()[0]), Report.num(Stats.min(r.losses())), lossText(r),
                        Report.num(r.seconds())));
            }
            rep.table(List.of("run", "layer", "initial loss", "lowest loss", "final loss", "seconds"), rows);
            rep.image("deep linear network loss", "dln_loss.png");
        }
        rep.text("\nℓ2 batch norm (LpBatchNorm p = 2) computes the same function as batch norm; its runs differ from the "
                + "batch-norm runs only by floating-point rounding, which grows over training (a consistency check, not a claim).");
        rep.heading("Setup");
        res.setup().forEach(rep::text);
        rep.text("- Lp layers: LpBatchNorm with the Gaussian-consistency constant (so each agrees with batch norm on Gaussian "
                + "data; Santurkar et al. divide by the plain average ℓp norm, which differs by a constant factor per layer "
                + "that γ can absorb); ℓ∞ is the top-1 statistic with Hoffer et al.'s constant.");
        rep.text("- Seed " + common.seed + " (one seed).");
        rep.machine(res.seconds());
        rep.write(dir.resolve("summary.md"));
        System.out.println("Wrote " + dir.toAbsolutePath() + "/{*.csv,*.png,summary.md}");
    }

    private static double last(Trainer.Result r) {
        return r.diverged() ? Double.POSITIVE_INFINITY : r.losses()[r.losses().length - 1];
    }

    private static String lossText(Trainer.Result r) {
        return r.diverged() ? "diverged at step " + r.steps() : Report.num(r.losses()[r.losses().length - 1], 5);
    }
}
