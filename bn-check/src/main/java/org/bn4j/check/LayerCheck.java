package org.bn4j.check;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.config.Sgd;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Checks a DL4J layer configuration the way a well-kept layer library checks its own layers, as JUnit 5 dynamic
 * tests: for every input kind it takes (and an RNN mask), in a small double-precision network around it,
 * <ul>
 *   <li>gradient checks ({@code GradientCheckUtil}) in a {@code MultiLayerNetwork} and a {@code ComputationGraph},
 *       at initialization and after some SGD steps, with a NoOp updater and the layer's state parameters (running
 *       statistics and the like: parameters with {@code updaterDivideByMinibatch == false}, or those named) left out;</li>
 *   <li>JSON and {@code ModelSerializer} round trips of both network types: the configuration equal, parameters and
 *       outputs bit-identical (and the {@code MultiLayerNetwork}'s updater state);</li>
 *   <li>float32 against float64: the layer alone, the same values, within {@link #float32Tolerance};</li>
 *   <li>bad input (a wrong rank, a wrong channel count) refused with an exception, the parameters unchanged bit for
 *       bit (with {@link #clearErrors()}, the message must also name the layer, what was expected and what came);</li>
 *   <li>optionally, a {@link Reference} the user writes: outputs and gradients of the layer alone, training and
 *       inference, within {@link #referenceTolerance}.</li>
 * </ul>
 * Every test is named after the check, the layer, the input kind and the sizes, so a failure says which.
 *
 * <pre>
 * &#64;TestFactory
 * Stream&lt;DynamicNode&gt; myLayer() {
 *     return LayerCheck.of("MyLayer", () -&gt; new MyLayer.Builder().build())
 *             .on(InputKind.FF, InputKind.CNN_NCHW)
 *             .tests();
 * }
 * </pre>
 * Gradient checks need double precision: the kit sets ND4J's default data types to double while its tests run (and
 * restores them). User guide: {@code docs/check.md}.
 */
public final class LayerCheck {

    /** The checks; all run unless left out with {@link #without}. */
    public enum Check {
        GRADIENTS_MLN("gradient check, MultiLayerNetwork, at initialization"),
        GRADIENTS_MLN_TRAINED("gradient check, MultiLayerNetwork, after training"),
        GRADIENTS_GRAPH("gradient check, ComputationGraph, at initialization"),
        GRADIENTS_GRAPH_TRAINED("gradient check, ComputationGraph, after training"),
        JSON("JSON round trip"),
        MODEL_SERIALIZER("ModelSerializer round trip"),
        FLOAT32("float32 against float64"),
        BAD_INPUT("bad input refused, parameters unchanged"),
        REFERENCE("against the reference");

        private final String title;

        Check(String title) {
            this.title = title;
        }
    }

    private final String name;
    private final Supplier<? extends org.deeplearning4j.nn.conf.layers.Layer> layer;
    private final List<InputKind> kinds = new ArrayList<>();
    private final List<Size> sizes = new ArrayList<>();
    private boolean masks = true;
    private int trainSteps = 3;
    private Set<String> stateParams;
    private Reference reference;
    private double maxRelError = 1e-5, minAbsError = 1e-9, gradientEpsilon = 1e-6;
    private double float32Tolerance = 1e-4, referenceTolerance = 1e-10;
    private boolean clearErrors;
    private final EnumSet<Check> checks = EnumSet.allOf(Check.class);

    private LayerCheck(String name, Supplier<? extends org.deeplearning4j.nn.conf.layers.Layer> layer) {
        this.name = name;
        this.layer = layer;
    }

    /** Checks of the layer configurations this supplier makes (a fresh one per call), named {@code name} in reports. */
    public static LayerCheck of(String name, Supplier<? extends org.deeplearning4j.nn.conf.layers.Layer> layer) {
        return new LayerCheck(name, layer);
    }

    /** The input kinds the layer takes (default: feed-forward only). */
    public LayerCheck on(InputKind... kinds) {
        this.kinds.addAll(Arrays.asList(kinds));
        return this;
    }

    /** Also run RNN kinds with a mask [N, T] that hides the last steps of some sequences (default true). */
    public LayerCheck masks(boolean on) {
        this.masks = on;
        return this;
    }

    /** The sizes to run at (default: a batch of 6, 3 channels, side or length 4). */
    public LayerCheck sizes(Size... sizes) {
        this.sizes.addAll(Arrays.asList(sizes));
        return this;
    }

    /** SGD steps before the "after training" gradient checks (default 3). */
    public LayerCheck trainSteps(int steps) {
        this.trainSteps = steps;
        return this;
    }

    /**
     * Names of the layer's state parameters, left out of gradient checks (default: those for which the runtime layer's
     * {@code updaterDivideByMinibatch} is false, DL4J's convention for running statistics).
     */
    public LayerCheck stateParams(String... names) {
        this.stateParams = Set.of(names);
        return this;
    }

    /** Compare with a reference implementation too. */
    public LayerCheck reference(Reference reference) {
        this.reference = reference;
        return this;
    }

    /** Gradient-check settings (defaults: maxRelError 1e-5, minAbsoluteError 1e-9, epsilon 1e-6). */
    public LayerCheck gradientTolerance(double maxRelError, double minAbsError, double epsilon) {
        this.maxRelError = maxRelError;
        this.minAbsError = minAbsError;
        this.gradientEpsilon = epsilon;
        return this;
    }

    /** Largest relative difference between float32 and float64 (default 1e-4). */
    public LayerCheck float32Tolerance(double tol) {
        this.float32Tolerance = tol;
        return this;
    }

    /** Largest relative difference from the reference (default 1e-10). */
    public LayerCheck referenceTolerance(double tol) {
        this.referenceTolerance = tol;
        return this;
    }

    /** Require bad-input messages to name the layer, what was expected and what came. */
    public LayerCheck clearErrors() {
        this.clearErrors = true;
        return this;
    }

    /** Run only these checks. */
    public LayerCheck only(Check... kept) {
        checks.retainAll(Arrays.asList(kept));
        return this;
    }

    /** Leave these checks out. */
    public LayerCheck without(Check... left) {
        for (Check c : left) checks.remove(c);
        return this;
    }

    /** The dynamic tests: one container per input kind (and mask) and size, one test per check. */
    public Stream<DynamicNode> tests() {
        List<InputKind> ks = kinds.isEmpty() ? List.of(InputKind.FF) : kinds;
        List<Size> ss = sizes.isEmpty() ? List.of(new Size(6, 3, 4)) : sizes;
        List<DynamicNode> out = new ArrayList<>();
        for (InputKind k : ks) {
            for (boolean masked : k.isRnn() && masks ? new boolean[]{false, true} : new boolean[]{false}) {
                for (Size s : ss) {
                    Setting st = new Setting(k, masked, s);
                    List<DynamicTest> tests = new ArrayList<>();
                    for (Check c : checks) {
                        if (c == Check.REFERENCE && reference == null) continue;
                        String title = name + " / " + st + " / " + c.title;
                        tests.add(DynamicTest.dynamicTest(title, () -> inDouble(() -> run(c, st, title))));
                    }
                    out.add(DynamicContainer.dynamicContainer(name + " / " + st, tests));
                }
            }
        }
        return out.stream();
    }

    /** One input kind, with or without a mask, at one size. */
    private record Setting(InputKind kind, boolean masked, Size size) {
        @Override
        public String toString() {
            return kind + (masked ? "+mask" : "") + " " + size;
        }

        INDArray mask(long n) {
            return masked ? CheckNets.mask(size, n) : null;
        }
    }

    private interface Body {
        void run() throws Exception;
    }

    /** Runs with double as ND4J's default types (gradient checks need it), restoring the previous defaults. */
    private static void inDouble(Body body) throws Exception {
        DataType def = Nd4j.dataType(), fp = Nd4j.defaultFloatingPointType();
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            body.run();
        } finally {
            Nd4j.setDefaultDataTypes(def, fp);
        }
    }

    private void run(Check c, Setting s, String title) throws Exception {
        switch (c) {
            case GRADIENTS_MLN -> gradientsMln(s, false, title);
            case GRADIENTS_MLN_TRAINED -> gradientsMln(s, true, title);
            case GRADIENTS_GRAPH -> gradientsGraph(s, false, title);
            case GRADIENTS_GRAPH_TRAINED -> gradientsGraph(s, true, title);
            case JSON -> json(s, title);
            case MODEL_SERIALIZER -> modelSerializer(s, title);
            case FLOAT32 -> float32(s, title);
            case BAD_INPUT -> badInput(s, title);
            case REFERENCE -> reference(s, title);
        }
    }

    // ---------------------------------------------------------------- gradient checks

    private void gradientsMln(Setting s, boolean trained, String title) {
        MultiLayerNetwork net = CheckNets.mln(layer, s.kind(), s.size(), new NoOp(), true, 12);
        if (trained) {
            MultiLayerNetwork t = CheckNets.mln(layer, s.kind(), s.size(), new Sgd(0.1), true, 12);
            for (int i = 0; i < trainSteps; i++) t.fit(data(s, 100 + i));
            net.setParams(t.params());
        }
        INDArray mask = s.mask(s.size().batch());
        boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net)
                .input(CheckNets.input(s.kind(), s.size(), s.size().batch(), 3))
                .labels(CheckNets.labels(s.kind(), s.size(), s.size().batch(), 3)).inputMask(mask).labelMask(mask)
                .epsilon(gradientEpsilon).maxRelError(maxRelError).minAbsoluteError(minAbsError)
                .excludeParams(excluded(net.getLayer(1), "1_")));
        if (!ok) throw new AssertionError(title + ": failed (see the log for the parameters)");
    }

    private void gradientsGraph(Setting s, boolean trained, String title) {
        ComputationGraph net = CheckNets.graph(layer, s.kind(), s.size(), new NoOp(), 14);
        if (trained) {
            ComputationGraph t = CheckNets.graph(layer, s.kind(), s.size(), new Sgd(0.1), 14);
            for (int i = 0; i < trainSteps; i++) t.fit(data(s, 200 + i));
            net.setParams(t.params());
        }
        INDArray mask = s.mask(s.size().batch());
        INDArray[] masks = mask == null ? null : new INDArray[]{mask};
        boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(net)
                .inputs(new INDArray[]{CheckNets.input(s.kind(), s.size(), s.size().batch(), 3)})
                .labels(new INDArray[]{CheckNets.labels(s.kind(), s.size(), s.size().batch(), 3)})
                .inputMask(masks).labelMask(masks)
                .epsilon(gradientEpsilon).maxRelError(maxRelError).minAbsoluteError(minAbsError)
                .excludeParams(excluded(net.getLayer(CheckNets.NAME), CheckNets.NAME + "_")));
        if (!ok) throw new AssertionError(title + ": failed (see the log for the parameters)");
    }

    /** The state parameters of the layer under test, with the network's prefix. */
    private Set<String> excluded(Layer l, String prefix) {
        Set<String> state = stateParams;
        if (state == null) {
            state = l.paramTable().keySet().stream().filter(p -> !l.updaterDivideByMinibatch(p)).collect(Collectors.toSet());
        }
        return state.stream().map(p -> prefix + p).collect(Collectors.toSet());
    }

    private DataSet data(Setting s, long seed) {
        return CheckNets.dataSet(s.kind(), s.size(), s.masked(), s.size().batch(), seed);
    }

    // ---------------------------------------------------------------- serialization

    private void json(Setting s, String title) {
        MultiLayerNetwork net = trainedMln(s, 31);
        MultiLayerConfiguration fromJson = MultiLayerConfiguration.fromJson(net.getLayerWiseConfigurations().toJson());
        if (!net.getLayerWiseConfigurations().equals(fromJson)) {
            throw new AssertionError(title + ": the MultiLayerNetwork configuration changed in the JSON round trip");
        }
        MultiLayerNetwork rebuilt = new MultiLayerNetwork(fromJson);
        rebuilt.init(net.params().dup(), false);
        sameOutputs(s, net, rebuilt, title + " (MultiLayerNetwork)");

        ComputationGraph g = trainedGraph(s, 32);
        ComputationGraphConfiguration gc = ComputationGraphConfiguration.fromJson(g.getConfiguration().toJson());
        if (!g.getConfiguration().equals(gc)) {
            throw new AssertionError(title + ": the ComputationGraph configuration changed in the JSON round trip");
        }
        ComputationGraph gr = new ComputationGraph(gc);
        gr.init(g.params().dup(), false);
        sameOutputs(s, g, gr, title + " (ComputationGraph)");
    }

    private void modelSerializer(Setting s, String title) throws IOException {
        MultiLayerNetwork net = trainedMln(s, 33);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ModelSerializer.writeModel(net, bytes, true);
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(bytes.toByteArray()), true);
        Exact.assertSame(net.params(), restored.params(), title + ": MultiLayerNetwork parameters");
        Exact.assertSame(net.getUpdater().getStateViewArray(), restored.getUpdater().getStateViewArray(),
                title + ": MultiLayerNetwork updater state");
        sameOutputs(s, net, restored, title + " (MultiLayerNetwork)");

        ComputationGraph g = trainedGraph(s, 34);
        ByteArrayOutputStream gb = new ByteArrayOutputStream();
        ModelSerializer.writeModel(g, gb, true);
        ComputationGraph gr = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(gb.toByteArray()), true);
        Exact.assertSame(g.params(), gr.params(), title + ": ComputationGraph parameters");
        sameOutputs(s, g, gr, title + " (ComputationGraph)");
    }

    private MultiLayerNetwork trainedMln(Setting s, long seed) {
        MultiLayerNetwork net = CheckNets.mln(layer, s.kind(), s.size(), new Sgd(0.1), true, seed);
        for (int i = 0; i < 2; i++) net.fit(data(s, 400 + i));
        return net;
    }

    private ComputationGraph trainedGraph(Setting s, long seed) {
        ComputationGraph net = CheckNets.graph(layer, s.kind(), s.size(), new Sgd(0.1), seed);
        for (int i = 0; i < 2; i++) net.fit(data(s, 410 + i));
        return net;
    }

    private void sameOutputs(Setting s, MultiLayerNetwork a, MultiLayerNetwork b, String what) {
        INDArray x = CheckNets.input(s.kind(), s.size(), s.size().batch(), 5);
        INDArray mask = s.mask(s.size().batch());
        Exact.assertSame(a.output(x, false, mask, mask), b.output(x, false, mask, mask), what + ": inference output");
        Exact.assertSame(a.output(x, true, mask, mask), b.output(x, true, mask, mask), what + ": training-mode output");
    }

    private void sameOutputs(Setting s, ComputationGraph a, ComputationGraph b, String what) {
        INDArray x = CheckNets.input(s.kind(), s.size(), s.size().batch(), 5);
        INDArray mask = s.mask(s.size().batch());
        INDArray[] masks = mask == null ? null : new INDArray[]{mask};
        Exact.assertSame(a.output(false, new INDArray[]{x}, masks)[0], b.output(false, new INDArray[]{x}, masks)[0],
                what + ": inference output");
        Exact.assertSame(a.output(true, new INDArray[]{x}, masks)[0], b.output(true, new INDArray[]{x}, masks)[0],
                what + ": training-mode output");
    }

    // ---------------------------------------------------------------- float32, bad input, reference

    private void float32(Setting s, String title) {
        // values representable in float32, so both precisions see the same input
        INDArray x = CheckNets.input(s.kind(), s.size(), s.size().batch(), 49).castTo(DataType.FLOAT).castTo(DataType.DOUBLE);
        MultiLayerNetwork d = CheckNets.alone(layer, s.kind(), s.size(), DataType.DOUBLE);
        MultiLayerNetwork f = CheckNets.alone(layer, s.kind(), s.size(), DataType.FLOAT);
        randomize(d.getLayer(0), 51);
        d.setParams(d.params().castTo(DataType.FLOAT).castTo(DataType.DOUBLE));
        f.setParams(d.params().castTo(DataType.FLOAT));
        INDArray mask = s.mask(s.size().batch());
        Pass pd = pass(d.getLayer(0), x, mask, 50, true), pf = pass(f.getLayer(0), x.castTo(DataType.FLOAT),
                mask == null ? null : mask.castTo(DataType.FLOAT), 50, true);
        Exact.assertClose(Exact.values(pd.y()), Exact.values(pf.y()), float32Tolerance, title + ": output");
        Exact.assertClose(Exact.values(pd.dx()), Exact.values(pf.dx()), float32Tolerance, title + ": input gradient");
        for (Map.Entry<String, INDArray> e : pd.grads().entrySet()) {
            Exact.assertClose(Exact.values(e.getValue()), Exact.values(pf.grads().get(e.getKey())), float32Tolerance,
                    title + ": gradient of " + e.getKey());
        }
    }

    private void badInput(Setting s, String title) {
        MultiLayerNetwork net = CheckNets.alone(layer, s.kind(), s.size(), DataType.DOUBLE);
        randomize(net.getLayer(0), 41);
        INDArray before = net.params().dup();
        Size z = s.size();
        long[] wrongC = s.kind().shape(z.batch(), z.channels() + 2, z.side());
        refused(net, Nd4j.randn(DataType.DOUBLE, wrongC), null, "= " + z.channels(), Arrays.toString(wrongC), title);
        long[] good = s.kind().shape(z.batch(), z.channels(), z.side());
        // rank 6: one more than any input kind DL4J has
        long[] wrongRank = Arrays.copyOf(good, 6);
        Arrays.fill(wrongRank, good.length, 6, 2);
        refused(net, Nd4j.randn(DataType.DOUBLE, wrongRank), null, "rank", Arrays.toString(wrongRank), title);
        if (s.kind().isRnn()) {
            INDArray badMask = Nd4j.ones(DataType.DOUBLE, z.batch(), z.side() + 1);
            refused(net, Nd4j.randn(DataType.DOUBLE, good), badMask, "[" + z.batch() + ", " + z.side() + "]",
                    Arrays.toString(badMask.shape()), title);
        }
        Exact.assertSame(before, net.params(), title + ": the parameters after refused input");
    }

    private void refused(MultiLayerNetwork net, INDArray x, INDArray mask, String expected, String actual, String title) {
        Layer l = net.getLayer(0);
        LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();
        RuntimeException e = null;
        try {
            l.setInput(x, ws);
            l.setMaskArray(mask);
            l.activate(true, ws);
            l.backpropGradient(x, ws);
            l.applyConstraints(0, 0);
        } catch (RuntimeException thrown) {
            e = thrown;
        } finally {
            l.setMaskArray(null);
            l.clear();
        }
        if (e == null) throw new AssertionError(title + ": input " + Arrays.toString(x.shape()) + " was not refused");
        if (!clearErrors) return;
        String msg = String.valueOf(e.getMessage());
        String layerName = CheckNets.NAME;
        if (!msg.contains(layerName) || !msg.contains(expected) || !msg.contains(actual)) {
            throw new AssertionError(title + ": the message should name the layer ('" + layerName + "'), what was expected ("
                    + expected + ") and what came (" + actual + "): " + msg);
        }
    }

    private void reference(Setting s, String title) {
        for (long n : new long[]{3, s.size().batch()}) {
            MultiLayerNetwork net = CheckNets.alone(layer, s.kind(), s.size(), DataType.DOUBLE);
            Layer l = net.getLayer(0);
            randomize(l, 5);
            INDArray x = CheckNets.input(s.kind(), s.size(), n, 40 + n);
            INDArray mask = s.mask(n);
            for (boolean training : new boolean[]{true, false}) {
                Map<String, double[]> params = new LinkedHashMap<>();
                l.paramTable().forEach((k, v) -> params.put(k, Exact.values(v)));
                Pass p = pass(l, x, mask, training ? 9 : -1, training);
                Reference.Expected e = reference.compute(new Reference.Input(s.kind(), Exact.values(x), x.shape(),
                        mask == null ? null : Exact.values(mask), params, training, p.dy() == null ? null : Exact.values(p.dy()), l));
                if (e == null) continue;
                String what = title + " (n=" + n + ", " + (training ? "training" : "inference") + ")";
                if (e.y() != null) Exact.assertClose(e.y(), Exact.values(p.y()), referenceTolerance, what + ": output");
                if (training && e.dx() != null) {
                    Exact.assertClose(e.dx(), Exact.values(p.dx()), referenceTolerance, what + ": input gradient");
                }
                if (training && e.paramGradients() != null) {
                    for (Map.Entry<String, double[]> g : e.paramGradients().entrySet()) {
                        INDArray got = p.grads().get(g.getKey());
                        if (got == null) throw new AssertionError(what + ": no gradient for " + g.getKey());
                        Exact.assertClose(g.getValue(), Exact.values(got), referenceTolerance, what + ": gradient of " + g.getKey());
                    }
                }
            }
        }
    }

    /** One forward (and, with a gradient seed, backward) of a layer alone. */
    private record Pass(INDArray y, INDArray dy, INDArray dx, Map<String, INDArray> grads) {
    }

    /**
     * A forward, and for {@code dySeed >= 0} a backward of a Gaussian output gradient of the output's shape drawn in
     * double precision from that seed (the same values in any precision, rounded to the layer's).
     */
    private static Pass pass(Layer l, INDArray x, INDArray mask, long dySeed, boolean training) {
        LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();
        l.setInput(x, ws);
        l.setMaskArray(mask);
        INDArray y = l.activate(training, ws).dup();
        if (dySeed < 0) return new Pass(y, null, null, Map.of());
        Nd4j.getRandom().setSeed(dySeed);
        INDArray dy = Nd4j.randn(DataType.DOUBLE, y.shape()).castTo(DataType.FLOAT).castTo(y.dataType());
        Pair<Gradient, INDArray> g = l.backpropGradient(dy, ws);
        Map<String, INDArray> grads = new LinkedHashMap<>();
        g.getFirst().gradientForVariable().forEach((k, v) -> grads.put(k, v.dup()));
        return new Pass(y, dy, g.getSecond().dup(), grads);
    }

    /** Trained parameters are rarely at their initial values: draw them in [0.5, 1.5) (gains) or around 0. */
    private static void randomize(Layer l, long seed) {
        Nd4j.getRandom().setSeed(seed);
        for (Map.Entry<String, INDArray> e : l.paramTable().entrySet()) {
            if (!l.updaterDivideByMinibatch(e.getKey())) continue; // state stays as initialized
            INDArray p = e.getValue();
            INDArray r = Nd4j.rand(p.dataType(), p.shape());
            p.assign(p.getDouble(0) > 0.5 ? r.addi(0.5) : r.subi(0.5).muli(0.5).addi(p));
        }
    }
}
