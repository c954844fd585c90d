package org.bn4j.conversion;

import org.bn4j.convert.FoldResult;
import org.bn4j.convert.NormConverter;
import org.bn4j.convert.NormFactory;
import org.bn4j.convert.NormFolder;
import org.bn4j.convert.NormSelector;
import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.LayerNorm;
import org.bn4j.layers.weightnorm.WeightNormConv2D;
import org.bn4j.layers.weightnorm.WeightNormDense;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.bn4j.conversion.Nets.assertIdentical;
import static org.bn4j.conversion.Nets.assertRel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Folding batch norm into the layer before it keeps the inference output (float32: 1e-5 relative). */
class FoldTest {

    /**
     * Zoo networks: every batch norm follows a convolution with the identity, so every one folds. Folding is exact
     * math: in float64 the folded network's output is within 1e-12 of the unfolded one. In float32 both carry the
     * network's own rounding noise (Darknet19's unfolded float32 output is up to 7e-6 relative from its float64
     * output), so the folded float32 network must be within 1e-5 of the unfolded one or, where the unfolded network's
     * own noise is of that size, as close to the float64 result as the unfolded float32 network (×2).
     */
    @ParameterizedTest
    @EnumSource(Zoo.class)
    void zooNetworks(Zoo zoo) {
        Model net = zoo.trained(DataType.FLOAT, 5);
        INDArray before = net.params().dup();
        FoldResult<? extends Model> r = Nets.fold(net);
        int norms = countNorms(net);
        assertEquals(norms, r.folded().size(), r.toString());
        assertEquals(List.of(), r.kept());
        assertEquals(norms, countLayers(net) - countLayers(r.network()));
        assertUntouchedCarried(net, r);
        assertIdentical(before, net.params(), "the original network's parameters");

        INDArray x = zoo.input(DataType.FLOAT, zoo == Zoo.RESNET50 ? 2 : 4, 3);
        Model exact = zoo.withParams(DataType.DOUBLE, net.params());
        INDArray truth = Nets.output(exact, x.castTo(DataType.DOUBLE), false);
        double exactDiff = Nets.rel(Nets.output(Nets.fold(exact).network(), x.castTo(DataType.DOUBLE), false), truth);
        assertTrue(exactDiff <= 1e-12, zoo + " float64: relative difference " + exactDiff);

        INDArray unfolded = Nets.output(net, x, false), folded = Nets.output(r.network(), x, false);
        double diff = Nets.rel(folded, unfolded), unfoldedError = Nets.rel(unfolded, truth), foldedError = Nets.rel(folded, truth);
        System.out.printf("%s: %d folded; float32 relative difference %.3g (from float64: unfolded %.3g, folded %.3g);"
                + " float64 %.3g%n", zoo, norms, diff, unfoldedError, foldedError, exactDiff);
        assertTrue(diff <= 1e-5 || foldedError <= 2 * unfoldedError, zoo + " float32: relative difference " + diff
                + "; from float64: unfolded " + unfoldedError + ", folded " + foldedError);
    }

    /** bn4j's layers fold the same way: Darknet19 converted to BatchNorm, then folded. */
    @Test
    void convertedThenFolded() {
        Model dl4j = Zoo.DARKNET19.trained(DataType.FLOAT, 5);
        Model bn4j = Nets.convert(new NormConverter(NormSelector.all(), NormFactory.bn4j(BatchNorm.Builder::new)), dl4j);
        FoldResult<? extends Model> r = Nets.fold(bn4j);
        assertEquals(18, r.folded().size());
        INDArray x = Zoo.DARKNET19.input(DataType.FLOAT, 4, 3);
        assertRel(Nets.output(r.network(), x, false), Nets.output(bn4j, x, false), 1e-5, "folded bn4j Darknet19");
    }

    /** Layers without a folded norm after them keep every parameter bit for bit. */
    private static void assertUntouchedCarried(Model net, FoldResult<? extends Model> r) {
        java.util.Set<String> into = new java.util.HashSet<>();
        r.folded().forEach(f -> into.add(f.into()));
        Map<String, org.deeplearning4j.nn.api.Layer> after = Nets.layers(r.network());
        int checked = 0;
        for (Map.Entry<String, org.deeplearning4j.nn.api.Layer> e : Nets.layers(net).entrySet()) {
            if (into.contains(e.getKey()) || !after.containsKey(e.getKey())) continue;
            for (Map.Entry<String, INDArray> p : e.getValue().paramTable().entrySet()) {
                assertIdentical(p.getValue(), after.get(e.getKey()).getParam(p.getKey()), e.getKey() + " " + p.getKey());
                checked++;
            }
        }
        assertTrue(checked > 0 || r.folded().size() == countNorms(net));
    }

    private static int countNorms(Model net) {
        int n = 0;
        for (org.deeplearning4j.nn.api.Layer l : Zoo.layers(net)) {
            if (NormSelector.isNormLayer(l.conf().getLayer())) n++;
        }
        return n;
    }

    private static int countLayers(Model net) {
        return Zoo.layers(net).length;
    }

    static Stream<Arguments> layerKinds() {
        return Stream.of(
                kind("dense, bias", true, () -> new DenseLayer.Builder().nOut(5).activation(Activation.IDENTITY).build()),
                kind("dense, no bias", true, () -> new DenseLayer.Builder().nOut(5).hasBias(false).activation(Activation.IDENTITY).build()),
                kind("conv NCHW, bias", false, () -> conv(CNN2DFormat.NCHW, true)),
                kind("conv NCHW, no bias", false, () -> conv(CNN2DFormat.NCHW, false)),
                kind("conv NHWC, bias", false, () -> conv(CNN2DFormat.NHWC, true)),
                kind("conv NHWC, no bias", false, () -> conv(CNN2DFormat.NHWC, false)),
                kind("weight-norm dense, bias", true, () -> new WeightNormDense.Builder().nOut(5).activation(Activation.IDENTITY).build()),
                kind("weight-norm dense, no bias, data init", true, () -> new WeightNormDense.Builder().nOut(5).hasBias(false)
                        .dataInit(true).activation(Activation.IDENTITY).build()),
                kind("weight-norm conv NHWC, bias", false, () -> new WeightNormConv2D.Builder(3, 3).nOut(4).dataFormat(CNN2DFormat.NHWC)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.IDENTITY).build()),
                kind("weight-norm conv NCHW, no bias", false, () -> new WeightNormConv2D.Builder(3, 3).nOut(4).hasBias(false)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.IDENTITY).build()));
    }

    private static Arguments kind(String name, boolean dense, Supplier<Layer> layer) {
        return Arguments.of(name, dense, layer);
    }

    private static Layer conv(CNN2DFormat f, boolean bias) {
        return new ConvolutionLayer.Builder(3, 3).nOut(4).hasBias(bias).dataFormat(f).convolutionMode(ConvolutionMode.Same)
                .activation(Activation.IDENTITY).build();
    }

    /**
     * Each foldable layer kind, followed by DL4J's batch norm and by bn4j's (two in a row: the second folds into the
     * result of the first), trained for five steps, in float32 and float64.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("layerKinds")
    void eachLayerKind(String name, boolean dense, Supplier<Layer> layer) {
        for (DataType dt : new DataType[]{DataType.FLOAT, DataType.DOUBLE}) {
            boolean nhwc = name.contains("NHWC");
            InputType in = dense ? InputType.feedForward(6) : InputType.convolutional(6, 6, 2, nhwc ? CNN2DFormat.NHWC : CNN2DFormat.NCHW);
            NeuralNetConfiguration.ListBuilder b = SmallNets.base().dataType(dt).list()
                    .layer(SmallNets.named(layer.get(), "pre"))
                    .layer(new BatchNormalization.Builder().name("bn1").build())
                    .layer(new BatchNorm.Builder().name("bn2").build())
                    .layer(new ActivationLayer.Builder().activation(Activation.TANH).build());
            if (!dense) b.layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build());
            MultiLayerNetwork net = new MultiLayerNetwork(b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                    .nOut(3).activation(Activation.SOFTMAX).build()).setInputType(in).build());
            net.init();
            long[] shape = dense ? new long[]{8, 6} : nhwc ? new long[]{8, 6, 6, 2} : new long[]{8, 2, 6, 6};
            for (int i = 0; i < 5; i++) {
                Nd4j.getRandom().setSeed(i);
                net.fit(Nd4j.rand(DataType.DOUBLE, shape).muli(4).subi(1).castTo(dt), SmallNets.labels().castTo(dt));
            }
            FoldResult<MultiLayerNetwork> r = NormFolder.fold(net);
            assertEquals(List.of(new FoldResult.Folded("bn1", "pre"), new FoldResult.Folded("bn2", "pre")), r.folded(), name);
            assertEquals(List.of(), r.kept());
            Nd4j.getRandom().setSeed(42);
            INDArray x = Nd4j.rand(DataType.DOUBLE, shape).muli(4).subi(1).castTo(dt);
            assertRel(r.network().output(x, false), net.output(x, false), dt == DataType.FLOAT ? 1e-5 : 1e-12, name + " " + dt);
            assertEquals(net.getnLayers() - 2, r.network().getnLayers());
        }
    }

    /** What cannot be folded is kept, with the reason; the rest folds. */
    @Test
    void keptWithReasons() {
        ComputationGraph g = new ComputationGraph(SmallNets.base().graphBuilder().addInputs("in")
                .addLayer("bnIn", new BatchNormalization.Builder().build(), "in")
                .addLayer("convRelu", new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.RELU)
                        .convolutionMode(ConvolutionMode.Same).build(), "bnIn")
                .addLayer("bnAfterRelu", new BatchNormalization.Builder().build(), "convRelu")
                .addLayer("convShared", new ConvolutionLayer.Builder(1, 1).nOut(4).activation(Activation.IDENTITY).build(), "bnAfterRelu")
                .addLayer("bnShared", new BatchNorm.Builder().build(), "convShared")
                .addLayer("ln", new LayerNorm.Builder().build(), "convShared")
                .addVertex("merge", new MergeVertex(), "bnShared", "ln")
                .addLayer("bnMerge", new BatchNorm.Builder().build(), "merge")
                .addLayer("conv", new ConvolutionLayer.Builder(1, 1).nOut(3).activation(Activation.IDENTITY).build(), "bnMerge")
                .addLayer("bnOk", new BatchNorm.Builder().build(), "conv")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "bnOk")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX)
                        .build(), "pool")
                .setOutputs("out").setInputTypes(SmallNets.INPUT).build());
        g.init();
        FoldResult<ComputationGraph> r = NormFolder.fold(g);
        assertEquals(List.of(new FoldResult.Folded("bnOk", "conv")), r.folded(), r.toString());
        Map<String, String> kept = new java.util.LinkedHashMap<>();
        r.kept().forEach(k -> kept.put(k.norm(), k.reason()));
        assertEquals(List.of("bnIn", "bnAfterRelu", "bnShared", "ln", "bnMerge"), List.copyOf(kept.keySet()));
        assertTrue(kept.get("bnIn").contains("network input 'in'"), kept.get("bnIn"));
        assertTrue(kept.get("bnAfterRelu").contains("'convRelu', has activation relu"), kept.get("bnAfterRelu"));
        assertTrue(kept.get("bnShared").contains("'convShared', has its output read by other vertices"), kept.get("bnShared"));
        assertTrue(kept.get("ln").contains("no running statistics"), kept.get("ln"));
        assertTrue(kept.get("bnMerge").contains("'merge' is a MergeVertex"), kept.get("bnMerge"));
        INDArray x = SmallNets.input(3);
        assertRel(r.network().outputSingle(false, x), g.outputSingle(false, x), 1e-12, "partly folded");
    }
}
