package org.bn4j.examples.experiments;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import me.tongfei.progressbar.ProgressBar;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.QRDecomposition;
import org.apache.commons.math3.stat.regression.SimpleRegression;
import org.bn4j.examples.CommonOptions;
import org.bn4j.examples.util.MetricsLog;
import org.bn4j.examples.util.Plots;
import org.bn4j.examples.util.Progress;
import org.bn4j.examples.util.Report;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code decoupling}: Kohler et al. (2019), length–direction decoupling. Ordinary least squares with Gaussian inputs,
 * in expectation: f(w) = E[(y − xᵀw)²]/2 + const = ½ wᵀSw − uᵀw, S = E[xxᵀ] with a chosen condition number, u = S w*.
 * Plain gradient descent (step 1/L) against gradient descent in normalized parameterization (GDNP):
 * w = g · w̃ / ‖w̃‖_S, a gradient step on the direction w̃ with step size s_t = ‖w̃_t‖_S³ / (L |g_t| |uᵀw̃_t|), then the
 * length g by bisection on ∂f/∂g = 0 ({@code --bisection} steps). Records f(w_t) − f* against iterations t.
 * Double precision ND4J, no layers.
 */
@Command(name = "decoupling", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Gradient descent vs gradient descent in normalized parameterization (Kohler et al. 2019, GDNP: gradient "
                + "steps on the direction, length by bisection) on an ill-conditioned least-squares problem; "
                + "log-suboptimality against iterations.",
                "Writes decoupling.csv, decoupling.png and summary.md."})
public class DecouplingCommand implements Callable<Integer> {

    @Mixin
    CommonOptions common;

    @Option(names = "--dim", paramLabel = "D", description = "Dimension (default: 50; 10 with --quick).")
    Integer dim;

    @Option(names = "--condition", paramLabel = "K", defaultValue = "1000",
            description = "Condition number L/mu of S (eigenvalues log-spaced from 1/K to 1; default: ${DEFAULT-VALUE}).")
    double condition;

    @Option(names = "--iterations", paramLabel = "T", description = "Iterations (default: 2000; 200 with --quick).")
    Integer iterations;

    @Option(names = "--bisection", paramLabel = "N", defaultValue = "30",
            description = "Bisection steps for the length per iteration (default: ${DEFAULT-VALUE}).")
    int bisection;

    /** What a run measured: f(w_t) − f* of both methods for t = 0 … iterations, f(w_0) − f* and f*. */
    record Result(int dim, int iterations, double[] gd, double[] gdnp, double f0, double fStar, double seconds) {
    }

    @Override
    public Integer call() throws Exception {
        return common.eachSeed(1, dir -> report(run(dir), dir));
    }

    /** Runs both methods on the least-squares problem, writing decoupling.csv. */
    Result run(Path dir) throws IOException {
        long t0 = System.nanoTime();
        int d = dim != null ? dim : common.quick ? 10 : 50;
        int iters = iterations != null ? iterations : common.quick ? 200 : 2000;
        Random rng = Nd4j.getRandomFactory().getNewRandomInstance(common.seed * 31 + 5);
        // S = Q diag(lambda) Q^T, Q orthogonal from a QR of a Gaussian matrix
        INDArray gauss = Nd4j.randn(Nd4j.createUninitialized(DataType.DOUBLE, d, d), rng);
        INDArray qm = qr(gauss);
        double[] lam = new double[d];
        for (int i = 0; i < d; i++) {
            lam[i] = Math.pow(condition, -(double) i / Math.max(1, d - 1));
        }
        INDArray s = qm.mmul(Nd4j.diag(Nd4j.createFromArray(lam))).mmul(qm.transpose());
        s = s.add(s.transpose()).muli(0.5);
        double lMax = lam[0];
        INDArray wStar = Nd4j.randn(Nd4j.createUninitialized(DataType.DOUBLE, d, 1), rng);
        INDArray u = s.mmul(wStar);
        double fStar = f(s, u, wStar);
        INDArray w0 = Nd4j.randn(Nd4j.createUninitialized(DataType.DOUBLE, d, 1), rng);
        double f0 = f(s, u, w0) - fStar;
        System.out.printf(Locale.ROOT, "decoupling: OLS in %d dimensions, condition number %s, %d iterations, %d bisection steps, seed %d%n",
                d, Report.num(condition), iters, bisection, common.seed);

        double[] gd = new double[iters + 1];
        double[] gdnp = new double[iters + 1];
        try (MetricsLog log = new MetricsLog(dir.resolve("decoupling.csv"), "method", "iteration", "suboptimality", "relative");
             ProgressBar pb = Progress.bar("decoupling", 2L * iters, !common.noProgress)) {
            // plain gradient descent, step 1/L
            INDArray w = w0.dup();
            for (int t = 0; t <= iters; t++) {
                gd[t] = f(s, u, w) - fStar;
                log.add("GD", t, gd[t], gd[t] / f0);
                if (t < iters) {
                    w.subi(s.mmul(w).subi(u).muli(1 / lMax));
                    step(pb);
                }
            }
            // GDNP: direction wt, length g
            INDArray wt = w0.dup();
            double g = bisect(s, u, wt);
            for (int t = 0; t <= iters; t++) {
                INDArray wc = wt.mul(g / normS(s, wt));
                gdnp[t] = f(s, u, wc) - fStar;
                log.add("GDNP", t, gdnp[t], gdnp[t] / f0);
                if (t < iters) {
                    double ns = normS(s, wt);
                    INDArray gradW = s.mmul(wc).subi(u);
                    INDArray swt = s.mmul(wt);
                    // grad wrt wt: (g/ns) (I - S wt wt^T / ns^2) gradW
                    INDArray proj = gradW.sub(swt.mul(wt.transpose().mmul(gradW).getDouble(0) / (ns * ns)));
                    INDArray gradWt = proj.muli(g / ns);
                    double zeta = u.transpose().mmul(wt).getDouble(0);
                    double stepSize = ns * ns * ns / (lMax * Math.abs(g) * Math.abs(zeta));
                    if (!Double.isFinite(stepSize)) {
                        break;
                    }
                    wt.subi(gradWt.muli(stepSize));
                    g = bisect(s, u, wt);
                    step(pb);
                }
            }
        }
        return new Result(d, iters, gd, gdnp, f0, fStar, (System.nanoTime() - t0) / 1e9);
    }

    /** Prints the figures, draws decoupling.png and writes summary.md. */
    void report(Result r, Path dir) throws IOException {
        int d = r.dim();
        int iters = r.iterations();
        double[] gd = r.gd();
        double[] gdnp = r.gdnp();
        double f0 = r.f0();
        double fStar = r.fStar();
        double floor = 1e-13 * Math.max(1, Math.abs(fStar));
        double[] rGd = rate(gd, f0, floor);
        double[] rNp = rate(gdnp, f0, floor);
        int itGd = reach(gd, f0, 1e-8);
        int itNp = reach(gdnp, f0, 1e-8);
        System.out.println();
        System.out.printf(Locale.ROOT, "  GD    relative suboptimality after %d iterations %s; rate %s per iteration (R^2 %s); 1e-8 reached at %s%n",
                iters, Report.num(gd[iters] / f0), Report.num(rGd[0]), Report.num(rGd[1]), itGd < 0 ? "never" : itGd);
        System.out.printf(Locale.ROOT, "  GDNP  relative suboptimality after %d iterations %s; rate %s per iteration (R^2 %s); 1e-8 reached at %s%n",
                iters, Report.num(gdnp[iters] / f0), Report.num(rNp[0]), Report.num(rNp[1]), itNp < 0 ? "never" : itNp);

        double[] x = new double[iters + 1];
        double[] yg = new double[iters + 1];
        double[] yn = new double[iters + 1];
        for (int t = 0; t <= iters; t++) {
            x[t] = t;
            yg[t] = Math.max(gd[t] / f0, 1e-300);
            yn[t] = Math.max(gdnp[t] / f0, 1e-300);
        }
        Plots.lineChart(dir.resolve("decoupling.png"), String.format(Locale.ROOT,
                        "Least squares, d = %d, condition number %s: (f(w_t) - f*) / (f(w_0) - f*)", d, Report.num(condition)),
                "iteration", "relative suboptimality (log)", List.of(new Plots.Series("GD (step 1/L)", x, yg),
                        new Plots.Series("GDNP (Kohler et al.)", x, yn)),
                Plots.Style.LINES.withLogY().withLegend(org.knowm.xchart.style.Styler.LegendPosition.InsideNE));

        Report rep = new Report("decoupling: length–direction decoupling (Kohler et al. 2019)", common.commandLine());
        boolean linear = rNp[1] > 0.9 && rNp[0] < 1;
        rep.verdict("GDNP converges linearly on least squares (log-suboptimality falls along a straight line; here: a linear fit "
                        + "of log10 suboptimality over iterations, down to the precision floor, has R² > 0.9).", Report.Outcome.of(linear),
                String.format(Locale.ROOT, "per-iteration factor %s (R² %s); relative suboptimality %s after %d iterations.",
                        Report.num(rNp[0]), Report.num(rNp[1]), Report.num(gdnp[iters] / f0), iters));
        rep.verdict("plain gradient descent on the ill-conditioned problem is slower than GDNP (higher suboptimality at the "
                        + "end and later to reach 1e-8).", Report.Outcome.of((gd[iters] > gdnp[iters] ? 1 : 0)
                        + (itNp >= 0 && (itGd < 0 || itGd > itNp) ? 1 : 0), 2),
                String.format(Locale.ROOT, "relative suboptimality after %d iterations: GD %s, GDNP %s; iterations to 1e-8: GD %s, "
                                + "GDNP %s; per-iteration factors GD %s, GDNP %s.", iters, Report.num(gd[iters] / f0),
                        Report.num(gdnp[iters] / f0), itGd < 0 ? "not reached" : itGd, itNp < 0 ? "not reached" : itNp,
                        Report.num(rGd[0]), Report.num(rNp[0])));
        rep.heading("Figures");
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("GD", Report.num(gd[iters] / f0), Report.num(rGd[0]), Report.num(rGd[1]), itGd < 0 ? "not reached" : "" + itGd));
        rows.add(List.of("GDNP", Report.num(gdnp[iters] / f0), Report.num(rNp[0]), Report.num(rNp[1]), itNp < 0 ? "not reached" : "" + itNp));
        rep.table(List.of("method", "relative suboptimality at the end", "per-iteration factor (fit)", "R² of the fit",
                "iterations to 1e-8"), rows);
        rep.text("Per-iteration factor: 10^slope of a least-squares line through log10 of the relative suboptimality, over the "
                + "iterations before it reaches the double-precision floor (1e-13 of |f*|).");
        rep.image("suboptimality", "decoupling.png");
        rep.heading("Setup");
        rep.text(String.format(Locale.ROOT, "- f(w) = ½ wᵀSw − uᵀw (least squares with Gaussian inputs x ~ N(0, S), targets "
                        + "y = xᵀw*, in expectation), d = %d, eigenvalues of S log-spaced from 1/%s to 1 in a random orthogonal "
                        + "basis, w* and w_0 standard Gaussian; f* = f(w*).", d, Report.num(condition)));
        rep.text("- GD: w ← w − (1/L)∇f(w), L = λ_max(S) = 1.");
        rep.text("- GDNP: w = g·w̃/‖w̃‖_S; w̃ ← w̃ − s_t ∇_w̃ f(g, w̃) with s_t = ‖w̃‖_S³ / (L |g| |uᵀw̃|) (our reading of "
                + "Kohler et al.'s step size for least squares; it makes the step invariant to the scale of w̃), then g by "
                + bisection + " bisection steps on ∂f/∂g = 0 (interval grown until it brackets the root). Both start from the "
                + "same w_0 (GDNP with w̃_0 = w_0 and the bisected g).");
        rep.text("- Seed " + common.seed + "; double precision.");
        rep.machine(r.seconds());
        rep.write(dir.resolve("summary.md"));
        System.out.println("Wrote " + dir.toAbsolutePath() + "/{decoupling.csv,decoupling.png,summary.md}");
    }

    private static void step(ProgressBar pb) {
        if (pb != null) {
            pb.step();
        }
    }

    /** Orthonormal Q of a square matrix (commons-math's Householder QR decomposition). */
    static INDArray qr(INDArray a) {
        return Nd4j.create(new QRDecomposition(new Array2DRowRealMatrix(a.toDoubleMatrix())).getQ().getData());
    }

    static double f(INDArray s, INDArray u, INDArray w) {
        return 0.5 * w.transpose().mmul(s).mmul(w).getDouble(0) - u.transpose().mmul(w).getDouble(0);
    }

    static double normS(INDArray s, INDArray w) {
        return Math.sqrt(w.transpose().mmul(s).mmul(w).getDouble(0));
    }

    /** Length minimizing f(g · wt/‖wt‖_S) by bisection on the derivative g − uᵀwt/‖wt‖_S. */
    double bisect(INDArray s, INDArray u, INDArray wt) {
        double c = u.transpose().mmul(wt).getDouble(0) / normS(s, wt);
        java.util.function.DoubleUnaryOperator dg = g -> g - c; // ∂f/∂g for f(g) = g²/2 − g c
        double lo = -1;
        double hi = 1;
        while (dg.applyAsDouble(lo) > 0) {
            lo *= 2;
        }
        while (dg.applyAsDouble(hi) < 0) {
            hi *= 2;
        }
        for (int i = 0; i < bisection; i++) {
            double mid = 0.5 * (lo + hi);
            if (dg.applyAsDouble(mid) > 0) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        return 0.5 * (lo + hi);
    }

    /** {10^slope, R²} of a least-squares line (commons-math) through log10(sub/f0) against t, above the floor. */
    static double[] rate(double[] sub, double f0, double floor) {
        SimpleRegression fit = new SimpleRegression();
        for (int t = 0; t < sub.length && sub[t] > floor; t++) {
            fit.addData(t, Math.log10(sub[t] / f0));
        }
        if (fit.getN() < 3) {
            return new double[] {Double.NaN, Double.NaN};
        }
        return new double[] {Math.pow(10, fit.getSlope()), fit.getRSquare()};
    }

    /** First iteration with relative suboptimality at most {@code level}, or −1. */
    static int reach(double[] sub, double f0, double level) {
        for (int t = 0; t < sub.length; t++) {
            if (sub[t] / f0 <= level) {
                return t;
            }
        }
        return -1;
    }
}
