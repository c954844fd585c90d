package org.bn4j.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.bn4j.reference.Ref.Bwd;
import org.bn4j.reference.Ref.Fwd;
import org.bn4j.reference.Ref.Stat;
import org.bn4j.reference.Ref.StatKind;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Self-test of the reference {@link Ref}: every analytic backward is checked against central
 * finite differences in double precision (step 1e-6) on small random inputs, plus closed-form
 * values of the constants, the ghost-batch split, and numerical-stability checks.
 */
class RefSelfTest {

    /** Finite-difference step. */
    private static final double H = 1e-6;
    /** Tolerance of an analytic vs finite-difference component: |a − fd| ≤ TOL · max(1, |a|). */
    private static final double TOL = 1e-6;

    // ------------------------------------------------------------------------------------
    // Normalization backward vs finite differences
    // ------------------------------------------------------------------------------------

    /** A normalization geometry: shape, reduce axes, parameter axis. */
    private record Geo(String name, int[] shape, int[] reduce, int paramAxis) {
    }

    private static final Geo[] GEOS = {
        new Geo("dense[5,3]/{0}/p1", new int[]{5, 3}, new int[]{0}, 1),
        new Geo("cnn[4,3,2,2]/{0,2,3}/p1", new int[]{4, 3, 2, 2}, new int[]{0, 2, 3}, 1),
        new Geo("layer[3,4,5]/{1,2}/p1", new int[]{3, 4, 5}, new int[]{1, 2}, 1),
    };

    private static final Stat[] STATS = {
        Stat.variance(),
        Stat.lp(1.0, true), Stat.lp(1.0, false),
        Stat.lp(1.5, true), Stat.lp(1.5, false),
        Stat.lp(3.0, true), Stat.lp(3.0, false),
        Stat.topK(1, false), Stat.topK(1, true),
        Stat.topK(3, false), Stat.topK(3, true),
    };

    /** Noise modes: none, after the affine map, before it. */
    private enum Noise { NONE, AFTER, BEFORE }

    @TestFactory
    List<DynamicTest> normalizationBackwardMatchesFiniteDifferences() {
        List<DynamicTest> tests = new ArrayList<>();
        long seed = 1000;
        for (Geo geo : GEOS) {
            for (Stat stat : STATS) {
                for (boolean weighted : new boolean[]{false, true}) {
                    for (Noise noise : Noise.values()) {
                        long s = seed++;
                        String name = geo.name() + " " + statName(stat) + (weighted ? " masked" : "")
                            + " noise=" + noise;
                        tests.add(DynamicTest.dynamicTest(name, () -> checkNormBackward(name, new Random(s), geo,
                            stat, weighted, noise)));
                    }
                }
            }
        }
        return tests;
    }

    private static String statName(Stat s) {
        switch (s.kind()) {
            case VARIANCE:
                return "VAR";
            case LP:
                return "L" + s.p() + (s.useConstant() ? "+C" : "");
            default:
                return "TOP" + s.k() + (s.useConstant() ? "+C" : "");
        }
    }

    private static void checkNormBackward(String name, Random rnd, Geo geo, Stat stat, boolean weighted,
                                          Noise noise) {
        int[] shape = geo.shape();
        int n = Ref.product(shape);
        int nP = shape[geo.paramAxis()];
        double[][] xw = drawValidInput(rnd, shape, geo.reduce(), stat, weighted);
        double[] x = xw[0];
        double[] w = xw[1];
        double[] gamma = gaussian(rnd, nP, 1.0, 0.5);
        double[] beta = gaussian(rnd, nP, 0.0, 0.5);
        double[] s = noise == Noise.NONE ? null : gaussian(rnd, n, 1.1, 0.1);
        double[] m = noise == Noise.NONE ? null : uniform(rnd, n, -0.5, 0.5);
        boolean before = noise == Noise.BEFORE;
        double[] dy = gaussian(rnd, n, 0.0, 1.0);
        double eps = 1e-3;
        int[] red = geo.reduce();
        int pa = geo.paramAxis();

        Bwd b = Ref.backward(x, shape, red, pa, w, gamma, beta, stat, eps, s, m, before, dy);

        double[] fdX = fd(x, xx -> dot(dy, Ref.forward(xx, shape, red, pa, w, gamma, beta, stat, eps, s, m,
            before).y()));
        double[] fdG = fd(gamma, gg -> dot(dy, Ref.forward(x, shape, red, pa, w, gg, beta, stat, eps, s, m,
            before).y()));
        double[] fdB = fd(beta, bb -> dot(dy, Ref.forward(x, shape, red, pa, w, gamma, bb, stat, eps, s, m,
            before).y()));
        assertClose(name + " dx", b.dx(), fdX);
        assertClose(name + " dgamma", b.dgamma(), fdG);
        assertClose(name + " dbeta", b.dbeta(), fdB);
        if (w != null) {
            for (int i = 0; i < n; i++) {
                if (w[i] == 0.0) {
                    assertEquals(0.0, b.dx()[i], 0.0, name + " masked dx");
                }
            }
        }
    }

    /**
     * Draws x (and a 0/1 mask if {@code weighted}) such that the statistic is smooth at x: for LP no
     * selected |u| is within 0.05 of 0; for TOPK the k-th and (k+1)-th largest selected |u| differ by
     * at least 0.05; every group keeps at least k + 2 (and at least 3) selected elements.
     *
     * @return {x, w (null if not weighted)}
     */
    private static double[][] drawValidInput(Random rnd, int[] shape, int[] reduce, Stat stat, boolean weighted) {
        int n = Ref.product(shape);
        int[] grp = Ref.groupIndex(shape, reduce);
        int ng = Ref.groupCount(shape, reduce);
        int minSel = Math.max(3, stat.k() + 2);
        for (int attempt = 0; attempt < 100_000; attempt++) {
            double[] x = gaussian(rnd, n, 0.3, 1.0);
            double[] w = null;
            if (weighted) {
                w = new double[n];
                for (int i = 0; i < n; i++) {
                    w[i] = rnd.nextDouble() < 0.25 ? 0.0 : 1.0;
                }
            }
            if (smooth(x, w, grp, ng, stat, minSel)) {
                return new double[][]{x, w};
            }
        }
        throw new IllegalStateException("could not draw a valid input");
    }

    private static boolean smooth(double[] x, double[] w, int[] grp, int ng, Stat stat, int minSel) {
        for (int g = 0; g < ng; g++) {
            List<Double> sel = new ArrayList<>();
            double sum = 0;
            for (int i = 0; i < x.length; i++) {
                if (grp[i] == g && (w == null || w[i] != 0)) {
                    sel.add(x[i]);
                    sum += x[i];
                }
            }
            if (sel.size() < minSel) {
                return false;
            }
            double mean = sum / sel.size();
            double[] au = sel.stream().mapToDouble(v -> Math.abs(v - mean)).sorted().toArray();
            if (stat.kind() == StatKind.LP && au[0] < 0.05) {
                return false;
            }
            if (stat.kind() == StatKind.TOPK) {
                int k = stat.k();
                int len = au.length;
                if (au[len - k] - au[len - k - 1] < 0.05) {
                    return false;
                }
            }
        }
        return true;
    }

    /** SPEC §1 closed form of the batch-norm gradient agrees with the general formula. */
    @Test
    void varianceBackwardMatchesSpecClosedForm() {
        Random rnd = new Random(7);
        int[] shape = {6, 4};
        int[] red = {0};
        double[] x = gaussian(rnd, 24, 2.0, 3.0);
        double[] gamma = gaussian(rnd, 4, 1.0, 0.5);
        double[] beta = gaussian(rnd, 4, 0.0, 0.5);
        double[] dy = gaussian(rnd, 24, 0.0, 1.0);
        double eps = 1e-5;
        Fwd f = Ref.forward(x, shape, red, 1, null, gamma, beta, Stat.variance(), eps, null, null, false);
        Bwd b = Ref.backward(x, shape, red, 1, null, gamma, beta, Stat.variance(), eps, null, null, false, dy);
        for (int c = 0; c < 4; c++) {
            double d = Math.sqrt(f.v()[c] + eps);
            double mg = 0;
            double mgx = 0;
            double db = 0;
            double dg = 0;
            for (int r = 0; r < 6; r++) {
                double xh = (x[r * 4 + c] - f.mean()[c]) / d;
                mg += dy[r * 4 + c] / 6;
                mgx += dy[r * 4 + c] * xh / 6;
                db += dy[r * 4 + c];
                dg += dy[r * 4 + c] * xh;
            }
            for (int r = 0; r < 6; r++) {
                double xh = (x[r * 4 + c] - f.mean()[c]) / d;
                double dx = gamma[c] / d * (dy[r * 4 + c] - mg - xh * mgx);
                assertEquals(dx, b.dx()[r * 4 + c], 1e-12 * Math.max(1, Math.abs(dx)));
            }
            assertEquals(db, b.dbeta()[c], 1e-12 * Math.max(1, Math.abs(db)));
            assertEquals(dg, b.dgamma()[c], 1e-12 * Math.max(1, Math.abs(dg)));
        }
    }

    /** Ghost batch norm backward (groups of 4, 4, 2 over N = 10) vs finite differences. */
    @Test
    void ghostBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(11);
        int[] shape = {10, 3};
        int[] red = {0};
        double[] x = gaussian(rnd, 30, 0.0, 1.0);
        double[] gamma = gaussian(rnd, 3, 1.0, 0.5);
        double[] beta = gaussian(rnd, 3, 0.0, 0.5);
        double[] s = gaussian(rnd, 30, 1.1, 0.1);
        double[] m = uniform(rnd, 30, -0.5, 0.5);
        double[] dy = gaussian(rnd, 30, 0.0, 1.0);
        Stat st = Stat.variance();
        Bwd b = Ref.ghostBackward(x, shape, red, 1, null, gamma, beta, st, 1e-3, s, m, false, dy, 4);
        assertClose("ghost dx", b.dx(), fd(x, xx -> dot(dy,
            Ref.ghostForward(xx, shape, red, 1, null, gamma, beta, st, 1e-3, s, m, false, 4).y())));
        assertClose("ghost dgamma", b.dgamma(), fd(gamma, gg -> dot(dy,
            Ref.ghostForward(x, shape, red, 1, null, gg, beta, st, 1e-3, s, m, false, 4).y())));
        assertClose("ghost dbeta", b.dbeta(), fd(beta, bb -> dot(dy,
            Ref.ghostForward(x, shape, red, 1, null, gamma, bb, st, 1e-3, s, m, false, 4).y())));
    }

    /** Noise-only layer: y = s x + m, dx = s dy. */
    @Test
    void noiseOnlyBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(12);
        double[] x = gaussian(rnd, 12, 0.0, 1.0);
        double[] s = gaussian(rnd, 12, 1.1, 0.1);
        double[] m = uniform(rnd, 12, -0.5, 0.5);
        double[] dy = gaussian(rnd, 12, 0.0, 1.0);
        assertClose("noise dx", Ref.noiseBackward(s, dy), fd(x, xx -> dot(dy, Ref.noise(xx, s, m))));
    }

    // ------------------------------------------------------------------------------------
    // Statistics: equivalences, stability, constants
    // ------------------------------------------------------------------------------------

    @Test
    void lpWithP2EqualsVariance() {
        Random rnd = new Random(3);
        int[] shape = {4, 3, 2, 2};
        int[] red = {0, 2, 3};
        double[] x = gaussian(rnd, 48, 1.0, 2.0);
        double[] w = new double[48];
        for (int i = 0; i < 48; i++) {
            w[i] = i % 5 == 0 ? 0 : 1;
        }
        double[] gamma = gaussian(rnd, 3, 1.0, 0.5);
        double[] beta = gaussian(rnd, 3, 0.0, 0.5);
        double[] dy = gaussian(rnd, 48, 0.0, 1.0);
        for (double[] ww : new double[][]{null, w}) {
            Fwd fv = Ref.forward(x, shape, red, 1, ww, gamma, beta, Stat.variance(), 1e-5, null, null, false);
            Bwd bv = Ref.backward(x, shape, red, 1, ww, gamma, beta, Stat.variance(), 1e-5, null, null, false, dy);
            for (boolean c : new boolean[]{false, true}) {
                Stat lp = Stat.lp(2.0, c);
                Fwd fl = Ref.forward(x, shape, red, 1, ww, gamma, beta, lp, 1e-5, null, null, false);
                Bwd bl = Ref.backward(x, shape, red, 1, ww, gamma, beta, lp, 1e-5, null, null, false, dy);
                assertRel("L2 v", fv.v(), fl.v(), 1e-13);
                assertRel("L2 y", fv.y(), fl.y(), 1e-13);
                assertRel("L2 dx", bv.dx(), bl.dx(), 1e-13);
                assertRel("L2 dgamma", bv.dgamma(), bl.dgamma(), 1e-13);
                assertRel("L2 dbeta", bv.dbeta(), bl.dbeta(), 1e-13);
            }
        }
    }

    /** Two-pass statistics keep full precision for mean 1e4, std 1e-2 (one-pass E[x²] − E[x]² would not). */
    @Test
    void varianceIsNumericallyStable() {
        Random rnd = new Random(5);
        int n = 1000;
        double[] x = new double[n * 2];
        double[] shifted = new double[n * 2];
        for (int i = 0; i < x.length; i++) {
            x[i] = 1e4 + 1e-2 * rnd.nextGaussian();
            shifted[i] = x[i] - 1e4; // exact (Sterbenz), so this is the same data shifted
        }
        int[] shape = {n, 2};
        Fwd f = Ref.forward(x, shape, new int[]{0}, 1, null, null, null, Stat.variance(), 0.0, null, null, false);
        Fwd g = Ref.forward(shifted, shape, new int[]{0}, 1, null, null, null, Stat.variance(), 0.0, null, null,
            false);
        for (int c = 0; c < 2; c++) {
            assertEquals(1e-4, f.v()[c], 2e-5); // sanity: variance near (1e-2)²
            assertEquals(g.v()[c], f.v()[c], 1e-10 * g.v()[c], "variance relative error");
            assertEquals(g.mean()[c] + 1e4, f.mean()[c], 1e-12 * 1e4, "mean");
        }
        assertRel("normalized output", g.y(), f.y(), 1e-8);
        double[] y = f.y();
        for (int c = 0; c < 2; c++) {
            double s2 = 0;
            for (int r = 0; r < n; r++) {
                s2 += y[r * 2 + c] * y[r * 2 + c];
            }
            assertEquals(1.0, s2 / n, 1e-10, "normalized output has unit variance");
        }
    }

    @Test
    void lnGammaMatchesKnownValues() {
        assertEquals(0.0, Ref.lnGamma(1.0), 1e-14);
        assertEquals(0.0, Ref.lnGamma(2.0), 1e-14);
        assertEquals(Math.log(24.0), Ref.lnGamma(5.0), 1e-14);
        assertEquals(0.5723649429247004, Ref.lnGamma(0.5), 1e-14); // ln sqrt(pi)
        assertEquals(13.940625219403763, Ref.lnGamma(10.5), 1e-13);
        assertEquals(1.0957979948180752, Ref.lnGamma(0.3), 1e-14);
        assertEquals(1.4280723266653883, Ref.lnGamma(3.7), 1e-14);
        assertEquals(0.8600470153764812, Ref.lnGamma(-1.5), 1e-14); // ln|Γ(−1.5)| = ln(4 sqrt(pi)/3)
    }

    @Test
    void lpConstantMatchesClosedForms() {
        assertEquals(Math.sqrt(Math.PI / 2), Ref.lpConstant(1.0), 1e-14);
        assertEquals(1.0, Ref.lpConstant(2.0), 1e-14);
        assertEquals(Math.pow(2 * Math.sqrt(2 / Math.PI), -1.0 / 3), Ref.lpConstant(3.0), 1e-14); // E|X|³ = 2 sqrt(2/π)
        assertEquals(Math.pow(3.0, -0.25), Ref.lpConstant(4.0), 1e-14); // E X⁴ = 3
        assertThrows(IllegalArgumentException.class, () -> Ref.lpConstant(0.0));
    }

    @Test
    void topKConstantMatchesHofferFormula() {
        assertEquals(1.3108878255967675, Ref.topKConstant(2), 1e-14);
        assertEquals(0.5085754809446931, Ref.topKConstant(100), 1e-14);
        assertThrows(IllegalArgumentException.class, () -> Ref.topKConstant(1));
    }

    /** A hand-computed top-k statistic and L1 statistic. */
    @Test
    void statisticsByHand() {
        double[] x = {1, 2, 4, 9};  // mean 4, u = -3, -2, 0, 5
        int[] shape = {4, 1};
        int[] red = {0};
        Fwd t1 = Ref.forward(x, shape, red, 1, null, null, null, Stat.topK(1, false), 0, null, null, false);
        assertEquals(25.0, t1.v()[0], 1e-14);
        Fwd t2 = Ref.forward(x, shape, red, 1, null, null, null, Stat.topK(2, false), 0, null, null, false);
        assertEquals(16.0, t2.v()[0], 1e-14);
        Fwd t2c = Ref.forward(x, shape, red, 1, null, null, null, Stat.topK(2, true), 0, null, null, false);
        assertEquals(16.0 * Math.pow(Ref.topKConstant(4), 2), t2c.v()[0], 1e-13);
        Fwd l1 = Ref.forward(x, shape, red, 1, null, null, null, Stat.lp(1, false), 0, null, null, false);
        assertEquals(2.5 * 2.5, l1.v()[0], 1e-14);
        Fwd l1c = Ref.forward(x, shape, red, 1, null, null, null, Stat.lp(1, true), 0, null, null, false);
        assertEquals(2.5 * 2.5 * Math.PI / 2, l1c.v()[0], 1e-13);
        Fwd var = Ref.forward(x, shape, red, 1, null, null, null, Stat.variance(), 0, null, null, false);
        assertEquals(4.0, var.mean()[0], 0);
        assertEquals(38.0 / 4, var.v()[0], 1e-14);
        assertEquals(4.0, var.count()[0], 0);
        // masked: only 1, 2, 9 → mean 4, u = -3, -2, 5
        double[] w = {1, 1, 0, 1};
        Fwd vm = Ref.forward(x, shape, red, 1, w, null, null, Stat.variance(), 0, null, null, false);
        assertEquals(38.0 / 3, vm.v()[0], 1e-14);
        assertEquals(3.0, vm.count()[0], 0);
        assertEquals(0.0, vm.y()[2], 0);
        // top-3 with only 3 selected... and k larger than the selection: all of them
        Fwd t5 = Ref.forward(x, shape, red, 1, w, null, null, Stat.topK(5, false), 0, null, null, false);
        assertEquals(Math.pow(10.0 / 3, 2), t5.v()[0], 1e-13);
    }

    /** Statistics groups follow the c-order of the kept axes; a fully masked group gives zeros. */
    @Test
    void groupsFollowKeptAxesInCOrder() {
        int[] shape = {2, 3, 4};
        int[] g = Ref.groupIndex(shape, new int[]{1});
        // kept axes 0 (size 2) and 2 (size 4): group = a0 * 4 + a2
        for (int a0 = 0; a0 < 2; a0++) {
            for (int a1 = 0; a1 < 3; a1++) {
                for (int a2 = 0; a2 < 4; a2++) {
                    assertEquals(a0 * 4 + a2, g[(a0 * 3 + a1) * 4 + a2]);
                }
            }
        }
        assertEquals(8, Ref.groupCount(shape, new int[]{1}));
        assertEquals(1, Ref.groupCount(shape, new int[]{0, 1, 2}));
        // layer norm over {1} of [2,3]: row 1 fully masked
        double[] x = {1, 2, 6, 5, 7, 8};
        double[] w = {1, 1, 1, 0, 0, 0};
        Fwd f = Ref.forward(x, new int[]{2, 3}, new int[]{1}, 1, w, null, new double[]{1, 1, 1}, Stat.variance(),
            1e-5, null, null, false);
        assertEquals(0.0, f.count()[1], 0);
        assertArrayEquals(new double[]{0, 0, 0}, Arrays.copyOfRange(f.y(), 3, 6), 0);
        Bwd b = Ref.backward(x, new int[]{2, 3}, new int[]{1}, 1, w, null, null, Stat.variance(), 1e-5, null, null,
            false, new double[]{1, 2, 3, 4, 5, 6});
        assertArrayEquals(new double[]{0, 0, 0}, Arrays.copyOfRange(b.dx(), 3, 6), 0);
    }

    // ------------------------------------------------------------------------------------
    // Inference, running statistics, ghost batches
    // ------------------------------------------------------------------------------------

    @Test
    void inferenceWithBatchStatisticsEqualsTrainingForward() {
        Random rnd = new Random(9);
        int[] shape = {4, 3, 2, 2};
        int[] red = {0, 2, 3};
        double[] x = gaussian(rnd, 48, 1.0, 2.0);
        double[] gamma = gaussian(rnd, 3, 1.0, 0.5);
        double[] beta = gaussian(rnd, 3, 0.0, 0.5);
        Fwd f = Ref.forward(x, shape, red, 1, null, gamma, beta, Stat.variance(), 1e-5, null, null, false);
        double[] y = Ref.inference(x, shape, 1, f.mean(), f.v(), gamma, beta, 1e-5);
        assertRel("inference", f.y(), y, 1e-12);
    }

    @Test
    void updateRunningByHand() {
        double[][] r = Ref.updateRunning(new double[]{0, 1}, new double[]{1, 2}, new double[]{2, 3},
            new double[]{4, 5}, new double[]{5, 5}, 0.9);
        assertArrayEquals(new double[]{0.2, 0.9 + 0.3}, r[0], 1e-15);
        assertArrayEquals(new double[]{0.9 + 0.1 * 4 * 5 / 4, 1.8 + 0.1 * 5 * 5 / 4}, r[1], 1e-14);
        assertThrows(IllegalArgumentException.class, () -> Ref.updateRunning(new double[]{0}, new double[]{1},
            new double[]{0}, new double[]{1}, new double[]{1}, 0.9));
    }

    @Test
    void ghostGroupsFollowTheRules() {
        assertArrayEquals(new int[]{0, 4, 8, 10}, Ref.ghostGroups(10, 4));
        assertArrayEquals(new int[]{0, 4, 9}, Ref.ghostGroups(9, 4));
        assertArrayEquals(new int[]{0, 4, 8}, Ref.ghostGroups(8, 4));
        assertArrayEquals(new int[]{0, 3}, Ref.ghostGroups(3, 8));
        assertArrayEquals(new int[]{0, 4}, Ref.ghostGroups(4, 4));
        assertArrayEquals(new int[]{0, 5}, Ref.ghostGroups(5, 4));
        assertArrayEquals(new int[]{0, 2, 5}, Ref.ghostGroups(5, 2));
        assertArrayEquals(new int[]{0, 1}, Ref.ghostGroups(1, 4));
    }

    @Test
    void ghostWithOneGroupEqualsPlainForwardAndSplitsOtherwise() {
        Random rnd = new Random(13);
        int[] shape = {10, 3};
        double[] x = gaussian(rnd, 30, 0.0, 1.0);
        double[] gamma = gaussian(rnd, 3, 1.0, 0.5);
        Fwd plain = Ref.forward(x, shape, new int[]{0}, 1, null, gamma, null, Stat.variance(), 1e-5, null, null,
            false);
        Fwd ghost = Ref.ghostForward(x, shape, new int[]{0}, 1, null, gamma, null, Stat.variance(), 1e-5, null,
            null, false, 16);
        assertArrayEquals(plain.y(), ghost.y(), 0.0);
        assertArrayEquals(plain.v(), ghost.v(), 0.0);
        Fwd g4 = Ref.ghostForward(x, shape, new int[]{0}, 1, null, gamma, null, Stat.variance(), 1e-5, null,
            null, false, 4);
        assertEquals(9, g4.mean().length); // 3 ghost batches x 3 features
        Fwd last = Ref.forward(Arrays.copyOfRange(x, 24, 30), new int[]{2, 3}, new int[]{0}, 1, null, gamma, null,
            Stat.variance(), 1e-5, null, null, false);
        assertArrayEquals(last.y(), Arrays.copyOfRange(g4.y(), 24, 30), 0.0);
        assertArrayEquals(last.mean(), Arrays.copyOfRange(g4.mean(), 6, 9), 0.0);
        assertArrayEquals(new double[]{4, 4, 4, 4, 4, 4, 2, 2, 2}, g4.count(), 0.0);
    }

    // ------------------------------------------------------------------------------------
    // Dense, convolution, weight norm
    // ------------------------------------------------------------------------------------

    @Test
    void denseBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(21);
        int n = 3;
        int nIn = 4;
        int nOut = 2;
        double[] x = gaussian(rnd, n * nIn, 0, 1);
        double[] w = gaussian(rnd, nIn * nOut, 0, 1);
        double[] b = gaussian(rnd, nOut, 0, 1);
        double[] dy = gaussian(rnd, n * nOut, 0, 1);
        double[][] g = Ref.denseBackward(x, n, nIn, w, nOut, dy);
        assertClose("dense dx", g[0], fd(x, xx -> dot(dy, Ref.dense(xx, n, nIn, w, nOut, b))));
        assertClose("dense dW", g[1], fd(w, ww -> dot(dy, Ref.dense(x, n, nIn, ww, nOut, b))));
        assertClose("dense db", g[2], fd(b, bb -> dot(dy, Ref.dense(x, n, nIn, w, nOut, bb))));
        // y = x w + b by hand for one entry
        double y01 = b[1];
        for (int i = 0; i < nIn; i++) {
            y01 += x[i] * w[i * nOut + 1];
        }
        assertEquals(y01, Ref.dense(x, n, nIn, w, nOut, b)[1], 1e-14);
    }

    /** Conv configurations: x shape (NCHW), w shape, stride, pad, same mode. */
    private record ConvCase(int[] xNchw, int[] w, int[] stride, int[] pad, boolean same) {
    }

    private static final ConvCase[] CONV_CASES = {
        new ConvCase(new int[]{2, 3, 5, 6}, new int[]{4, 3, 3, 2}, new int[]{1, 1}, new int[]{0, 0}, false),
        new ConvCase(new int[]{2, 3, 5, 6}, new int[]{4, 3, 3, 3}, new int[]{2, 1}, new int[]{1, 2}, false),
        new ConvCase(new int[]{2, 2, 5, 6}, new int[]{3, 2, 3, 2}, new int[]{2, 2}, new int[]{0, 0}, true),
        new ConvCase(new int[]{1, 2, 6, 7}, new int[]{2, 2, 3, 3}, new int[]{2, 3}, new int[]{0, 0}, true),
        new ConvCase(new int[]{2, 2, 4, 4}, new int[]{2, 2, 2, 2}, new int[]{1, 1}, new int[]{0, 0}, true),
    };

    @TestFactory
    List<DynamicTest> conv2dBackwardMatchesFiniteDifferences() {
        List<DynamicTest> tests = new ArrayList<>();
        int idx = 0;
        for (ConvCase c : CONV_CASES) {
            for (boolean nchw : new boolean[]{true, false}) {
                long seed = 300 + idx++;
                String name = "conv x=" + Arrays.toString(c.xNchw()) + " w=" + Arrays.toString(c.w()) + " s="
                    + Arrays.toString(c.stride()) + (c.same() ? " same" : " pad=" + Arrays.toString(c.pad()))
                    + (nchw ? " NCHW" : " NHWC");
                tests.add(DynamicTest.dynamicTest(name, () -> {
                    Random rnd = new Random(seed);
                    int[] xs = nchw ? c.xNchw() : toNhwc(c.xNchw());
                    double[] x = gaussian(rnd, Ref.product(xs), 0, 1);
                    double[] w = gaussian(rnd, Ref.product(c.w()), 0, 1);
                    double[] b = gaussian(rnd, c.w()[0], 0, 1);
                    int[] ys = Ref.conv2dOutShape(xs, nchw, c.w(), c.stride(), c.pad(), c.same());
                    double[] dy = gaussian(rnd, Ref.product(ys), 0, 1);
                    double[][] g = Ref.conv2dBackward(x, xs, nchw, w, c.w(), c.stride(), c.pad(), c.same(), dy);
                    assertClose(name + " dx", g[0], fd(x, xx -> dot(dy,
                        Ref.conv2d(xx, xs, nchw, w, c.w(), b, c.stride(), c.pad(), c.same()))));
                    assertClose(name + " dW", g[1], fd(w, ww -> dot(dy,
                        Ref.conv2d(x, xs, nchw, ww, c.w(), b, c.stride(), c.pad(), c.same()))));
                    assertClose(name + " db", g[2], fd(b, bb -> dot(dy,
                        Ref.conv2d(x, xs, nchw, w, c.w(), bb, c.stride(), c.pad(), c.same()))));
                }));
            }
        }
        return tests;
    }

    @Test
    void conv2dOutputShapes() {
        // Same: ceil(in / stride)
        assertArrayEquals(new int[]{2, 3, 3, 3}, Ref.conv2dOutShape(new int[]{2, 2, 5, 6}, true,
            new int[]{3, 2, 3, 2}, new int[]{2, 2}, new int[]{0, 0}, true));
        assertArrayEquals(new int[]{1, 3, 3, 2}, Ref.conv2dOutShape(new int[]{1, 6, 7, 2}, false,
            new int[]{2, 2, 3, 3}, new int[]{2, 3}, new int[]{9, 9}, true));
        // Truncate: floor((in + 2p − k) / s) + 1
        assertArrayEquals(new int[]{2, 4, 3, 8}, Ref.conv2dOutShape(new int[]{2, 3, 5, 6}, true,
            new int[]{4, 3, 3, 3}, new int[]{2, 1}, new int[]{1, 2}, false));
    }

    /** Same mode with an odd total padding puts the extra row/column on the bottom/right. */
    @Test
    void conv2dSamePaddingIsTopLeftLight() {
        double[] x = new double[16];
        for (int i = 0; i < 16; i++) {
            x[i] = i + 1;
        }
        double[] ones = {1, 1, 1, 1};
        // 4x4 input, 2x2 kernel, stride 1: total padding 1 → top/left 0, bottom/right 1
        double[] y = Ref.conv2d(x, new int[]{1, 1, 4, 4}, true, ones, new int[]{1, 1, 2, 2}, null,
            new int[]{1, 1}, new int[]{0, 0}, true);
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++) {
                double e = 0;
                for (int a = 0; a < 2; a++) {
                    for (int b = 0; b < 2; b++) {
                        if (i + a < 4 && j + b < 4) {
                            e += x[(i + a) * 4 + j + b];
                        }
                    }
                }
                assertEquals(e, y[i * 4 + j], 0.0, "y[" + i + "," + j + "]");
            }
        }
        // 3x3 kernel: total padding 2 → 1 on each side
        double[] k3 = new double[9];
        k3[0] = 1; // picks x[i - 1, j - 1]
        double[] y3 = Ref.conv2d(x, new int[]{1, 1, 4, 4}, true, k3, new int[]{1, 1, 3, 3}, null,
            new int[]{1, 1}, new int[]{0, 0}, true);
        assertEquals(0.0, y3[0], 0.0);
        assertEquals(x[0], y3[5], 0.0);
    }

    @Test
    void conv2dNhwcMatchesNchw() {
        Random rnd = new Random(31);
        int[] xs = {2, 3, 5, 6};
        int[] wsh = {4, 3, 3, 2};
        double[] x = gaussian(rnd, Ref.product(xs), 0, 1);
        double[] w = gaussian(rnd, Ref.product(wsh), 0, 1);
        double[] b = gaussian(rnd, 4, 0, 1);
        for (boolean same : new boolean[]{false, true}) {
            double[] yc = Ref.conv2d(x, xs, true, w, wsh, b, new int[]{2, 1}, new int[]{1, 1}, same);
            double[] yh = Ref.conv2d(nchwToNhwc(x, xs), toNhwc(xs), false, w, wsh, b, new int[]{2, 1},
                new int[]{1, 1}, same);
            int[] ycs = Ref.conv2dOutShape(xs, true, wsh, new int[]{2, 1}, new int[]{1, 1}, same);
            assertArrayEquals(nchwToNhwc(yc, ycs), yh, 1e-13);
        }
    }

    @Test
    void weightNormWithGEqualToNormIsIdentity() {
        Random rnd = new Random(41);
        double[] v = gaussian(rnd, 12, 0, 1);
        int[] vs = {4, 3};
        double[] g = new double[3];
        for (int j = 0; j < 3; j++) {
            for (int i = 0; i < 4; i++) {
                g[j] += v[i * 3 + j] * v[i * 3 + j];
            }
            g[j] = Math.sqrt(g[j]);
        }
        assertArrayEquals(v, Ref.weightNormW(v, vs, g), 1e-14);
        double[] vc = gaussian(rnd, 2 * 3 * 2 * 2, 0, 1);
        double[] gc = new double[2];
        for (int o = 0; o < 2; o++) {
            for (int r = 0; r < 12; r++) {
                gc[o] += vc[o * 12 + r] * vc[o * 12 + r];
            }
            gc[o] = Math.sqrt(gc[o]);
        }
        assertArrayEquals(vc, Ref.weightNormW(vc, new int[]{2, 3, 2, 2}, gc), 1e-14);
    }

    @Test
    void weightNormGradsThroughDenseMatchFiniteDifferences() {
        Random rnd = new Random(42);
        int n = 3;
        int nIn = 4;
        int nOut = 3;
        int[] vs = {nIn, nOut};
        double[] x = gaussian(rnd, n * nIn, 0, 1);
        double[] v = gaussian(rnd, nIn * nOut, 0, 1);
        double[] g = gaussian(rnd, nOut, 1, 0.5);
        double[] b = gaussian(rnd, nOut, 0, 1);
        double[] dy = gaussian(rnd, n * nOut, 0, 1);
        double[] w = Ref.weightNormW(v, vs, g);
        double[] dW = Ref.denseBackward(x, n, nIn, w, nOut, dy)[1];
        double[][] grads = Ref.weightNormGrads(v, vs, g, dW);
        assertClose("wn dense dg", grads[0], fd(g, gg -> dot(dy,
            Ref.dense(x, n, nIn, Ref.weightNormW(v, vs, gg), nOut, b))));
        assertClose("wn dense dv", grads[1], fd(v, vv -> dot(dy,
            Ref.dense(x, n, nIn, Ref.weightNormW(vv, vs, g), nOut, b))));
    }

    @Test
    void weightNormGradsThroughConvMatchFiniteDifferences() {
        Random rnd = new Random(43);
        int[] xs = {2, 5, 5, 2}; // NHWC
        int[] vs = {3, 2, 3, 2};
        int[] stride = {1, 2};
        int[] pad = {0, 0};
        double[] x = gaussian(rnd, Ref.product(xs), 0, 1);
        double[] v = gaussian(rnd, Ref.product(vs), 0, 1);
        double[] g = gaussian(rnd, 3, 1, 0.5);
        double[] b = gaussian(rnd, 3, 0, 1);
        int[] ys = Ref.conv2dOutShape(xs, false, vs, stride, pad, true);
        double[] dy = gaussian(rnd, Ref.product(ys), 0, 1);
        double[] w = Ref.weightNormW(v, vs, g);
        double[] dW = Ref.conv2dBackward(x, xs, false, w, vs, stride, pad, true, dy)[1];
        double[][] grads = Ref.weightNormGrads(v, vs, g, dW);
        assertClose("wn conv dg", grads[0], fd(g, gg -> dot(dy,
            Ref.conv2d(x, xs, false, Ref.weightNormW(v, vs, gg), vs, b, stride, pad, true))));
        assertClose("wn conv dv", grads[1], fd(v, vv -> dot(dy,
            Ref.conv2d(x, xs, false, Ref.weightNormW(vv, vs, g), vs, b, stride, pad, true))));
    }

    // ------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------

    /** Central finite differences of a scalar function: (f(a + h e_i) − f(a − h e_i)) / 2h. */
    private static double[] fd(double[] a, Function<double[], Double> f) {
        double[] grad = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            double[] p = a.clone();
            double[] m = a.clone();
            p[i] += H;
            m[i] -= H;
            grad[i] = (f.apply(p) - f.apply(m)) / (2 * H);
        }
        return grad;
    }

    private static void assertClose(String what, double[] analytic, double[] numeric) {
        assertEquals(numeric.length, analytic.length, what + " length");
        double worst = 0;
        int at = -1;
        for (int i = 0; i < analytic.length; i++) {
            double err = Math.abs(analytic[i] - numeric[i]) / Math.max(1.0, Math.abs(analytic[i]));
            if (!(err <= worst)) {
                worst = err;
                at = i;
            }
        }
        if (!(worst <= TOL)) {
            fail(what + ": analytic " + analytic[at] + " vs finite difference " + numeric[at] + " at " + at
                + " (scaled error " + worst + ")");
        }
    }

    private static void assertRel(String what, double[] expected, double[] actual, double rel) {
        assertEquals(expected.length, actual.length, what + " length");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], rel * Math.max(1.0, Math.abs(expected[i])), what + " at " + i);
        }
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static double[] gaussian(Random rnd, int n, double mean, double std) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = mean + std * rnd.nextGaussian();
        }
        return a;
    }

    private static double[] uniform(Random rnd, int n, double lo, double hi) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = lo + (hi - lo) * rnd.nextDouble();
        }
        return a;
    }

    private static int[] toNhwc(int[] nchw) {
        return new int[]{nchw[0], nchw[2], nchw[3], nchw[1]};
    }

    private static double[] nchwToNhwc(double[] a, int[] nchw) {
        int n = nchw[0];
        int c = nchw[1];
        int h = nchw[2];
        int w = nchw[3];
        double[] r = new double[a.length];
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < c; ch++) {
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        r[((i * h + y) * w + x) * c + ch] = a[((i * c + ch) * h + y) * w + x];
                    }
                }
            }
        }
        return r;
    }
}
