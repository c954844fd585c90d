package org.bn4j.layers;

import org.bn4j.check.CheckNets;
import org.bn4j.check.Exact;
import org.bn4j.check.InputKind;
import org.bn4j.check.Reference;
import org.bn4j.check.Size;
import org.bn4j.reference.RefModel;
import org.bn4j.reference.RefModel.Axes;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Top-k's input gradient where values tie at the selection threshold τ (docs/guarantees.md, docs/lp-batch-norm.md):
 * the tied values share the places left equally (the symmetric subgradient).
 *
 * <ul>
 *   <li>Top-1 on a batch of 2: each feature's T = |x_1 − x_2|/2 is differentiable (x_1 ≠ x_2), and the layer's input
 *       gradient must be its derivative, written out below (both |u| tie, each takes weight 1/2), in float64 and in
 *       float32 with an offset (where the computed |u_1|, |u_2| differ by the mean's rounding).</li>
 *   <li>Top-3 with three values tied at τ (two above: each tied value takes 1/3), top-2 with four tied, and masked RNN
 *       groups (two unmasked steps under top-1, a tie of three under top-3) against the plain reference.</li>
 * </ul>
 */
class TopKTiesTest {

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    /** The Gaussian-consistency constant of top-k for a group of m values: 0.5 (1 + √(π ln 4)) / √(2 ln m). */
    private static double topKConstant(int m) {
        return 0.5 * (1 + Math.sqrt(Math.PI * Math.log(4))) / Math.sqrt(2 * Math.log(m));
    }

    /** A top-k LpBatchNorm alone in a network of the given type, with γ and β drawn from the seed. */
    private static Layer layer(int k, double eps, InputKind kind, int channels, int side, DataType dt, long seed) {
        Layer l = CheckNets.alone(() -> new LpBatchNorm.Builder().topK(k).eps(eps).build(), kind, new Size(1, channels, side), dt)
                .getLayer(0);
        Random r = new Random(seed);
        INDArray gamma = l.getParam("gamma"), beta = l.getParam("beta");
        for (int j = 0; j < channels; j++) {
            gamma.putScalar(j, (0.5 + r.nextDouble()) * (r.nextBoolean() ? 1 : -1));
            beta.putScalar(j, r.nextDouble() - 0.5);
        }
        return l;
    }

    /** The layer's training output's input gradient for dy (input and mask as given). */
    private static double[] dx(Layer l, INDArray x, INDArray mask, INDArray dy, DataType dt) {
        LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();
        l.setInput(x.castTo(dt), ws);
        l.setMaskArray(mask == null ? null : mask.castTo(dt));
        l.activate(true, ws);
        Pair<Gradient, INDArray> g = l.backpropGradient(dy.castTo(dt), ws);
        double[] out = Exact.values(g.getSecond());
        l.setMaskArray(null);
        l.clear();
        return out;
    }

    /** max |e − a| ≤ tol · scale. */
    private static void assertNear(double[] expected, double[] actual, double tol, double scale, String what) {
        double err = 0;
        for (int i = 0; i < expected.length; i++) {
            double e = Math.abs(expected[i] - actual[i]);
            err = Double.isNaN(e) ? Double.POSITIVE_INFINITY : Math.max(err, e);
        }
        assertTrue(err <= tol * scale, what + ": error " + err + " > " + tol + " · " + scale);
    }

    /**
     * Top-1 on a batch of two, 6 features: with s = (x_1 − x_2)/2, u = (s, −s), T = |s|, v = C²s² (C = C(2)),
     * d = √(C²s² + ε), y_1 = γ s/d + β, y_2 = −γ s/d + β, so d(s/d)/ds = ε/d³ and
     * <pre>  ∂L/∂x_1 = γ (dy_1 − dy_2) ε / (2 d³) = −∂L/∂x_2.</pre>
     * Giving both tied values the full weight (bn4j before the fix) doubles the term through T: the error is then of
     * the order of γ·dy/d. Compared on that order: 1e-10 (float64), 1e-4·(1 + offset/spread) (float32, as the
     * property tests). (How the weight 1 is split between the two values does not matter here: they have opposite
     * signs, so a different split changes ∂v/∂u by a constant, which the centring removes; the total must be 1.)
     */
    @ParameterizedTest(name = "top-1, batch of 2, {0}, eps {1}, offset {2}, spread {3}")
    @CsvSource({"DOUBLE, 1e-2, 0, 0.3", "DOUBLE, 1e-5, 3, 1", "DOUBLE, 1e-2, 100, 0.1", "FLOAT, 1e-2, 0, 0.3",
            "FLOAT, 1e-2, 1000, 1", "FLOAT, 1e-5, 100, 0.5"})
    void top1BatchOfTwoIsTheDerivativeOfHalfTheDistance(DataType dt, double eps, double offset, double spread) {
        int c = 6;
        Layer l = layer(1, eps, InputKind.FF, c, 1, dt, 7);
        double[] gamma = Exact.values(l.getParam("gamma"));
        Nd4j.getRandom().setSeed(11);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 2, c).muli(spread).addi(offset).castTo(dt).castTo(DataType.DOUBLE);
        INDArray dy = Nd4j.randn(DataType.DOUBLE, 2, c).castTo(dt).castTo(DataType.DOUBLE);
        double[] xs = Exact.values(x), dys = Exact.values(dy);
        double cc = topKConstant(2), scale = 0;
        double[] expected = new double[2 * c];
        for (int j = 0; j < c; j++) {
            double s = (xs[j] - xs[c + j]) / 2, d = Math.sqrt(cc * cc * s * s + eps);
            double g = gamma[j] * (dys[j] - dys[c + j]) * eps / (2 * d * d * d);
            expected[j] = g;
            expected[c + j] = -g;
            scale = Math.max(scale, Math.abs(gamma[j]) * Math.max(Math.abs(dys[j]), Math.abs(dys[c + j])) / d);
        }
        double tol = dt == DataType.DOUBLE ? 1e-10 : 1e-4 * (1 + offset / spread);
        assertNear(expected, dx(l, x, null, dy, dt), tol, scale, "top-1 input gradient, batch of 2, " + dt);
        // the plain reference gives the same derivative
        assertNear(expected, reference(l, InputKind.FF, x, null, dy).dx(), 1e-12, scale, "reference, batch of 2");
    }

    /** The reference's expected values for the layer's current parameters. */
    private static Reference.Expected reference(Layer l, InputKind kind, INDArray x, INDArray mask, INDArray dy) {
        Map<String, double[]> params = new LinkedHashMap<>();
        l.paramTable().forEach((k, v) -> params.put(k, Exact.values(v)));
        return new RefModel((AbstractNormLayer) l.conf().getLayer(), Axes.BATCH, 0).compute(new Reference.Input(kind,
                Exact.values(x), x.shape(), mask == null ? null : Exact.values(mask), params, true, Exact.values(dy), l));
    }

    /**
     * Each feature: the template's values n_i permuted, x_i = M + s·n_i + (1 + σ_i)·e, with s in eighths (1/4 to 1),
     * and for an offset M in [0.6, 0.95]·offset on the grid of float32 (its spacing 2e) and σ_i = ±1, three of each
     * (without offset M = e = 0). Then every x_i is exact in float32, the mean is M + e exactly (Σ σ_i = 0, Σ n_i = 0)
     * but not a float32 number, and u_i = s·n_i + σ_i·e: the tied |u| (equal n_i, equal σ_i·sign(n_i)) are exact ties,
     * whose computed values differ by the rounding of the mean (about e), far beyond 4 ulps of τ: only the
     * library's margin of 4 ulps of |μ| + τ ties them.
     */
    private static INDArray tiedFeatures(int[] template, int[] sigma, int c, long seed, double offset) {
        Random r = new Random(seed);
        int n = template.length;
        INDArray x = Nd4j.create(DataType.DOUBLE, n, c);
        for (int j = 0; j < c; j++) {
            int[] perm = java.util.stream.IntStream.range(0, n).toArray();
            for (int i = n - 1; i > 0; i--) {
                int q = r.nextInt(i + 1), z = perm[i];
                perm[i] = perm[q];
                perm[q] = z;
            }
            double s = (2 + r.nextInt(7)) / 8.0, m = 0, e = 0;
            if (offset > 0) {
                double raw = offset * (0.6 + 0.35 * r.nextDouble());
                e = Math.ulp((float) raw) / 2;
                m = Math.rint(raw / (2 * e)) * (2 * e);
            }
            for (int i = 0; i < n; i++) {
                double v = m + s * template[perm[i]] + (1 + sigma[perm[i]]) * e;
                if ((float) v != v) throw new IllegalStateException("not exact in float32: " + v);
                x.putScalar(i, j, v);
            }
        }
        return x;
    }

    /**
     * Top-3 on a batch of 6 whose every feature has |u| = (6, 3, 2, 2, 2, 1)·s (two values above τ, three tied at τ,
     * each of weight 1/3), and top-2 on |u| = (5, 2, 2, 2, 2, 1)·s (four tied at τ, 1/4 each), against the reference
     * (whose ties are the same values within 4 double ulps of |μ| + τ): 1e-10 in float64, 1e-5·(1 + offset/σ) in
     * float32 (the inputs are exact; about 80 float32 ulps of the cancellation an offset brings), of the order
     * γ·dy/σ. With an offset (float32), the tied values' computed |u| differ by the mean's rounding
     * ({@link #tiedFeatures}): a margin of 4 ulps of τ alone leaves them untied, an error of 0.058 (top-3) and 0.084
     * (top-2) of γ·dy/σ, where the fix is within 4e-6.
     */
    @ParameterizedTest(name = "top-{0} with ties at the threshold, {1}, offset {2}")
    @CsvSource({"3, DOUBLE, 0", "3, FLOAT, 0", "3, FLOAT, 1000", "2, DOUBLE, 0", "2, FLOAT, 0", "2, FLOAT, 1000"})
    void topKTiesAgainstTheReference(int k, DataType dt, double offset) {
        // u = s·n_i + σ_i·e: the tied values have equal |n_i| and σ_i·sign(n_i), and Σ n_i = Σ σ_i = 0
        int[] template = k == 3 ? new int[]{6, -3, 2, -2, -2, -1} : new int[]{5, -2, 2, -2, -2, -1};
        int[] signs = k == 3 ? new int[]{1, 1, 1, -1, -1, -1} : new int[]{1, -1, 1, -1, -1, 1};
        int c = 5;
        Layer l = layer(k, 1e-5, InputKind.FF, c, 1, dt, 13);
        INDArray x = tiedFeatures(template, signs, c, 17 + k, offset).castTo(dt).castTo(DataType.DOUBLE);
        Nd4j.getRandom().setSeed(19);
        INDArray dy = Nd4j.randn(DataType.DOUBLE, template.length, c).castTo(dt).castTo(DataType.DOUBLE);
        Reference.Expected e = reference(l, InputKind.FF, x, null, dy);
        double sigma = 0.7; // the smallest normalizer: C(6)·T ≥ 0.81 · 3.5 (the smallest T) · 0.25 (the smallest scale)
        double scale = 1.5 * max(Exact.values(dy)) / sigma;
        assertNear(e.dx(), dx(l, x, null, dy, dt), dt == DataType.DOUBLE ? 1e-10 : 1e-5 * (1 + offset / sigma), scale,
                "top-" + k + " input gradient with ties, " + dt);
    }

    /**
     * Masked RNN groups [2, 3, 4] (NCW): sample 0 has steps 1 and 2 unmasked, sample 1 none, so every channel's group
     * is two values (top-1: a tie, weight 1/2 each); and under top-3 a mask leaving the six values of the top-3
     * template (two above τ, three tied). Against the reference, float64 and float32.
     */
    @Test
    void maskedTies() {
        for (DataType dt : new DataType[]{DataType.DOUBLE, DataType.FLOAT}) {
            double tol = dt == DataType.DOUBLE ? 1e-10 : 1e-4;
            // top-1: groups of two unmasked values
            Layer l1 = layer(1, 1e-3, InputKind.RNN_NCW, 3, 4, dt, 23);
            Nd4j.getRandom().setSeed(29);
            INDArray x = Nd4j.randn(DataType.DOUBLE, 2, 3, 4).addi(0.7).castTo(dt).castTo(DataType.DOUBLE);
            INDArray dy = Nd4j.randn(DataType.DOUBLE, 2, 3, 4).castTo(dt).castTo(DataType.DOUBLE);
            INDArray mask = Nd4j.create(new double[][]{{0, 1, 1, 0}, {0, 0, 0, 0}});
            Reference.Expected e = reference(l1, InputKind.RNN_NCW, x, mask, dy);
            assertNear(e.dx(), dx(l1, x, mask, dy, dt), tol, 1.5 * max(Exact.values(dy)) / Math.sqrt(1e-3),
                    "masked top-1, two unmasked steps, " + dt);
            // top-3: eight positions, six unmasked holding the template (two above τ, three tied at τ)
            Layer l3 = layer(3, 1e-5, InputKind.RNN_NCW, 2, 4, dt, 31);
            double[] t = {6, -3, 2, -2, -2, -1};
            INDArray x3 = Nd4j.create(DataType.DOUBLE, 2, 2, 4);
            INDArray mask3 = Nd4j.create(new double[][]{{1, 1, 0, 1}, {1, 0, 1, 1}});
            Random r = new Random(37);
            for (int ch = 0; ch < 2; ch++) {
                int q = 0;
                double scale = (4 + r.nextInt(9)) / 8.0, shift = (r.nextInt(33) - 16) / 8.0;   // exact in float32
                for (int n = 0; n < 2; n++) {
                    for (int s = 0; s < 4; s++) {
                        // masked positions hold values far outside: they must not take part
                        x3.putScalar(new int[]{n, ch, s}, mask3.getDouble(n, s) == 0 ? 40 : t[(q++ + 2 * ch) % 6] * scale + shift);
                    }
                }
            }
            x3 = x3.castTo(dt).castTo(DataType.DOUBLE);
            INDArray dy3 = Nd4j.randn(DataType.DOUBLE, 2, 2, 4).castTo(dt).castTo(DataType.DOUBLE);
            Reference.Expected e3 = reference(l3, InputKind.RNN_NCW, x3, mask3, dy3);
            assertNear(e3.dx(), dx(l3, x3, mask3, dy3, dt), tol, 1.5 * max(Exact.values(dy3)) / 0.5,
                    "masked top-3, three tied, " + dt);
        }
    }

    private static double max(double[] a) {
        double m = 0;
        for (double v : a) m = Math.max(m, Math.abs(v));
        return m;
    }
}
