package org.bn4j.conversion;

import org.bn4j.convert.NormConverter;
import org.bn4j.convert.NormFactory;
import org.bn4j.convert.NormSelector;
import org.bn4j.layers.BatchNorm;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.bn4j.conversion.Nets.assertIdentical;
import static org.bn4j.conversion.Nets.rel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Zoo networks with DL4J's BatchNormalization converted to bn4j's BatchNorm keep their function and every other
 * parameter bit for bit. Float64: inference output, training-mode output and gradients within 1e-12 relative.
 * Float32: within 1e-6 relative of DL4J's network, or, where these deep networks carry more rounding noise of their own,
 * as close to the float64 result (same parameters) as DL4J's own float32 network (×2); compared where float32 rounding,
 * not the side of a discontinuity a value falls on, decides the figure:
 * <ul>
 *   <li>outputs as logits (before the final softmax, {@link Nets#logits}): near a tie of two classes softmax turns the
 *       logits' absolute error into the probabilities' (ResNet50, training mode, one sample with p = 0.36 and 0.64:
 *       logits 5e-5 from float64 for the converted network and 9e-5 for DL4J's, probabilities 5e-4 and 1e-4);</li>
 *   <li>gradients of networks made smooth ({@link Zoo#conf(DataType, boolean)}: ELU for ReLU and leaky ReLU, average
 *       for max pooling): with leaky ReLU, a value within rounding of 0 takes slope 1 in one precision and 0.1 in the
 *       other, and DL4J's own float32 Darknet19 gradients are percents from float64 for many inputs. Darknet19 as it is
 *       is compared layer by layer instead ({@link #everyLayerAsExactAsDl4jInDarknet19}).</li>
 * </ul>
 * The test prints every figure. Relative: max |a − b| / max |reference|.
 */
class ZooConversionTest {
    private static final NormConverter TO_BN4J = new NormConverter(NormSelector.all(), NormFactory.bn4j(BatchNorm.Builder::new));

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(Zoo.DARKNET19, DataType.FLOAT), Arguments.of(Zoo.DARKNET19, DataType.DOUBLE),
                Arguments.of(Zoo.TINY_YOLO, DataType.FLOAT), Arguments.of(Zoo.TINY_YOLO, DataType.DOUBLE),
                Arguments.of(Zoo.SIMPLE_CNN, DataType.FLOAT), Arguments.of(Zoo.SIMPLE_CNN, DataType.DOUBLE),
                Arguments.of(Zoo.RESNET50, DataType.FLOAT));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void keepsTheFunctionAndTheParameters(Zoo zoo, DataType dt) {
        Model dl4j = zoo.trained(dt, 7);
        INDArray before = dl4j.params().dup();
        String confBefore = json(dl4j);
        Model bn4j = Nets.convert(TO_BN4J.inputTypes(zoo.inputType()), dl4j);

        int batch = zoo == Zoo.RESNET50 ? 2 : 4;
        INDArray x = zoo.input(dt, batch, 11);
        Model exact = dt == DataType.DOUBLE ? null : zoo.withParams(DataType.DOUBLE, dl4j.params());
        for (boolean train : new boolean[]{false, true}) {
            String mode = zoo + " " + dt + (train ? " training mode" : " inference");
            INDArray out = Nets.output(bn4j, x, train), dl4jOut = Nets.output(dl4j, x, train);
            double diff = rel(out, dl4jOut);
            System.out.printf("%s: relative difference %.3g%n", mode, diff);
            if (dt == DataType.DOUBLE) {
                assertTrue(diff <= 1e-12, mode + ": relative difference " + diff);
            } else {
                INDArray truth = Nets.output(exact, x.castTo(DataType.DOUBLE), train);
                if (Nets.hasSoftmax(bn4j)) {
                    System.out.printf("%s, after the softmax, against float64: DL4J %.3g, converted %.3g%n", mode,
                            rel(dl4jOut, truth), rel(out, truth));
                    truth = Nets.logits(exact, x.castTo(DataType.DOUBLE), train);
                    dl4jOut = Nets.logits(dl4j, x, train);
                    out = Nets.logits(bn4j, x, train);
                    mode += ", logits";
                }
                assertAsExactAsDl4j(truth, dl4jOut, out, mode);
            }
        }
        assertParametersCarried(dl4j, bn4j);
        assertIdentical(before, dl4j.params(), "the original network's parameters");
        assertEquals(confBefore, json(dl4j), "the original network's configuration");
    }

    /**
     * float32: within 1e-6 relative of DL4J's network, or, where DL4J's own float32 network is that far from the exact
     * result (float64, same parameters), as close to it as DL4J's network (×2).
     */
    private static void assertAsExactAsDl4j(INDArray truth, INDArray dl4j, INDArray bn4j, String mode) {
        double diff = rel(bn4j, dl4j), dl4jError = rel(dl4j, truth), bn4jError = rel(bn4j, truth);
        System.out.printf("%s against float64: DL4J %.3g, converted %.3g%n", mode, dl4jError, bn4jError);
        assertTrue(diff <= 1e-6 || bn4jError <= 2 * dl4jError, mode + ": relative difference " + diff + "; from the float64"
                + " result: converted network " + bn4jError + ", DL4J's own " + dl4jError);
    }

    /** γ, β, mean identical; var = (10^log10stdev)² as DL4J's inference computes it; every other parameter identical. */
    static void assertParametersCarried(Model dl4j, Model bn4j) {
        Map<String, Layer> before = Nets.layers(dl4j), after = Nets.layers(bn4j);
        assertEquals(before.keySet(), after.keySet());
        int norms = 0;
        for (Map.Entry<String, Layer> e : before.entrySet()) {
            Map<String, INDArray> p = e.getValue().paramTable(), q = after.get(e.getKey()).paramTable();
            if (e.getValue().conf().getLayer() instanceof BatchNormalization) {
                norms++;
                assertInstanceOf(BatchNorm.class, after.get(e.getKey()).conf().getLayer(), e.getKey());
                for (String k : new String[]{"gamma", "beta", "mean"}) assertIdentical(p.get(k), q.get(k), e.getKey() + " " + k);
                INDArray l = p.get("log10stdev");
                INDArray var = Transforms.pow(Nd4j.valueArrayOf(l.shape(), 10.0, l.dataType()), l);
                assertIdentical(var.mul(var), q.get("var"), e.getKey() + " var");
            } else {
                assertEquals(p.keySet(), q.keySet(), e.getKey());
                for (String k : p.keySet()) assertIdentical(p.get(k), q.get(k), e.getKey() + " " + k);
            }
        }
        assertTrue(norms > 0);
    }

    static Stream<Arguments> gradientCases() {
        return Stream.of(Arguments.of(Zoo.DARKNET19, DataType.FLOAT), Arguments.of(Zoo.DARKNET19, DataType.DOUBLE),
                Arguments.of(Zoo.SIMPLE_CNN, DataType.FLOAT), Arguments.of(Zoo.SIMPLE_CNN, DataType.DOUBLE));
    }

    /**
     * Training-mode gradients of every parameter but the running statistics: Darknet19 through its loss,
     * SimpleCNN (no output layer) from a given output gradient. float32 on the smooth networks (see the class comment).
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("gradientCases")
    void keepsTheGradients(Zoo zoo, DataType dt) {
        boolean smooth = dt == DataType.FLOAT;
        Model dl4j = zoo.trained(dt, 3, smooth);
        Model bn4j = Nets.convert(TO_BN4J, dl4j);
        INDArray x = zoo.input(dt, 4, 5);
        Nd4j.getRandom().setSeed(9);
        Gradient a = gradient(dl4j, x), b = gradient(bn4j, x);
        Gradient exact = null;
        if (dt == DataType.FLOAT) exact = gradient(zoo.withParams(DataType.DOUBLE, dl4j.params(), true), x.castTo(DataType.DOUBLE));
        Gradient reference = exact == null ? a : exact;
        double scale = reference.gradientForVariable().values().stream().mapToDouble(g -> g.amaxNumber().doubleValue()).max()
                .orElseThrow();
        double worstDiff = 0, worstDl4j = 0, worstBn4j = 0;
        int checked = 0;
        for (Map.Entry<String, INDArray> g : a.gradientForVariable().entrySet()) {
            String key = g.getKey();
            if (key.endsWith("_mean") || key.endsWith("_log10stdev")) continue; // running statistics: not gradients
            INDArray other = b.getGradientFor(key);
            double diff = absDiff(other, g.getValue()) / scale;
            worstDiff = Math.max(worstDiff, diff);
            checked++;
            if (dt == DataType.DOUBLE) {
                assertTrue(diff <= 1e-12, zoo + " " + key + ": difference " + diff + " of the largest gradient");
            } else {
                INDArray truth = exact.getGradientFor(key);
                double dl4jError = absDiff(g.getValue(), truth) / scale, bn4jError = absDiff(other, truth) / scale;
                worstDl4j = Math.max(worstDl4j, dl4jError);
                worstBn4j = Math.max(worstBn4j, bn4jError);
                assertTrue(diff <= 1e-6 || bn4jError <= 2 * dl4jError, zoo + " " + key + ": difference " + diff + "; converted " + bn4jError
                        + " from the float64 gradient, DL4J's own " + dl4jError + " (of the largest gradient)");
            }
        }
        assertTrue(checked > 20, "gradients checked: " + checked);
        System.out.printf("%s %s%s: %d gradients, largest difference %.3g of the largest gradient (float64 result: DL4J %.3g,"
                + " converted %.3g)%n", zoo, dt, smooth ? " (smooth)" : "", checked, worstDiff, worstDl4j, worstBn4j);
    }

    /**
     * float32, layer by layer in Darknet19 as it is: in one training step of the converted float32 network, each
     * converted layer's output, input gradient and γ, β gradients are compared with the float64 layer run on the same
     * input and output gradient (the values that layer received in the network, cast). They must be within 1e-6 of it
     * (relative) or as close as DL4J's own layer on the same values is to its float64 twin (×2).
     */
    @Test
    void everyLayerAsExactAsDl4jInDarknet19() {
        Zoo zoo = Zoo.DARKNET19;
        ComputationGraph dl4j = (ComputationGraph) zoo.trained(DataType.FLOAT, 3);
        ComputationGraph dl4j64 = (ComputationGraph) zoo.withParams(DataType.DOUBLE, dl4j.params());
        ComputationGraph bn4j = (ComputationGraph) Nets.convert(TO_BN4J, dl4j);
        ComputationGraph bn4j64 = (ComputationGraph) Nets.convert(TO_BN4J, dl4j64);
        for (ComputationGraph g : List.of(dl4j, dl4j64, bn4j64)) g.initGradientsView();
        // the output gradients are read after the backward: outside workspaces, which DL4J closes as it goes (its backward
        // follows the inference workspace mode)
        bn4j.getConfiguration().setTrainingWorkspaceMode(WorkspaceMode.NONE);
        bn4j.getConfiguration().setInferenceWorkspaceMode(WorkspaceMode.NONE);
        Map<String, INDArray> acts = new HashMap<>(), eps = new HashMap<>();
        bn4j.setListeners(new BaseTrainingListener() {
            @Override
            public void onForwardPass(Model model, Map<String, INDArray> activations) {
                activations.forEach((k, v) -> acts.put(k, v.dup()));
            }

            @Override
            public void onBackwardPass(Model model) {
                for (GraphVertex v : bn4j.getVertices()) if (v.getEpsilon() != null) eps.put(v.getVertexName(), v.getEpsilon().dup());
            }
        });
        Gradient g = gradient(bn4j, zoo.input(DataType.FLOAT, 4, 5));
        int layers = 0;
        double worst = 0;
        for (GraphVertex v : bn4j.getVertices()) {
            if (!v.hasLayer() || !(v.getLayer().conf().getLayer() instanceof BatchNorm)) continue;
            String name = v.getVertexName(), in = bn4j.getConfiguration().getVertexInputs().get(name).get(0);
            long readers = bn4j.getConfiguration().getVertexInputs().values().stream().filter(l -> l.contains(in)).count();
            assertEquals(1, readers, in + " feeds only " + name + " (so its output gradient is " + name + "'s input gradient)");
            INDArray x = acts.get(in), dy = eps.get(name);
            INDArray[] got = {acts.get(name), eps.get(in), g.getGradientFor(name + "_gamma"), g.getGradientFor(name + "_beta")};
            INDArray[] truth = pass(bn4j64.getLayer(name), x, dy, DataType.DOUBLE);
            INDArray[] dl = pass(dl4j.getLayer(name), x, dy, DataType.FLOAT);
            INDArray[] dlTruth = pass(dl4j64.getLayer(name), x, dy, DataType.DOUBLE);
            String[] what = {"output", "input gradient", "gamma gradient", "beta gradient"};
            for (int i = 0; i < what.length; i++) {
                double err = rel(got[i].reshape(truth[i].shape()), truth[i]), dl4jErr = rel(dl[i], dlTruth[i]);
                worst = Math.max(worst, err);
                assertTrue(err <= 1e-6 || err <= 2 * dl4jErr, name + " " + what[i] + ": " + err + " from float64, DL4J's layer "
                        + dl4jErr);
            }
            layers++;
        }
        assertEquals(18, layers);
        System.out.printf("Darknet19 float32, layer by layer: largest error of a converted layer %.3g relative%n", worst);
    }

    /** One training forward and backward of a layer alone on x and dy (cast to dt): output, input gradient, dγ, dβ. */
    private static INDArray[] pass(Layer l, INDArray x, INDArray dy, DataType dt) {
        LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();
        l.setInput(x.castTo(dt), ws);
        INDArray y = l.activate(true, ws).dup();
        Pair<Gradient, INDArray> p = l.backpropGradient(dy.castTo(dt), ws);
        return new INDArray[]{y, p.getSecond().dup(), p.getFirst().getGradientFor("gamma").dup(), p.getFirst().getGradientFor("beta").dup()};
    }

    private static double absDiff(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }

    private static Gradient gradient(Model net, INDArray x) {
        if (net instanceof ComputationGraph g) {
            INDArray labels = Nd4j.zeros(x.dataType(), x.size(0), 10);
            for (int i = 0; i < x.size(0); i++) labels.putScalar(i, i % 10, 1);
            g.setInputs(x);
            g.setLabels(labels);
            g.computeGradientAndScore();
            return g.gradient();
        }
        MultiLayerNetwork m = (MultiLayerNetwork) net;
        m.setInput(x);
        Nd4j.getRandom().setSeed(42); // the same dropout masks
        INDArray out = m.feedForward(true, false).get(m.getnLayers());
        Nd4j.getRandom().setSeed(13);
        INDArray eps = Nd4j.rand(DataType.DOUBLE, out.shape()).subi(0.5).castTo(out.dataType());
        return m.backpropGradient(eps, LayerWorkspaceMgr.noWorkspaces()).getFirst();
    }

    static String json(Model net) {
        return net instanceof MultiLayerNetwork m ? m.getLayerWiseConfigurations().toJson()
                : ((ComputationGraph) net).getConfiguration().toJson();
    }
}
