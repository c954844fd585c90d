package org.bn4j.examples.experiments;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.bn4j.examples.CommonOptions;
import org.bn4j.examples.nets.Variant;
import org.bn4j.examples.util.Report;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code landscape}: Santurkar et al. (2018) §3.1 on VGG-mini: at every probe step t, g = ∇L(w_t) and for
 * η ∈ {0.5, 1, 2, 3, 4} × lr the loss L(w_t − ηg), the gradient predictiveness ‖∇L(w_t) − ∇L(w_t − ηg)‖ and the
 * effective β-smoothness, for the standard network, batch norm and layer norm (the Lp variants: {@code lp}).
 */
@Command(name = "landscape", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Loss landscape, gradient predictiveness and effective beta-smoothness along the gradient "
                + "(Santurkar et al. 2018, sec. 3.1) over training of VGG-mini: standard, batch norm, layer norm.",
                "Writes steps.csv, evals.csv, landscape.csv, loss_landscape.png, gradient_predictiveness.png, "
                        + "beta_smoothness.png, train_accuracy.png and summary.md."})
public class LandscapeCommand implements Callable<Integer> {

    @Mixin
    CommonOptions common;

    @Mixin
    CnnOptions cnn;

    @Option(names = "--lrs", paramLabel = "LIST", split = ",", defaultValue = "0.1",
            description = "Learning rates, one set of runs each (default: ${DEFAULT-VALUE}; the paper also uses 0.5).")
    List<Double> lrs;

    @Option(names = "--variants", split = ",", paramLabel = "LIST", defaultValue = "none,bn,ln",
            description = "Runs (default: ${DEFAULT-VALUE}); names as in compare (lp1, lpinf, ... also work).")
    List<String> variants;

    /** What a run measured. */
    record Result(CnnData data, LandscapeRuns.Result runs, double seconds) {
    }

    @Override
    public Integer call() throws Exception {
        return common.eachSeed(cnn.seeds(), dir -> report(run(dir), dir));
    }

    /** Trains every run with the landscape probe, writing steps.csv, evals.csv and landscape.csv. */
    Result run(Path dir) throws IOException {
        long t0 = System.nanoTime();
        CnnData data = cnn.data(common);
        List<Variant> vs = Variant.parse(variants, common.seed);
        System.out.println("landscape: " + cnn.describe(data, common.quick, lrText()) + "; seed " + common.seed);
        LandscapeRuns.Result runs = LandscapeRuns.run(dir, vs, lrs, cnn, data, common);
        return new Result(data, runs, (System.nanoTime() - t0) / 1e9);
    }

    private String lrText() {
        return lrs.stream().map(Report::num).reduce((a, b) -> a + ", " + b).orElse("");
    }

    /** Prints the medians, draws the charts and writes summary.md. */
    void report(Result res, Path dir) throws IOException {
        Map<String, LandscapeRuns.Run> runs = res.runs().runs();
        LandscapeRuns.charts(dir, res.runs());
        System.out.println();
        System.out.println("Medians over the probes (loss range, max gradient change, max effective beta) and accuracies:");
        for (LandscapeRuns.Run r : runs.values()) {
            System.out.printf(Locale.ROOT, "  %-10s loss range %-9s grad change %-9s beta %-9s train acc %s test acc %s%n", r.name(),
                    Report.num(r.lossRange()), Report.num(r.gradDiff()), Report.num(r.beta()),
                    r.result().diverged() ? "diverged" : Report.num(r.result().last().trainAcc(), 4), Report.num(r.testAcc(), 4));
        }

        Report rep = new Report("landscape: loss landscape, gradient predictiveness, β-smoothness (Santurkar et al. 2018, §3.1)",
                common.commandLine());
        LandscapeRuns.verdicts(rep, runs, "bn", "none", "batch norm");
        LandscapeRuns.verdicts(rep, runs, "ln", "none", "layer norm");
        rep.heading("Figures");
        LandscapeRuns.table(rep, runs);
        LandscapeRuns.images(rep);
        rep.heading("Setup");
        rep.text("- " + cnn.describe(res.data(), common.quick, lrText()) + ".");
        rep.text("- Probe every " + cnn.probeEvery(common.quick) + " steps, before the step, on that step's batch "
                + "(bn4j's DiagnosticsListener): g = ∇L(w) (the gradient SGD applies), then L and ∇L at w − ηg for "
                + "η = {0.5, 1, 2, 3, 4} × lr, on a copy of the network at the same iteration, so noisy layers would see "
                + "the same noise in every evaluation of a probe and training is not touched.");
        rep.text("- Seed " + common.seed + " (one seed).");
        rep.machine(res.seconds());
        rep.write(dir.resolve("summary.md"));
        System.out.println("Wrote " + dir.toAbsolutePath() + "/{steps.csv,evals.csv,landscape.csv,*.png,summary.md}");
    }
}
