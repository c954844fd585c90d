package org.bn4j.layers;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
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
import org.bn4j.layers.weightnorm.AbstractWeightNormLayer;
import org.bn4j.layers.weightnorm.WeightNormConv2D;
import org.bn4j.layers.weightnorm.WeightNormDense;
import org.bn4j.layers.weightnorm.WnRef;
import org.bn4j.reference.Ref;
import org.bn4j.reference.RefModel;
import org.bn4j.reference.RefModel.Axes;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.Activation;
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
 * sequences included), ε, decay, float64, float32 or float16, an offset up to 1e4 and a spread, training or inference.
 * Each draw checks the output, the input and parameter gradients (training), the running statistics after the
 * optimizer step, and the inference output after it. The layers: batch norm, ℓ1, ℓ3, top-1, top-2 and top-3 batch
 * norm, ghost, noisy, renorm, layer norm (and an uncentred ℓ1 one), group, instance and RMS norm, noise injection, and
 * {@link WeightNormDense} against {@link WnRef} (w = g·v/‖v‖ in plain doubles).
 *
 * <p>Tolerances, relative to the largest expected value: float64 1e-9, float32 1e-4, each times (1 + offset/σ) (the
 * cancellation an offset brings: with offset 1e4 and spread 1 float32 keeps about three digits of the centred values);
 * float16 1e-3 + 1e-4·(1 + offset/σ): it computes in float32 and rounds each result to float16 once (2^-11). Offsets
 * are capped at 1e4 spreads in float32 and 10 spreads in float16, beyond which the input rounds to a constant.
 */
class PropertyTest {

    /** One random case: dt is the input's type, net the network's (float32 for bfloat16 input, and for some float16). */
    record Draw(InputKind kind, int n, int c, int side, boolean masked, long seed, double eps, double decay, DataType dt,
                double offset, double spread, boolean training, DataType net) {
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
                Arbitraries.of(DataType.DOUBLE, DataType.FLOAT, DataType.HALF, DataType.BFLOAT16), Arbitraries.of(0.0, 3.0, 1e2, 1e4),
                Arbitraries.of(0.01, 1.0, 30.0), Arbitraries.of(true, false), Arbitraries.of(false, true)
        ).as((dt, offset, spread, training, inFloat32) -> new Draw(kind, n, c, side, masked && kind.isRnn(), seed, eps, decay, dt,
                // float32 holds about seven digits, float16 about three, bfloat16 between two and three: offsets of more
                // than 1e4 (float32) or 10 (float16, bfloat16) spreads are not a case they can serve (the input would
                // round to a constant)
                dt == DataType.FLOAT ? Math.min(offset, 1e4 * spread) : dt.isFPType() && dt.width() == 2 ? Math.min(offset, 10 * spread)
                        : offset, spread, training,
                // float16 input goes into a float16 network or, as with mixed precision, into a float32 one
                dt == DataType.HALF && inFloat32 ? DataType.FLOAT : network(dt))));
    }

    private static final List<Subject> SUBJECTS = List.of(
            new Subject("BatchNorm", p -> new BatchNorm.Builder().eps(p[0]).decay(p[1]).build(), Axes.BATCH, 0, false, false),
            new Subject("LpBatchNorm(p=1)", p -> new LpBatchNorm.Builder().p(1).eps(p[0]).decay(p[1]).build(), Axes.BATCH, 0, false, false),
            new Subject("LpBatchNorm(p=3)", p -> new LpBatchNorm.Builder().p(3).eps(p[0]).decay(p[1]).build(), Axes.BATCH, 0, false, false),
            new Subject("LpBatchNorm(top-1)", p -> new LpBatchNorm.Builder().topK(1).eps(p[0]).decay(p[1]).build(), Axes.BATCH, 0, false, false),
            new Subject("LpBatchNorm(top-2)", p -> new LpBatchNorm.Builder().topK(2).eps(p[0]).decay(p[1]).build(), Axes.BATCH, 0, false, false),
            new Subject("LpBatchNorm(top-3)", p -> new LpBatchNorm.Builder().topK(3).eps(p[0]).decay(p[1]).build(), Axes.BATCH, 0, false, false),
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
    @Property(tries = 1000) void top1BatchNorm(@ForAll("draws") Draw d) { check(subject("LpBatchNorm(top-1)"), d); }
    @Property(tries = 1000) void top2BatchNorm(@ForAll("draws") Draw d) { check(subject("LpBatchNorm(top-2)"), d); }
    @Property(tries = 1000) void top3BatchNorm(@ForAll("draws") Draw d) { check(subject("LpBatchNorm(top-3)"), d); }
    @Property(tries = 1000) void ghostBatchNorm(@ForAll("draws") Draw d) { check(subject("GhostBatchNorm(3)"), d); }
    @Property(tries = 1000) void noisyBatchNorm(@ForAll("draws") Draw d) { check(subject("NoisyBatchNorm"), d); }
    @Property(tries = 1000) void batchRenorm(@ForAll("draws") Draw d) { check(subject("BatchRenorm"), d); }
    @Property(tries = 1000) void layerNorm(@ForAll("draws") Draw d) { check(subject("LayerNorm"), d); }
    @Property(tries = 1000) void groupNorm(@ForAll("draws") Draw d) { check(subject("GroupNorm(2)"), d); }
    @Property(tries = 1000) void instanceNorm(@ForAll("draws") Draw d) { check(subject("InstanceNorm(running)"), d); }
    @Property(tries = 1000) void rmsNorm(@ForAll("draws") Draw d) { check(subject("RMSNorm"), d); }
    @Property(tries = 1000) void uncentredL1LayerNorm(@ForAll("draws") Draw d) { check(subject("LayerNorm(L1, uncentred)"), d); }
    @Property(tries = 1000) void noiseInjection(@ForAll("draws") Draw d) { check(subject("NoiseInjection"), d); }

    /** A draw CI found (2026-12-02): one float32 value per channel, ℓ1 batch norm, ε 1e-5. */
    @Example void l1BatchNormOneValue() {
        check(subject("LpBatchNorm(p=1)"), new Draw(InputKind.FF, 1, 1, 1, false, 293, 1e-5, 0.0, DataType.FLOAT, 0.0, 0.01, true,
                DataType.FLOAT));
    }

    /**
     * A draw CI found (2026-12-03): top-2, float32, offset 3, spread 0.01; in channel 1 the second and third largest
     * |u| (same sign) differ by 4.8e-7, within the layer's tie margin (4 float32 ulps · (|μ| + τ) = 1.4e-6), so the layer
     * ties them, which the reference tying within 4 double ulps did not.
     */
    @Example void top2BatchNormNearTie() {
        check(subject("LpBatchNorm(top-2)"), new Draw(InputKind.CNN_NCHW, 5, 4, 2, false, 36, 1e-5, 0.0, DataType.FLOAT, 3.0, 0.01, true,
                DataType.FLOAT));
    }

    /** One random weight-norm case: batch, nIn, nOut, bias, tanh or identity, type, scale of v, spread of x, mode. */
    record WnDraw(int n, int nIn, int nOut, boolean bias, boolean tanh, long seed, DataType dt, double vScale,
                  double spread, boolean training) {
    }

    @Provide
    Arbitrary<WnDraw> wnDraws() {
        return Combinators.combine(
                Arbitraries.integers().between(1, 6), Arbitraries.integers().between(1, 6), Arbitraries.integers().between(1, 4),
                Arbitraries.of(true, false), Arbitraries.of(false, true), Arbitraries.longs().between(0, 1000),
                Arbitraries.of(DataType.DOUBLE, DataType.FLOAT, DataType.HALF, DataType.BFLOAT16),
                // ‖v‖ grows in training; at 1e3 its square overflows float16 (max 65504)
                Arbitraries.of(0.01, 1.0, 1e3)
        ).flatAs((n, nIn, nOut, bias, tanh, seed, dt, vScale) -> Combinators.combine(
                Arbitraries.of(0.1, 1.0, 10.0), Arbitraries.of(true, false)
        ).as((spread, training) -> new WnDraw(n, nIn, nOut, bias, tanh, seed, dt, vScale, spread, training)));
    }

    @Property(tries = 1000) void weightNormDense(@ForAll("wnDraws") WnDraw d) { checkWeightNorm(d); }

    /** One random weight-norm convolution: the draw of the dense case (nIn = input channels, nOut = output channels), a side, and the convolution's options. */
    record ConvDraw(WnDraw wn, int side, int kernel, int stride, int dilation, int pad, boolean same, boolean nhwc) {
    }

    @Provide
    Arbitrary<ConvDraw> convDraws() {
        return Combinators.combine(wnDraws(), Arbitraries.integers().between(1, 5), Arbitraries.integers().between(1, 3),
                Arbitraries.integers().between(1, 2), Arbitraries.integers().between(1, 2), Arbitraries.integers().between(0, 1),
                Arbitraries.of(false, true), Arbitraries.of(false, true)
        ).as((wn, side, kernel, stride, dilation, pad, same, nhwc) -> new ConvDraw(
                // at most 3 samples and 3 input channels; Truncate needs the dilated kernel to fit in the padded input
                new WnDraw(Math.min(wn.n(), 3), Math.min(wn.nIn(), 3), wn.nOut(), wn.bias(), wn.tanh(), wn.seed(), wn.dt(),
                        wn.vScale(), wn.spread(), wn.training()),
                side, kernel, stride, dilation, pad, same || side + 2 * pad < (kernel - 1) * dilation + 1, nhwc));
    }

    @Property(tries = 1000) void weightNormConv2D(@ForAll("convDraws") ConvDraw d) { checkWeightNormConv(d); }

    /** A draw a test run found (2026-12-02): float16, ‖v‖ small (0.01), spread 10. */
    @Example void weightNormConv2DSmallV() {
        checkWeightNormConv(new ConvDraw(new WnDraw(2, 3, 4, true, false, 14, DataType.HALF, 0.01, 10.0, true), 5, 1, 1, 1, 0, false,
                false));
    }

    private static void randomize(INDArray p, INDArray values) {
        p.assign(values.reshape(p.shape()));
    }

    /**
     * WeightNormDense against {@link WnRef} (w = g·v/‖v‖ in plain doubles): the output, and in training the input
     * gradient and the gradients of v, g, b. Each error is measured against the size of the sums it comes from (z:
     * nIn·max|x|·max|w| + max|b|; dx: nOut·max|dy|·max|w|; ∇w entries: n·max|x|·max|dy|), times 1e-10 (float64), 1e-5
     * (float32) or 1e-3 (float16: float32 arithmetic, each result rounded once to float16, plus float16's subnormal spacing
     * 2^-24 for the smallest gradients).
     */
    private static void checkWeightNorm(WnDraw d) {
        Activation act = d.tanh() ? Activation.TANH : Activation.IDENTITY;
        Layer l = NETS.computeIfAbsent("WeightNormDense" + d.nIn() + "x" + d.nOut() + d.bias() + act + d.dt(), k ->
                CheckNets.alone(() -> new WeightNormDense.Builder().nOut(d.nOut()).hasBias(d.bias()).activation(act).build(),
                        InputKind.FF, new Size(1, d.nIn(), 1), network(d.dt())).getLayer(0));
        AbstractWeightNormLayer conf = (AbstractWeightNormLayer) l.conf().getLayer();
        LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();
        Nd4j.getRandom().setSeed(d.seed());
        int n = d.n(), nIn = d.nIn(), nOut = d.nOut();
        INDArray x = Nd4j.randn(DataType.DOUBLE, n, nIn).muli(d.spread()).castTo(d.dt()).castTo(DataType.DOUBLE);
        INDArray dy = Nd4j.randn(DataType.DOUBLE, n, nOut).castTo(d.dt()).castTo(DataType.DOUBLE);
        randomize(l.getParam("v"), Nd4j.randn(DataType.DOUBLE, conf.vShape()).muli(d.vScale()));
        INDArray sign = Nd4j.rand(DataType.DOUBLE, nOut).gt(0.25).castTo(DataType.DOUBLE).muli(2).subi(1);
        randomize(l.getParam("g"), Nd4j.rand(DataType.DOUBLE, nOut).addi(0.5).muli(sign));
        if (d.bias()) randomize(l.getParam("b"), Nd4j.rand(DataType.DOUBLE, nOut).subi(0.5));
        // the reference gets the values the layer holds (rounded to its type)
        double[] v = Exact.values(l.getParam("v")), g = Exact.values(l.getParam("g"));
        double[] b = d.bias() ? Exact.values(l.getParam("b")) : null;
        WnRef.Result r = WnRef.run(conf, act, Exact.values(x), new int[]{n, nIn}, v, g, b,
                d.training() ? Exact.values(dy) : null);

        double tol = switch (d.dt()) {
            case DOUBLE -> 1e-10;
            case FLOAT -> 1e-5;
            default -> rounding(d.dt());
        };
        double abs = d.dt() == DataType.HALF ? Math.pow(2, -24) : 0;
        double[] w = Ref.weightNormW(v, new int[]{nIn, nOut}, g);
        double mx = max(Exact.values(x)), mw = max(w), md = max(Exact.values(dy)), mb = b == null ? 0 : max(b);
        String what = "WeightNormDense " + d;

        l.setInput(x.castTo(d.dt()), ws);
        INDArray y = l.activate(d.training(), ws);
        if (y.dataType() != d.dt()) throw new AssertionError(what + ": output type " + y.dataType());
        assertNear(r.y(), Exact.values(y), tol, nIn * mx * mw + mb, abs, what + ": output");
        if (d.training()) {
            Pair<Gradient, INDArray> gr = l.backpropGradient(dy.castTo(d.dt()), ws);
            if (gr.getSecond().dataType() != d.dt()) throw new AssertionError(what + ": input gradient type " + gr.getSecond().dataType());
            assertNear(r.dx(), Exact.values(gr.getSecond()), tol, nOut * md * mw, abs, what + ": input gradient");
            double gw = n * mx * md, ratio = 0;
            double[] norms = new double[nOut];
            for (int i = 0; i < v.length; i++) norms[i % nOut] += v[i] * v[i];
            for (int j = 0; j < nOut; j++) ratio = Math.max(ratio, Math.abs(g[j]) / Math.sqrt(norms[j]));
            assertNear(stored(r.dg(), network(d.dt())), Exact.values(gr.getFirst().getGradientFor("g")), tol, Math.sqrt(nIn) * gw, abs, what + ": gradient of g");
            assertNear(stored(r.dv(), network(d.dt())), Exact.values(gr.getFirst().getGradientFor("v")), tol, 2 * Math.sqrt(nIn) * gw * ratio, abs,
                    what + ": gradient of v");
            if (b != null) assertNear(stored(r.db(), network(d.dt())), Exact.values(gr.getFirst().getGradientFor("b")), tol, n * md, abs, what + ": gradient of b");
        }
        l.clear();
    }

    /** WeightNormConv2D against {@link WnRef}, as {@link #checkWeightNorm} with the convolution's sums (nIn·kH·kW terms per output, N·outH·outW per weight). */
    private static void checkWeightNormConv(ConvDraw c) {
        WnDraw d = c.wn();
        Activation act = d.tanh() ? Activation.TANH : Activation.IDENTITY;
        InputKind kind = c.nhwc() ? InputKind.CNN_NHWC : InputKind.CNN_NCHW;
        ConvolutionMode mode = c.same() ? ConvolutionMode.Same : ConvolutionMode.Truncate;
        String key = "WeightNormConv2D " + java.util.List.of(c.side(), c.kernel(), c.stride(), c.dilation(), c.pad(), mode, kind,
                d.nIn(), d.nOut(), d.bias(), act, d.dt());
        Layer l = NETS.computeIfAbsent(key, k ->
                CheckNets.alone(() -> new WeightNormConv2D.Builder(c.kernel(), c.kernel()).stride(c.stride(), c.stride())
                                .dilation(c.dilation(), c.dilation()).padding(c.pad(), c.pad()).convolutionMode(mode)
                                .dataFormat(c.nhwc() ? CNN2DFormat.NHWC : CNN2DFormat.NCHW).nOut(d.nOut()).hasBias(d.bias())
                                .activation(act).build(),
                        kind, new Size(1, d.nIn(), c.side()), network(d.dt())).getLayer(0));
        AbstractWeightNormLayer conf = (AbstractWeightNormLayer) l.conf().getLayer();
        LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();
        Nd4j.getRandom().setSeed(d.seed());
        int n = d.n(), nOut = d.nOut(), taps = d.nIn() * c.kernel() * c.kernel();
        long[] shape = kind.shape(n, d.nIn(), c.side());
        INDArray x = Nd4j.randn(DataType.DOUBLE, shape).muli(d.spread()).castTo(d.dt()).castTo(DataType.DOUBLE);
        randomize(l.getParam("v"), Nd4j.randn(DataType.DOUBLE, conf.vShape()).muli(d.vScale()));
        INDArray sign = Nd4j.rand(DataType.DOUBLE, nOut).gt(0.25).castTo(DataType.DOUBLE).muli(2).subi(1);
        randomize(l.getParam("g"), Nd4j.rand(DataType.DOUBLE, nOut).addi(0.5).muli(sign));
        if (d.bias()) randomize(l.getParam("b"), Nd4j.rand(DataType.DOUBLE, nOut).subi(0.5));
        double[] v = Exact.values(l.getParam("v")), g = Exact.values(l.getParam("g"));
        double[] b = d.bias() ? Exact.values(l.getParam("b")) : null;
        int[] xs = java.util.Arrays.stream(shape).mapToInt(q -> (int) q).toArray();
        l.setInput(x.castTo(d.dt()), ws);
        INDArray y = l.activate(d.training(), ws);
        INDArray dy = Nd4j.randn(DataType.DOUBLE, y.shape()).castTo(d.dt()).castTo(DataType.DOUBLE);
        WnRef.Result r = WnRef.run(conf, act, Exact.values(x), xs, v, g, b, d.training() ? Exact.values(dy) : null);

        double tol = switch (d.dt()) {
            case DOUBLE -> 1e-10;
            case FLOAT -> 1e-5;
            default -> rounding(d.dt());
        };
        double abs = d.dt() == DataType.HALF ? Math.pow(2, -24) : 0;
        double[] w = Ref.weightNormW(v, java.util.Arrays.stream(conf.vShape()).mapToInt(q -> (int) q).toArray(), g);
        long outPositions = y.length() / (n * nOut);
        double mx = max(Exact.values(x)), mw = max(w), md = max(Exact.values(dy)), mb = b == null ? 0 : max(b);
        String what = "WeightNormConv2D " + c;
        if (y.dataType() != d.dt()) throw new AssertionError(what + ": output type " + y.dataType());
        assertNear(r.y(), Exact.values(y), tol, taps * mx * mw + mb, abs, what + ": output");
        if (d.training()) {
            Pair<Gradient, INDArray> gr = l.backpropGradient(dy.castTo(d.dt()), ws);
            if (gr.getSecond().dataType() != d.dt()) throw new AssertionError(what + ": input gradient type " + gr.getSecond().dataType());
            assertNear(r.dx(), Exact.values(gr.getSecond()), tol, nOut * c.kernel() * c.kernel() * md * mw, abs, what + ": input gradient");
            double gw = n * outPositions * mx * md, ratio = 0;
            double[] norms = new double[nOut];
            for (int i = 0; i < v.length; i++) norms[i / taps] += v[i] * v[i];
            for (int j = 0; j < nOut; j++) ratio = Math.max(ratio, Math.abs(g[j]) / Math.sqrt(norms[j]));
            assertNear(stored(r.dg(), network(d.dt())), Exact.values(gr.getFirst().getGradientFor("g")), tol, Math.sqrt(taps) * gw, abs, what + ": gradient of g");
            assertNear(stored(r.dv(), network(d.dt())), Exact.values(gr.getFirst().getGradientFor("v")), tol, 2 * Math.sqrt(taps) * gw * ratio, abs,
                    what + ": gradient of v");
            if (b != null) assertNear(stored(r.db(), network(d.dt())), Exact.values(gr.getFirst().getGradientFor("b")), tol, n * outPositions * md, abs,
                    what + ": gradient of b");
        }
        l.clear();
    }

    private static double max(double[] a) {
        double m = 0;
        for (double v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    /**
     * The values as a network of type {@code net} stores them: in float16 a magnitude of 65520 or more (65504, its largest
     * value, plus half its spacing there) rounds to ±∞. A parameter gradient that large (‖v‖ small) overflows float16.
     */
    private static double[] stored(double[] values, DataType net) {
        if (net != DataType.HALF) return values;
        double[] r = values.clone();
        for (int i = 0; i < r.length; i++) if (Math.abs(r[i]) >= 65520) r[i] = Math.copySign(Double.POSITIVE_INFINITY, r[i]);
        return r;
    }

    /** Per element, whichever of {@code a} and {@code b} is nearer to {@code actual}. */
    private static double[] nearer(double[] a, double[] b, double[] actual) {
        double[] r = a.clone();
        for (int i = 0; i < r.length; i++) if (Math.abs(b[i] - actual[i]) < Math.abs(a[i] - actual[i])) r[i] = b[i];
        return r;
    }

    /** max |β|, 0 for a layer without β. */
    private static double betaMax(Map<String, double[]> params) {
        return params.containsKey("beta") ? max(params.get("beta")) : 0;
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
        assertNear(expected, actual, tol, floor, 0, what);
    }

    /** max |e − a| ≤ tol · max(max |e|, floor) + abs over the finite e; an infinite e must come out the same. */
    private static void assertNear(double[] expected, double[] actual, double tol, double floor, double abs, String what) {
        if (expected.length != actual.length) throw new AssertionError(what + ": length " + actual.length + ", expected " + expected.length);
        double err = 0, scale = floor;
        for (int i = 0; i < expected.length; i++) {
            if (Double.isInfinite(expected[i])) {
                if (actual[i] != expected[i]) throw new AssertionError(what + ": " + actual[i] + " at " + i + ", expected " + expected[i]);
                continue;
            }
            double e = Math.abs(expected[i] - actual[i]);
            err = Double.isNaN(e) ? Double.POSITIVE_INFINITY : Math.max(err, e);
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        if (!(err <= tol * scale + abs)) throw new AssertionError(what + ": error " + err + " > " + tol + " · " + scale + " + " + abs);
    }

    /**
     * The 16-bit types compute in float32 and round each result to their own type once: at most 2^-11 (4.9e-4) of the
     * value in float16, 2^-8 (3.9e-3) in bfloat16; the tolerance is about twice that.
     */
    private static double rounding(DataType dt) {
        return switch (dt) {
            case HALF -> 1e-3;
            case BFLOAT16 -> 8e-3;
            default -> throw new IllegalArgumentException("not a 16-bit type: " + dt);
        };
    }

    /** The network's type for input of type {@code dt}: DL4J has no bfloat16 networks, so bfloat16 goes into a float32 one. */
    private static DataType network(DataType dt) {
        return dt == DataType.BFLOAT16 ? DataType.FLOAT : dt;
    }

    private static void check(Subject s, Draw d) {
        InputKind kind = s.needsPositions() && d.kind() == InputKind.FF ? InputKind.CNN_NCHW : d.kind();
        int c = s.evenChannels() && d.c() % 2 == 1 ? d.c() + 1 : d.c();
        Layer l = NETS.computeIfAbsent(s.name() + kind + c + d.eps() + d.decay() + d.net(), k ->
                CheckNets.alone(() -> s.conf().apply(new double[]{d.eps(), d.decay()}), kind, new Size(1, c, 1), d.net()).getLayer(0));
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
        // float16 and bfloat16 compute in float32 (1e-4 · scale as float32) and round the output, the input gradient, the
        // parameter gradients and the stored parameters to their type once (rounding(dt))
        double tol = switch (d.dt()) {
            case DOUBLE -> 1e-9 * scale;
            case FLOAT -> 1e-4 * scale;
            default -> rounding(d.dt()) + 1e-4 * scale;
        };
        String what = s.name() + " " + d;

        l.setInput(x.castTo(d.dt()), ws);
        l.setMaskArray(mask == null ? null : mask.castTo(d.dt()));
        INDArray y = l.activate(d.training(), ws).dup();
        Reference.Expected e = model.compute(in);
        // y = γ·x̂ + β may cancel to almost nothing (γ·x̂ ≈ −β): compared on the order of its terms, |β|
        assertNear(e.y(), Exact.values(y), tol, betaMax(params), what + ": output");
        if (!d.training()) return;
        Pair<Gradient, INDArray> g = l.backpropGradient(dy.castTo(d.dt()), ws);
        // dx is of the order of γ·dy/σ; where it cancels to almost nothing (groups of one or two values, whose normalized
        // values hardly depend on x) the comparison is on that order instead of on the (tiny) value itself
        double gamma = params.containsKey("gamma") ? max(params.get("gamma")) : 1;
        // top-k ties (every group of two values for top-1, repeated values in float16) are compared too: both give the
        // tied values the symmetric subgradient (docs/guarantees.md). The layer ties values within 4 ulps of its compute
        // type times |μ| + τ of the threshold τ, deciding on values rounded to that type: a value near that margin's edge
        // (within the rounding, 2 ulps) may go either way, so each element is compared with the nearer of the references
        // tying within 2 and within 6 ulps (the same where no value is near the edge)
        double ulp = d.net() == DataType.DOUBLE ? Math.ulp(1.0) : Math.ulp(1.0f);
        double[] dx = Exact.values(g.getSecond());
        double[] narrow = model.withTieMargin(2 * ulp).compute(in).dx(), wide = model.withTieMargin(6 * ulp).compute(in).dx();
        assertNear(nearer(narrow, wide, dx), dx, tol, max(Exact.values(dy)) * gamma / sigma, what + ": input gradient");
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
            // float16 stores them: below its smallest normal number (6.1e-5) its spacing is 2^-24
            double abs = d.net() == DataType.HALF ? Math.pow(2, -24) : 0;
            if (mean != null) assertNear(mean, Exact.values(l.getParam("mean")), tol, 0, abs, what + ": running mean");
            assertNear(var, Exact.values(l.getParam("var")), tol, 0, abs, what + ": running variance");
            params.clear();
            l.paramTable().forEach((k, v) -> params.put(k, Exact.values(v)));
            INDArray yi = l.activate(false, ws);
            Reference.Expected ei = model.compute(new Reference.Input(kind, Exact.values(x), shape,
                    mask == null ? null : Exact.values(mask), params, false, null, l));
            assertNear(ei.y(), Exact.values(yi), tol, betaMax(params), what + ": inference output after the step");
        }
        l.setMaskArray(null);
        l.clear();
        assertTrue(true);
    }
}
