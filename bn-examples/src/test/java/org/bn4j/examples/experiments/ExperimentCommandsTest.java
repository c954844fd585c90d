package org.bn4j.examples.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.bn4j.examples.Csv;
import org.bn4j.examples.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each experiment subcommand end to end with {@code --quick} on the bundled subset: exit code, the files, and a check
 * that fails when the measurement is broken (not the published claim itself, except where the quick run shows it by
 * a wide margin).
 */
class ExperimentCommandsTest {

    private static void run(String cmd, Path dir, String... extra) {
        String[] base = {cmd, "--quick", "--data", "subset", "--no-progress", "--seed", "1", "--out", dir.toString()};
        String[] args = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        assertEquals(0, Main.run(args), cmd);
    }

    @Test
    void saturation(@TempDir Path dir) throws IOException {
        run("saturation", dir);
        Csv.assertFiles(dir, "epochs.csv", "saturation.csv", "gradient_norms.csv", "saturation.png", "gradient_norms.png",
                "test_accuracy.png", "summary.md");
        Csv p = Csv.read(dir.resolve("saturation.csv"));
        Csv g = Csv.read(dir.resolve("gradient_norms.csv"));
        for (String run : new String[] {"none@0.1", "bn@0.1", "none@1", "bn@1"}) {
            double[] s = p.doubles("saturated", p.where("run", run).and(p.where("site", "act1")));
            assertTrue(s.length >= 3, run);
            for (double v : s) {
                assertTrue(v >= 0 && v <= 1, run + " fraction " + v);
            }
            for (double n : g.doubles("grad_norm", g.where("run", run).and(g.where("layer", "fc1")))) {
                assertTrue(n > 0 && Double.isFinite(n), run + " gradient norm " + n);
            }
        }
        // at lr 1 the plain tanh network saturates most first-layer units, batch norm keeps them linear (a wide margin)
        double none = org.bn4j.examples.util.Stats.mean(p.doubles("saturated", p.where("run", "none@1").and(p.where("site", "act1"))));
        double bn = org.bn4j.examples.util.Stats.mean(p.doubles("saturated", p.where("run", "bn@1").and(p.where("site", "act1"))));
        assertTrue(none > 0.2 && bn < 0.05, "saturated fraction none " + none + ", bn " + bn);
        assertTrue(Files.readString(dir.resolve("summary.md")).contains("**Verdict:"));
    }

    @Test
    void noise(@TempDir Path dir) throws IOException {
        run("noise", dir);
        Csv.assertFiles(dir, "steps.csv", "evals.csv", "activations.csv", "train_accuracy.png", "train_loss.png",
                "activations_act4_in.png", "activation_drift.png", "summary.md");
        Csv e = Csv.read(dir.resolve("evals.csv"));
        Map<String, Double> acc = Csv.lastBy(e, "run", "train_acc");
        assertEquals(java.util.Set.of("none", "bn", "noisy", "noise"), acc.keySet());
        assertTrue(acc.get("bn") > 0.3, "batch norm trains in 12 steps: " + acc);
        Csv a = Csv.read(dir.resolve("activations.csv"));
        var act4 = a.where("site", "act4:in");
        double noisy = org.bn4j.examples.util.Stats.mean(a.doubles("drift", act4.and(a.where("run", "noisy"))));
        double bn = org.bn4j.examples.util.Stats.mean(a.doubles("drift", act4.and(a.where("run", "bn"))));
        // the noise redraws scale and shift per unit every step: the noisy distribution moves by far more
        assertTrue(noisy > 3 * bn, "drift noisy " + noisy + " vs bn " + bn);
        // batch norm's output per channel: mean ~ beta ~ 0, std ~ gamma ~ 1 early in training
        double[] std = a.doubles("mean_of_channel_stds", act4.and(a.where("run", "bn")));
        assertEquals(1.0, std[0], 0.05);
    }

    /** --seeds: one run per seed in its own directory, and the summary's figures are the seeds' mean. */
    @Test
    void seeds(@TempDir Path dir) throws IOException {
        run("noise", dir, "--seeds", "2", "--variants", "none,bn");
        for (String s : new String[] {"seed-1", "seed-2"}) {
            Csv.assertFiles(dir.resolve(s), "steps.csv", "evals.csv", "summary.md", "summary.csv");
        }
        double[] acc = new double[2];
        for (int i = 0; i < 2; i++) {
            Csv t = Csv.read(dir.resolve("seed-" + (i + 1)).resolve("summary.csv"));
            var cell = t.where("kind", "table").and(t.where("row", "1")).and(t.where("column", "test acc (end)"));
            acc[i] = t.doubles("value", cell)[0];
        }
        assertTrue(acc[0] != acc[1], "two seeds, two networks: " + acc[0]);
        Csv.assertFiles(dir, "summary.md", "summary.csv", "mean_test_accuracy.png", "mean_train_loss.png");
        String md = Files.readString(dir.resolve("summary.md"));
        String mean = org.bn4j.examples.util.Report.num((acc[0] + acc[1]) / 2, 4);
        assertTrue(md.contains("| bn | batch norm (BatchNorm) | "), md);
        assertTrue(md.lines().anyMatch(l -> l.startsWith("| bn |") && l.contains(" " + mean + " ± ")), mean + " in\n" + md);
        // summarize: the same summary from the seed directories alone (as after runs made one process per seed)
        String bnRow = md.lines().filter(l -> l.startsWith("| bn |")).findFirst().orElseThrow();
        Files.delete(dir.resolve("summary.md"));
        assertEquals(0, Main.run("summarize", dir.toString()));
        assertTrue(Files.readString(dir.resolve("summary.md")).lines().anyMatch(bnRow::equals), bnRow);
        // the networks of the experiments run DL4J's oneDNN convolution helpers (Main switches them on)
        assertTrue(Files.readString(dir.resolve("seed-1").resolve("summary.md"))
                .contains("DL4J layer helpers in 4 of 4 convolution layers"), "helpers");
    }

    @Test
    void landscape(@TempDir Path dir) throws IOException {
        run("landscape", dir);
        Csv.assertFiles(dir, "steps.csv", "evals.csv", "landscape.csv", "loss_landscape.png", "gradient_predictiveness.png",
                "beta_smoothness.png", "train_accuracy.png", "summary.md");
        Csv l = Csv.read(dir.resolve("landscape.csv"));
        // 3 runs x 2 probes (steps 0 and 6 of 12) x 5 step sizes
        assertEquals(3 * 2 * 5, l.rows().size());
        double[] eta = l.doubles("eta", r -> true);
        double[] diff = l.doubles("grad_diff", r -> true);
        double[] beta = l.doubles("beta", r -> true);
        double[] gn = l.doubles("grad_norm", r -> true);
        for (int i = 0; i < eta.length; i++) {
            assertTrue(diff[i] > 0 && Double.isFinite(diff[i]));
            assertEquals(diff[i] / (eta[i] * gn[i]), beta[i], 1e-3 * beta[i]);
        }
        assertEquals(0.05, eta[0], 1e-9, "eta from 0.5 x lr 0.1");
        assertEquals(0.4, eta[4], 1e-9, "to 4 x lr");
    }

    /** A run that diverged has probes of its first steps only: its landscape figures are not compared, its divergence is. */
    @Test
    void landscapeWhenTheStandardNetworkDiverges(@TempDir Path dir) throws IOException {
        // with seed 42 the standard network diverges at lr 5 within the 12 quick steps (with seed 1 it does not)
        assertEquals(0, Main.run("landscape", "--quick", "--data", "subset", "--no-progress", "--seed", "42", "--lrs", "5",
                "--variants", "none,bn", "--out", dir.toString()));
        String md = Files.readString(dir.resolve("summary.md"));
        assertTrue(md.contains("**Verdict: held.** Claim: with batch norm the network trains where the one without it "
                + "diverges (lr 5). Measured: none diverged at step"), md);
        assertTrue(!md.contains("loss changes less"), md);
    }

    @Test
    void ics(@TempDir Path dir) throws IOException {
        run("ics", dir);
        Csv.assertFiles(dir, "cnn_ics.csv", "dln_ics.csv", "dln_loss.csv", "cnn_ics.png", "cnn_ics_diff.png", "dln_ics.png",
                "dln_loss.png", "summary.md");
        for (String f : new String[] {"cnn_ics.csv", "dln_ics.csv"}) {
            Csv c = Csv.read(dir.resolve(f));
            assertTrue(c.rows().size() >= 2 * 2 * 4, f);
            for (double cos : c.doubles("cos", r -> true)) {
                assertTrue(cos >= -1 - 1e-6 && cos <= 1 + 1e-6, f + " cosine " + cos);
            }
        }
        // the deep linear network (loss summed over outputs, ~100 per sample at the start) trains under full-batch GD
        Csv loss = Csv.read(dir.resolve("dln_loss.csv"));
        double[] none = loss.doubles("train_loss", loss.where("run", "none"));
        assertTrue(none[0] > 20 && none[none.length - 1] < none[0], "deep linear loss " + none[0] + " -> " + none[none.length - 1]);
    }

    @Test
    void lp(@TempDir Path dir) throws IOException {
        run("lp", dir, "--variants", "bn,lp1,lp2", "--dln-variants", "bn,lp1,lpinf");
        Csv.assertFiles(dir, "landscape.csv", "dln_loss.csv", "loss_landscape.png", "dln_loss.png", "summary.md");
        // L2 batch norm is batch norm: the same losses up to rounding in the first steps
        Csv s = Csv.read(dir.resolve("steps.csv"));
        double[] bn = s.doubles("train_loss", s.where("run", "bn"));
        double[] l2 = s.doubles("train_loss", s.where("run", "lp2"));
        for (int i = 0; i < 3; i++) {
            assertEquals(bn[i], l2[i], 1e-3, "step " + i);
        }
        double[] l1 = s.doubles("train_loss", s.where("run", "lp1"));
        assertTrue(Math.abs(l1[2] - bn[2]) > 1e-6, "L1 is a different normalization");
        Csv d = Csv.read(dir.resolve("dln_loss.csv"));
        assertEquals(3 * 10, d.rows().size(), "three deep-linear runs of 10 steps");
    }

    @Test
    void decoupling(@TempDir Path dir) throws IOException {
        run("decoupling", dir);
        Csv.assertFiles(dir, "decoupling.csv", "decoupling.png", "summary.md");
        Csv c = Csv.read(dir.resolve("decoupling.csv"));
        double[] gd = c.doubles("suboptimality", c.where("method", "GD"));
        double[] np = c.doubles("suboptimality", c.where("method", "GDNP"));
        assertEquals(201, gd.length);
        for (int t = 1; t < gd.length; t++) {
            assertTrue(gd[t] <= gd[t - 1] * (1 + 1e-12), "GD with step 1/L is monotone");
            assertTrue(gd[t] >= -1e-9 && np[t] >= -1e-9, "suboptimality is non-negative");
        }
        assertTrue(np[200] < 1e-2 * np[0], "GDNP makes progress: " + np[0] + " -> " + np[200]);
    }
}
