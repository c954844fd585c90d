package org.bn4j.layers;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.bn4j.check.CheckNets;
import org.bn4j.check.Exact;
import org.bn4j.check.InputKind;
import org.bn4j.check.Reference;
import org.bn4j.check.Size;
import org.bn4j.core.Statistic;
import org.bn4j.reference.Ref;
import org.bn4j.reference.RefModel;
import org.bn4j.reference.RefModel.Axes;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random cases against the plain reference (jqwik; a failure shrinks to the smallest case and prints it): for every
 * layer, 1,000 draws of input kind, batch, channels, side or length (sizes of 1 included), RNN masks (fully masked
 * sequences included), ε, decay, float64 or float32, an offset up to 1e4 and a spread, training or inference. Each
 * draw checks the output, the input and parameter gradients (training), the running statistics after the optimizer
 * step, and the inference output after it.
 *
 * <p>Tolerances, relative to the largest expected value: float64 1e-9, float32 1e-4, each times (1 + offset/spread)
 * (the cancellation an offset brings: with offset 1e4 and spread 1 float32 keeps about three digits of the centred
 * values).
 */
class PropertyTest {

    /** One random case. */
    record Draw(InputKind kind, int n, int c, int side, boolean masked, long seed, double eps, double decay, DataType dt,
                double offset, double spread, boolean training) {
    }

    /** A layer under test: its configuration from (eps, decay), the axes of its statistics, its channel groups. */
    record Subject(String name, Function<double[], AbstractNormLayer> conf, Axes axes, int groups, boolean needsPositions,
                   boolean evenChannels) {
    }

    private static final Map<String, Layer> NETS = new ConcurrentHashMap<>();

    @BeforeContainer
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @Provide
    Arbitrary<Draw> draws() {
        return Combinators.combine(
                Arbitraries.of(InputKind.values()), Arbitraries.integers().between(1, 6), Arbitraries.of(1, 2, 4),
                Arbitraries.integers().between(1, 4), Arbitraries.of(false, true), Arbitraries.longs().between(0, 1000),
                Arbitraries.of(1e-5, 1e-2), Arbitraries.of(0.0, 0.9)
        ).flatAs((kind, n, c, side, masked, seed, eps, decay) -> Combinators.combine(
                Arbitraries.of(DataType.DOUBLE, DataType.FLOAT), Arbitraries.of(0.0, 3.0, 1e2, 1e4),
                Arbitraries.of(0.01, 1.0, 30.0), Arbitraries.of(true, false)
        ).as((dt, offset, spread, training) -> new Draw(kind, n, c, side, masked && kind.isRnn(), seed, eps, decay, dt,
                // float32 holds about seven digits: offsets of more than 1e4 spreads are not a case it can serve
                dt == DataType.FLOAT ? Math.min(offset, 1e4 * spread) : offset, spread, training)));
    }

    private static final List<Subject> SUBJECTS = List.of(
            new Subject("BatchNorm", p -> new BatchNorm.Builder().eps(p[0]).decay(p[1]).build(), Axes.BATCH, 0, false, false),
            new Subject("LpBatchNorm(p=1)", p -> new LpBatchNorm.Builder().p(1).eps(p[0]).decay(p[1]).build(), Axes.BATCH, 0, false, false),
            new Subject("LpBatchNorm(p=3)", p -> new LpBatchNorm.Builder().p(3).eps(p[0]).decay(p[1]).build(), Axes.BATCH, 0, false, false),
            new Subject("LpBatchNorm(top-2)", p -> new LpBatchNorm.Builder().topK(2).eps(p[0]).decay(p[1]).build(), Axes.BATCH, 0, false, false),
            new Subject("GhostBatchNorm(3)", p -> new GhostBatchNorm.Builder().virtualBatchSize(3).eps(p[0]).decay(p[1]).build(),
                    Axes.BATCH, 0, false, false),
            new Subject("NoisyBatchNorm", p -> new NoisyBatchNorm.Builder().noise(NoiseConfig.santurkar().withSeed(2)).eps(p[0])
                    .decay(p[1]).build(), Axes.BATCH, 0, false, false),
            new Subject("BatchRenorm", p -> new BatchRenorm.Builder().rMax(2).dMax(1).schedule(0, 0, 0).eps(p[0]).decay(p[1]).build(),
                    Axes.BATCH, 0, false, false),
            new Subject("LayerNorm", p -> new LayerNorm.Builder().eps(p[0]).build(), Axes.SAMPLE, 0, false, false),
            new Subject("GroupNorm(2)", p -> new GroupNorm.Builder(2).eps(p[0]).build(), Axes.GROUPS, 2, false, true),
            new Subject("InstanceNorm(running)", p -> new InstanceNorm.Builder().runningStats(true).eps(p[0]).decay(p[1]).build(),
                    Axes.INSTANCE, 0, true, false),
            new Subject("RMSNorm", p -> new RMSNorm.Builder().eps(p[0]).build(), Axes.CHANNELS, 0, false, false),
            new Subject("LayerNorm(L1, uncentred)", p -> new LayerNorm.Builder().statistic(Statistic.lp(1)).center(false).eps(p[0]).build(),
                    Axes.SAMPLE, 0, false, false),
            new Subject("NoiseInjection", p -> new NoiseInjection.Builder().build(), Axes.NONE, 0, false, false));

    private static Subject subject(String name) {
        return SUBJECTS.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    @Property(tries = 1000) void batchNorm(@ForAll("draws") Draw d) { check(subject("BatchNorm"), d); }
    @Property(tries = 1000) void l1BatchNorm(@ForAll("draws") Draw d) { check(subject("LpBatchNorm(p=1)"), d); }
    @Property(tries = 1000) void l3BatchNorm(@ForAll("draws") Draw d) { check(subject("LpBatchNorm(p=3)"), d); }
    @Property(tries = 1000) void top2BatchNorm(@ForAll("draws") Draw d) { check(subject("LpBatchNorm(top-2)"), d); }
    @Property(tries = 1000) void ghostBatchNorm(@ForAll("draws") Draw d) { check(subject("GhostBatchNorm(3)"), d); }
    @Property(tries = 1000) void noisyBatchNorm(@ForAll("draws") Draw d) { check(subject("NoisyBatchNorm"), d); }
    @Property(tries = 1000) void batchRenorm(@ForAll("draws") Draw d) { check(subject("BatchRenorm"), d); }
    @Property(tries = 1000) void layerNorm(@ForAll("draws") Draw d) { check(subject("LayerNorm"), d); }
    @Property(tries = 1000) void groupNorm(@ForAll("draws") Draw d) { check(subject("GroupNorm(2)"), d); }
    @Property(tries = 1000) void instanceNorm(@ForAll("draws") Draw d) { check(subject("InstanceNorm(running)"), d); }
    @Property(tries = 1000) void rmsNorm(@ForAll("draws") Draw d) { check(subject("RMSNorm"), d); }
    @Property(tries = 1000) void uncentredL1LayerNorm(@ForAll("draws") Draw d) { check(subject("LayerNorm(L1, uncentred)"), d); }
    @Property(tries = 1000) void noiseInjection(@ForAll("draws") Draw d) { check(subject("NoiseInjection"), d); }

    private static double max(double[] a) {
        double m = 0;
        for (double v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    /** The smallest sqrt(v + ε) of the case's groups (batch and running statistics); 1 for the noise-only layer. */
    private static double sigmaMin(RefModel model, AbstractNormLayer conf, Reference.Input in, Map<String, double[]> params) {
        if (conf.getStatistic() == null) return 1;
        double m = Double.POSITIVE_INFINITY;
        for (Ref.Fwd f : model.batchStatistics(in)) {
            for (int q = 0; q < f.v().length; q++) if (f.count()[q] > 0) m = Math.min(m, Math.sqrt(f.v()[q] + conf.getEps()));
        }
        if (params.containsKey("var")) for (double v : params.get("var")) m = Math.min(m, Math.sqrt(v + conf.getEps()));
        return Double.isFinite(m) ? m : Math.sqrt(conf.getEps());
    }

    /** max |e − a| ≤ tol · max(max |e|, floor). */
    private static void assertNear(double[] expected, double[] actual, double tol, double floor, String what) {
        double err = 0;
        for (int i = 0; i < expected.length; i++) err = Math.max(err, Math.abs(expected[i] - actual[i]));
        double scale = Math.max(max(expected), floor);
        if (!(err <= tol * scale)) throw new AssertionError(what + ": error " + err + " > " + tol + " · " + scale);
    }

    private static void check(Subject s, Draw d) {
        InputKind kind = s.needsPositions() && d.kind() == InputKind.FF ? InputKind.CNN_NCHW : d.kind();
        int c = s.evenChannels() && d.c() % 2 == 1 ? d.c() + 1 : d.c();
        Layer l = NETS.computeIfAbsent(s.name() + kind + c + d.eps() + d.decay() + d.dt(), k ->
                CheckNets.alone(() -> s.conf().apply(new double[]{d.eps(), d.decay()}), kind, new Size(1, c, 1), d.dt()).getLayer(0));
        AbstractNormLayer conf = (AbstractNormLayer) l.conf().getLayer();
        RefModel model = new RefModel(conf, s.axes(), s.groups());
        LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();

        Nd4j.getRandom().setSeed(d.seed());
        long[] shape = kind.shape(d.n(), c, d.side());
        INDArray x = Nd4j.randn(DataType.DOUBLE, shape).muli(d.spread()).addi(d.offset()).castTo(d.dt()).castTo(DataType.DOUBLE);
        INDArray mask = null;
        if (d.masked()) mask = Nd4j.rand(DataType.DOUBLE, d.n(), d.side()).gt(0.3).castTo(DataType.DOUBLE);
        INDArray dy = Nd4j.randn(DataType.DOUBLE, shape).castTo(d.dt()).castTo(DataType.DOUBLE);
        l.applyConstraints(0, 0);   // no update pending from an earlier try reaches this one (the values are drawn below)
        // trained parameters are rarely at their initial values
        for (Map.Entry<String, INDArray> e : l.paramTable().entrySet()) {
            INDArray r = Nd4j.rand(DataType.DOUBLE, e.getValue().shape());
            switch (e.getKey()) {
                case "gamma", "var" -> e.getValue().assign(r.addi(0.5));
                case "beta" -> e.getValue().assign(r.subi(0.5));
                case "mean" -> e.getValue().assign(r.subi(0.5).muli(d.spread()).addi(d.offset()));
                case "steps" -> e.getValue().assign(0);
                default -> { }
            }
        }
        if (conf.hasRunningStats()) l.getParam("var").muli(d.spread() * d.spread());
        Map<String, double[]> params = new LinkedHashMap<>();
        l.paramTable().forEach((k, v) -> params.put(k, Exact.values(v)));
        Reference.Input in = new Reference.Input(kind, Exact.values(x), shape, mask == null ? null : Exact.values(mask),
                params, d.training(), d.training() ? Exact.values(dy) : null, l);
        // the smallest normalizer the case divides by: rounding errors grow by offset/σ (cancellation) and dx is of
        // the order of γ·dy/σ
        double sigma = sigmaMin(model, conf, in, params);
        double scale = 1 + d.offset() / sigma;
        double tol = (d.dt() == DataType.DOUBLE ? 1e-9 : 1e-4) * scale;
        String what = s.name() + " " + d;

        l.setInput(x.castTo(d.dt()), ws);
        l.setMaskArray(mask == null ? null : mask.castTo(d.dt()));
        INDArray y = l.activate(d.training(), ws).dup();
        Reference.Expected e = model.compute(in);
        Exact.assertClose(e.y(), Exact.values(y), tol, what + ": output");
        if (!d.training()) return;
        Pair<Gradient, INDArray> g = l.backpropGradient(dy.castTo(d.dt()), ws);
        // dx is of the order of γ·dy/σ; where it cancels to almost nothing (groups of one or two values, whose normalized
        // values hardly depend on x) the comparison is on that order instead of on the (tiny) value itself
        double gamma = params.containsKey("gamma") ? max(params.get("gamma")) : 1;
        assertNear(e.dx(), Exact.values(g.getSecond()), tol, max(Exact.values(dy)) * gamma / sigma, what + ": input gradient");
        // dγ = Σ g·x̂ and dβ = Σ g are sums that may cancel: compared on the order of Σ|g|·max(1, |x̂|) (|x̂| below 5 spreads/σ)
        double sumDy = 0;
        for (double v : Exact.values(dy)) sumDy += Math.abs(v);
        for (Map.Entry<String, double[]> pg : e.paramGradients().entrySet()) {
            assertNear(pg.getValue(), Exact.values(g.getFirst().getGradientFor(pg.getKey())), tol,
                    sumDy * Math.max(1, 5 * d.spread() / sigma), what + ": gradient of " + pg.getKey());
        }
        if (conf.hasRunningStats()) {
            double[] mean = conf.isCenter() ? params.get("mean").clone() : null, var = params.get("var").clone();
            boolean batch = !conf.isFrozenStatistics();
            List<Ref.Fwd> stats = model.batchStatistics(in);
            if (batch) RefModel.updateRunning(conf, model.minCount(), mean, var, 0, stats);
            l.applyConstraints(0, 0);   // the optimizer's step
            if (mean != null) Exact.assertClose(mean, Exact.values(l.getParam("mean")), tol, what + ": running mean");
            Exact.assertClose(var, Exact.values(l.getParam("var")), tol, what + ": running variance");
            params.clear();
            l.paramTable().forEach((k, v) -> params.put(k, Exact.values(v)));
            INDArray yi = l.activate(false, ws);
            Reference.Expected ei = model.compute(new Reference.Input(kind, Exact.values(x), shape,
                    mask == null ? null : Exact.values(mask), params, false, null, l));
            Exact.assertClose(ei.y(), Exact.values(yi), tol, what + ": inference output after the step");
        }
        l.setMaskArray(null);
        l.clear();
        assertTrue(true);
    }
}
