package org.bn4j.dropin;

import org.bn4j.convert.NormSelector;
import org.bn4j.convert.NormFactory;
import org.bn4j.convert.NormConverter;
import org.bn4j.check.Exact;
import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.InstanceNorm;
import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Convolution3D;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.Subsampling3DLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.conf.preprocessor.Cnn3DToFeedForwardPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Data formats (docs/batch-norm.md, "3-D input") and refused input kinds (docs/group-norm.md, "Errors"): a format set
 * on the builder wins over the network's input type, through JSON and ModelSerializer; after DL4J's NCDHW
 * {@code Convolution3D}, whose output type says NDHWC, the layer normalizes over the channel axis 1 when told NCDHW
 * and otherwise refuses the input with a message naming the option; InstanceNorm refuses 2-D input at run time as it
 * does in the input type, with nothing changed.
 */
class InputFormatTest {
    private static final Convolution3D.DataFormat NCDHW = Convolution3D.DataFormat.NCDHW;
    private static final Convolution3D.DataFormat NDHWC = Convolution3D.DataFormat.NDHWC;
    /** Input side; a 3×3×3 convolution in Truncate mode gives side 6. */
    private static final int SIDE = 8, OUT_SIDE = 6, CLASSES = 3;

    /** Convolution3D (3×3×3, Truncate, DL4J's default mode) in the given format → norm → softmax output. */
    private static MultiLayerNetwork net3d(Convolution3D.DataFormat format, int filters, Supplier<Layer> norm) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(11).dataType(DataType.DOUBLE)
                .updater(new Sgd(0.1)).weightInit(WeightInit.XAVIER).list()
                .layer(new Convolution3D.Builder(3, 3, 3).nOut(filters).dataFormat(format)
                        .convolutionMode(ConvolutionMode.Truncate).hasBias(false).activation(Activation.IDENTITY).build())
                .layer(norm.get())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional3D(format, SIDE, SIDE, SIDE, 1))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** The converter keeps a 3-D format set on the old layer's builder, with and without the input types. */
    @Test
    void conversionKeepsAnExplicitFormat() {
        MultiLayerNetwork net = net3d(NCDHW, 8, () -> new BatchNorm.Builder().dataFormat3d(NCDHW).build());
        DataSet d = data3d(NCDHW, 4, 21);
        net.fit(d);
        for (boolean types : new boolean[]{false, true}) {
            NormConverter c = new NormConverter(NormSelector.all(), NormFactory.bn4j(BatchNorm.Builder::new));
            if (types) c = c.inputTypes(InputType.convolutional3D(NCDHW, SIDE, SIDE, SIDE, 1));
            MultiLayerNetwork converted = c.convert(net);
            BatchNorm bn = (BatchNorm) converted.getLayer(1).conf().getLayer();
            assertEquals(NCDHW, bn.getCnn3dFormat(), "input types " + types);
            assertTrue(bn.isCnn3dFormatSet(), "input types " + types);
            Exact.assertSame(net.output(d.getFeatures()), converted.output(d.getFeatures()), "input types " + types);
        }
    }

    private static DataSet data3d(Convolution3D.DataFormat format, int n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = format == NCDHW ? Nd4j.randn(DataType.DOUBLE, n, 1, SIDE, SIDE, SIDE)
                : Nd4j.randn(DataType.DOUBLE, n, SIDE, SIDE, SIDE, 1);
        x.addi(Nd4j.linspace(DataType.DOUBLE, 0.5, 2.0, x.length()).reshape(x.shape())); // not centred
        INDArray y = Nd4j.zeros(DataType.DOUBLE, n, CLASSES);
        for (int i = 0; i < n; i++) y.putScalar(i, i % CLASSES, 1);
        return new DataSet(x, y);
    }

    /**
     * The plain per-channel normalization of x over every axis but {@code axis}: with the batch statistics (biased
     * variance) when mean and var are null, else with the given ones; then γ and β.
     */
    private static INDArray reference(INDArray x, int axis, INDArray gamma, INDArray beta, INDArray mean, INDArray var,
                                      double eps) {
        int rank = x.rank();
        int[] others = java.util.stream.IntStream.range(0, rank).filter(i -> i != axis).toArray();
        INDArray m = mean != null ? mean.reshape(-1) : x.mean(others);
        INDArray v = var != null ? var.reshape(-1) : x.var(false, others);
        long[] bshape = new long[rank];
        java.util.Arrays.fill(bshape, 1);
        bshape[axis] = x.size(axis);
        INDArray scale = gamma.reshape(-1).div(Nd4j.math().sqrt(v.add(eps))).reshape(bshape);
        INDArray shift = beta.reshape(-1).sub(m.mul(gamma.reshape(-1)).div(Nd4j.math().sqrt(v.add(eps)))).reshape(bshape);
        return x.mul(scale.broadcast(x.shape())).add(shift.broadcast(x.shape()));
    }

    /** Checks the norm layer (index 1) of a Convolution3D → norm → output network against the plain reference. */
    private static void assertNormalizesAxis(MultiLayerNetwork net, INDArray x, int axis, String what) {
        org.deeplearning4j.nn.api.Layer norm = net.getLayer(1);
        double eps = ((AbstractNormLayer) norm.conf().getLayer()).getEps();
        INDArray gamma = norm.getParam("gamma"), beta = norm.getParam("beta");
        for (boolean train : new boolean[]{true, false}) {
            List<INDArray> acts = net.feedForward(x, train);
            INDArray conv = acts.get(1), y = acts.get(2);
            INDArray expected = train ? reference(conv, axis, gamma, beta, null, null, eps)
                    : reference(conv, axis, gamma, beta, norm.getParam("mean"), norm.getParam("var"), eps);
            Exact.assertClose(Exact.values(expected), Exact.values(y), 1e-10, what + (train ? ", training" : ", inference")
                    + ": normalized over axis " + axis);
            // the other candidate axis gives a different function: the comparison above can tell them apart
            int wrong = axis == 1 ? 4 : 1;
            INDArray other = train ? reference(conv, wrong, gamma, beta, null, null, eps) : null;
            if (other != null) {
                assertTrue(Exact.relativeError(Exact.values(other), Exact.values(y)) > 1e-3,
                        what + ": normalizing axis " + wrong + " must give a different output");
            }
        }
    }

    // ---------------------------------------------------------------- DL4J's behaviour the docs describe

    /** DL4J 1.0.0-M2.1: Convolution3D and Subsampling3DLayer in Truncate or Strict report NDHWC for NCDHW; Same does not. */
    @Test
    void dl4jReportsNdhwcAfterNcdhw3dLayersInTruncateAndStrict() {
        InputType in = InputType.convolutional3D(NCDHW, SIDE, SIDE, SIDE, 2);
        for (ConvolutionMode mode : new ConvolutionMode[]{ConvolutionMode.Truncate, ConvolutionMode.Strict, ConvolutionMode.Same}) {
            Convolution3D conv = new Convolution3D.Builder(1, 1, 1).nOut(8).dataFormat(NCDHW).convolutionMode(mode).build();
            conv.setNIn(in, false);
            Subsampling3DLayer pool = new Subsampling3DLayer.Builder(2, 2, 2).dataFormat(NCDHW).convolutionMode(mode).build();
            Convolution3D.DataFormat expected = mode == ConvolutionMode.Same ? NCDHW : NDHWC;
            assertEquals(expected, ((InputType.InputTypeConvolutional3D) conv.getOutputType(0, in)).getDataFormat(),
                    "Convolution3D(NCDHW, " + mode + ") output type; if this changed, update docs/batch-norm.md#3-d-input");
            assertEquals(expected, ((InputType.InputTypeConvolutional3D) pool.getOutputType(0, in)).getDataFormat(),
                    "Subsampling3DLayer(NCDHW, " + mode + ") output type; if this changed, update docs/batch-norm.md#3-d-input");
        }
    }

    /** Plain DL4J: an NCDHW Convolution3D (Truncate) followed by an output layer fails at the flattening preprocessor. */
    @Test
    void dl4jAloneFailsAfterAnNcdhwConvolution3D() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).list()
                .layer(new Convolution3D.Builder(3, 3, 3).nOut(8).dataFormat(NCDHW).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional3D(NCDHW, SIDE, SIDE, SIDE, 1)).build();
        assertFalse(((Cnn3DToFeedForwardPreProcessor) conf.getInputPreProcess(1)).isNCDHW());
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> net.output(Nd4j.zeros(DataType.FLOAT, 2, 1, SIDE, SIDE, SIDE)));
        assertTrue(e.getMessage().contains("but got [2, 8, 6, 6, 6]"), e.getMessage());
    }

    /** DL4J's own layers: ConvolutionLayer and BatchNormalization take the input type's format over the builder's; SimpleRnn and Convolution3D keep theirs. */
    @Test
    void dl4jOwnLayersDiffer() {
        InputType nchw = InputType.convolutional(4, 4, 3, CNN2DFormat.NCHW);
        ConvolutionLayer conv = new ConvolutionLayer.Builder(1, 1).nOut(2).dataFormat(CNN2DFormat.NHWC)
                .convolutionMode(ConvolutionMode.Truncate).build();
        conv.setNIn(nchw, false);
        assertEquals(CNN2DFormat.NCHW, conv.getCnn2dDataFormat());
        BatchNormalization bn = new BatchNormalization.Builder().dataFormat(CNN2DFormat.NHWC).build();
        bn.setNIn(nchw, false);
        assertEquals(CNN2DFormat.NCHW, bn.getCnn2DFormat());
        SimpleRnn rnn = new SimpleRnn.Builder().nOut(2).dataFormat(RNNFormat.NWC).build();
        rnn.setNIn(InputType.recurrent(3, 4, RNNFormat.NCW), false);
        assertEquals(RNNFormat.NWC, rnn.getRnnDataFormat());
        Convolution3D c3 = new Convolution3D.Builder(1, 1, 1).nOut(2).dataFormat(NCDHW).convolutionMode(ConvolutionMode.Truncate).build();
        c3.setNIn(InputType.convolutional3D(NDHWC, 4, 4, 4, 3), false);
        assertEquals(NCDHW, c3.getDataFormat());
    }

    // ---------------------------------------------------------------- 3-D formats

    /** The example of docs/batch-norm.md#3-d-input, as written there: it builds, trains and normalizes axis 1. */
    @Test
    void theDocumentedExample() {
        MultiLayerConfiguration conf3d = new NeuralNetConfiguration.Builder()
                .updater(new Sgd(0.1)).weightInit(WeightInit.XAVIER).list()
                .layer(new Convolution3D.Builder(3, 3, 3).nOut(8).dataFormat(Convolution3D.DataFormat.NCDHW)
                        .hasBias(false).activation(Activation.IDENTITY).build())
                .layer(new BatchNorm.Builder().dataFormat3d(Convolution3D.DataFormat.NCDHW).build())
                .layer(new ActivationLayer(Activation.RELU))
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(4).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional3D(Convolution3D.DataFormat.NCDHW, 8, 8, 8, 1))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf3d);
        net.init();
        assertTrue(((Cnn3DToFeedForwardPreProcessor) conf3d.getInputPreProcess(3)).isNCDHW());
        Nd4j.getRandom().setSeed(12);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 1, 8, 8, 8);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 2, 4);
        y.putScalar(0, 1, 1);
        y.putScalar(1, 3, 1);
        net.fit(x, y);
        assertArrayEquals(new long[]{2, 4}, net.output(x).shape());
        // float32 network: the reference in float32 too
        org.deeplearning4j.nn.api.Layer norm = net.getLayer(1);
        INDArray conv = net.feedForward(x, true).get(1);
        Exact.assertClose(Exact.values(reference(conv, 1, norm.getParam("gamma"), norm.getParam("beta"), null, null, 1e-5)),
                Exact.values(net.feedForward(x, true).get(2)), 1e-5, "normalized over axis 1");
    }

    /**
     * After an NCDHW Convolution3D (6 filters, output [N, 6, 6, 6, 6]: C equals the last axis, so taking NDHWC from the
     * input type would normalize the wrong axis without an error), {@code dataFormat3d(NCDHW)} makes the layer
     * normalize over axis 1, and its output type lets DL4J's output layer flatten NCDHW; the network trains.
     */
    @Test
    void ncdhwAfterConvolution3DNormalizesTheChannelAxis() {
        MultiLayerNetwork net = net3d(NCDHW, OUT_SIDE, () -> new BatchNorm.Builder().dataFormat3d(NCDHW).build());
        AbstractNormLayer conf = (AbstractNormLayer) net.getLayer(1).conf().getLayer();
        assertEquals(NCDHW, conf.getCnn3dFormat());
        assertTrue(conf.isCnn3dFormatSet());
        assertTrue(((Cnn3DToFeedForwardPreProcessor) net.getLayerWiseConfigurations().getInputPreProcess(2)).isNCDHW(),
                "the output layer's preprocessor sees the NCDHW the norm layer reports");
        DataSet ds = data3d(NCDHW, 4, 1);
        assertNormalizesAxis(net, ds.getFeatures(), 1, "at initialization");
        double before = net.score(ds);
        for (int i = 0; i < 5; i++) net.fit(ds);
        double after = net.score(ds);
        assertTrue(after < before, "training lowers the loss: " + before + " -> " + after);
        assertFalse(Exact.same(net.getLayer(1).getParam("gamma"), Nd4j.ones(DataType.DOUBLE, 1, OUT_SIDE)), "γ trained");
        assertNormalizesAxis(net, ds.getFeatures(), 1, "after 5 steps");
    }

    /** NDHWC networks: the format comes from the input type, as before, and the layer normalizes over axis 4. */
    @Test
    void ndhwcFromTheInputTypeAsBefore() {
        MultiLayerNetwork net = net3d(NDHWC, OUT_SIDE, () -> new BatchNorm.Builder().build());
        AbstractNormLayer conf = (AbstractNormLayer) net.getLayer(1).conf().getLayer();
        assertEquals(NDHWC, conf.getCnn3dFormat());
        assertFalse(conf.isCnn3dFormatSet());
        DataSet ds = data3d(NDHWC, 4, 2);
        assertNormalizesAxis(net, ds.getFeatures(), 4, "at initialization");
        for (int i = 0; i < 5; i++) net.fit(ds);
        assertNormalizesAxis(net, ds.getFeatures(), 4, "after 5 steps");
        // saying NDHWC on the builder changes nothing
        MultiLayerNetwork explicit = net3d(NDHWC, OUT_SIDE, () -> new BatchNorm.Builder().dataFormat3d(NDHWC).build());
        for (int i = 0; i < 5; i++) explicit.fit(ds);
        Exact.assertSame(net.params(), explicit.params(), "NDHWC from the input type and set on the builder: parameters");
        Exact.assertSame(net.output(ds.getFeatures()), explicit.output(ds.getFeatures()), "outputs");
    }

    /** Without the option, after an NCDHW Convolution3D with C ≠ W: refused, the message names DL4J's behaviour and the fix. */
    @Test
    void withoutTheOptionTheMessageSaysWhatToSet() {
        MultiLayerNetwork net = net3d(NCDHW, 8, () -> new BatchNorm.Builder().build());
        INDArray params = net.params().dup();
        DataSet ds = data3d(NCDHW, 2, 3);
        DL4JInvalidInputException e = assertThrows(DL4JInvalidInputException.class, () -> net.fit(ds));
        String m = e.getMessage();
        System.out.println("message after an NCDHW Convolution3D without dataFormat3d: " + m);
        assertTrue(m.startsWith("BatchNorm 'layer1' "), m);
        assertTrue(m.contains("expected 3-D CNN NDHWC [N, D, H, W, C] input with C = 8 on axis 4, got shape [2, 8, 6, 6, 6]"), m);
        assertTrue(m.contains("Convolution3D") && m.contains("report NDHWC as their output type"), m);
        assertTrue(m.contains("set dataFormat3d(Convolution3D.DataFormat.NCDHW) on the layer's builder"), m);
        Exact.assertSame(params, net.params(), "parameters and running statistics after the refused batch");
    }

    /**
     * Without the option, after an NCDHW Convolution3D whose C equals W ([N, 6, 4, 5, 6]: the NDHWC channel check alone
     * passes and would normalize axis 4): the input type's sizes show NCDHW order, and the input is refused.
     */
    @Test
    void withoutTheOptionCEqualToWIsRefusedToo() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(11).dataType(DataType.DOUBLE)
                .updater(new Sgd(0.1)).weightInit(WeightInit.XAVIER).list()
                .layer(new Convolution3D.Builder(3, 3, 3).nOut(6).dataFormat(NCDHW).hasBias(false).activation(Activation.IDENTITY).build())
                .layer(new BatchNorm.Builder().build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional3D(NCDHW, 6, 7, 8, 1))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        INDArray params = net.params().dup();
        Nd4j.getRandom().setSeed(9);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 2, 1, 6, 7, 8);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, 2, CLASSES);
        y.putScalar(0, 0, 1);
        y.putScalar(1, 1, 1);
        DL4JInvalidInputException e = assertThrows(DL4JInvalidInputException.class, () -> net.fit(x, y));
        String m = e.getMessage();
        System.out.println("message after an NCDHW Convolution3D with C = W without dataFormat3d: " + m);
        assertTrue(m.contains("expected 3-D CNN NDHWC [N, D, H, W, C] input as the input type says, [N, 4, 5, 6, 6], got shape"
                + " [2, 6, 4, 5, 6], which is that type in NCDHW order"), m);
        assertTrue(m.endsWith("set dataFormat3d(Convolution3D.DataFormat.NCDHW) on the layer's builder"), m);
        Exact.assertSame(params, net.params(), "parameters and running statistics after the refused batch");
        assertThrows(DL4JInvalidInputException.class, () -> net.output(x));
        // NDHWC activations of that input type pass (no false alarm)
        MultiLayerNetwork alone = alone(new BatchNorm.Builder().build(), InputType.convolutional3D(NDHWC, 4, 5, 6, 6));
        assertEquals(5, alone.output(Nd4j.randn(DataType.DOUBLE, 2, 4, 5, 6, 6)).rank());
    }

    /**
     * The case the docs call undetectable: without the option, after an NCDHW Convolution3D giving [N, 6, 6, 6, 6]
     * (C = D = H = W), both orders have the same shape and the layer normalizes axis 4 (as the docs say).
     */
    @Test
    void withoutTheOptionTheCubicCaseNormalizesAxis4() {
        MultiLayerNetwork net = net3d(NCDHW, OUT_SIDE, () -> new BatchNorm.Builder().build());
        assertNormalizesAxis(net, data3d(NCDHW, 4, 1).getFeatures(), 4, "no option, C = D = H = W");
    }

    /** The explicit format stays through JSON and ModelSerializer, and a restored configuration built again keeps it. */
    @Test
    void theExplicitFormatSurvivesRoundTrips() throws Exception {
        MultiLayerNetwork net = net3d(NCDHW, OUT_SIDE, () -> new BatchNorm.Builder().dataFormat3d(NCDHW).build());
        DataSet ds = data3d(NCDHW, 4, 4);
        for (int i = 0; i < 3; i++) net.fit(ds);
        INDArray x = ds.getFeatures();

        String json = net.getLayerWiseConfigurations().toJson();
        assertTrue(json.contains("\"cnn3dFormatSet\" : true"), json);
        MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(json);
        AbstractNormLayer norm = (AbstractNormLayer) back.getConf(1).getLayer();
        assertEquals(net.getLayer(1).conf().getLayer(), norm, "configuration after JSON");
        assertTrue(norm.isCnn3dFormatSet());
        MultiLayerNetwork fromJson = new MultiLayerNetwork(back);
        fromJson.init(net.params().dup(), false);
        Exact.assertSame(net.output(x), fromJson.output(x), "output after a JSON round trip");

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ModelSerializer.writeModel(net, bytes, true);
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(bytes.toByteArray()), true);
        Exact.assertSame(net.params(), restored.params(), "parameters after ModelSerializer");
        Exact.assertSame(net.output(x), restored.output(x), "output after ModelSerializer");
        assertEquals(NCDHW, ((AbstractNormLayer) restored.getLayer(1).conf().getLayer()).getCnn3dFormat());

        // the restored layer configuration, used again after an NCDHW Convolution3D: the input type says NDHWC, NCDHW stays
        AbstractNormLayer again = (AbstractNormLayer) ((AbstractNormLayer) restored.getLayer(1).conf().getLayer()).clone();
        again.setNIn(InputType.convolutional3D(NDHWC, OUT_SIDE, OUT_SIDE, OUT_SIDE, OUT_SIDE), true);
        assertEquals(NCDHW, again.getCnn3dFormat(), "setNIn after a round trip");
        MultiLayerNetwork rebuilt = net3d(NCDHW, OUT_SIDE, () -> again);
        assertNormalizesAxis(rebuilt, x, 1, "rebuilt from the restored configuration");
    }

    // ---------------------------------------------------------------- 2-D CNN and RNN formats: the same rule

    /** A network of the layer alone with this input type. */
    private static MultiLayerNetwork alone(Layer layer, InputType type) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(5).dataType(DataType.DOUBLE).list()
                .layer(layer).setInputType(type).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** dataFormat(NHWC) and rnnDataFormat(NWC) win over NCHW and NCW input types; the output type reports them. */
    @Test
    void explicit2dAndRnnFormatsWinOverTheInputType() {
        InputType nchw = InputType.convolutional(5, 4, 3, CNN2DFormat.NCHW);
        BatchNorm set = new BatchNorm.Builder().dataFormat(CNN2DFormat.NHWC).build();
        set.setNIn(nchw, false);
        assertEquals(CNN2DFormat.NHWC, set.getCnn2dFormat());
        assertEquals(CNN2DFormat.NHWC, ((InputType.InputTypeConvolutional) set.getOutputType(0, nchw)).getFormat());
        BatchNorm unset = new BatchNorm.Builder().build();
        unset.setNIn(InputType.convolutional(5, 4, 3, CNN2DFormat.NHWC), false);
        assertEquals(CNN2DFormat.NHWC, unset.getCnn2dFormat(), "not set: from the input type");
        assertSame(nchw, unset.getOutputType(0, nchw), "not set: the input type passes through");

        InputType ncw = InputType.recurrent(3, 7, RNNFormat.NCW);
        BatchNorm rnn = new BatchNorm.Builder().rnnDataFormat(RNNFormat.NWC).build();
        rnn.setNIn(ncw, false);
        assertEquals(RNNFormat.NWC, rnn.getRnnFormat());
        InputType.InputTypeRecurrent out = (InputType.InputTypeRecurrent) rnn.getOutputType(0, ncw);
        assertEquals(RNNFormat.NWC, out.getFormat());
        assertEquals(7, out.getTimeSeriesLength());

        // at run time: the explicit NHWC is what the layer uses
        Nd4j.getRandom().setSeed(6);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 4, 5, 4, 3);
        MultiLayerNetwork net = alone(new BatchNorm.Builder().dataFormat(CNN2DFormat.NHWC).build(), nchw);
        org.deeplearning4j.nn.api.Layer l = net.getLayer(0);
        Exact.assertClose(Exact.values(reference(x, 3, l.getParam("gamma"), l.getParam("beta"), null, null, 1e-5)),
                Exact.values(net.feedForward(x, true).get(1)), 1e-10, "NHWC set on the builder");
        INDArray r = Nd4j.randn(DataType.DOUBLE, 4, 7, 3);
        MultiLayerNetwork rnet = alone(new BatchNorm.Builder().rnnDataFormat(RNNFormat.NWC).build(), ncw);
        org.deeplearning4j.nn.api.Layer rl = rnet.getLayer(0);
        Exact.assertClose(Exact.values(reference(r, 2, rl.getParam("gamma"), rl.getParam("beta"), null, null, 1e-5)),
                Exact.values(rnet.feedForward(r, true).get(1)), 1e-10, "NWC set on the builder");
    }

    /** Input that fits the other format of its rank: the message says which option to set. */
    @Test
    void theMessageNamesTheOtherFormatsOption() {
        MultiLayerNetwork net = alone(new BatchNorm.Builder().name("bn").build(), InputType.convolutional(5, 4, 3, CNN2DFormat.NCHW));
        DL4JInvalidInputException e = assertThrows(DL4JInvalidInputException.class,
                () -> net.output(Nd4j.zeros(DataType.DOUBLE, 2, 5, 4, 3)));
        System.out.println("message for NHWC input to an NCHW layer: " + e.getMessage());
        assertTrue(e.getMessage().endsWith("expected CNN NCHW [N, C, H, W] input with C = 3 on axis 1, got shape [2, 5, 4, 3];"
                + " it fits NHWC: if it is NHWC, set dataFormat(CNN2DFormat.NHWC) on the layer's builder (NCHW comes from the"
                + " network's input type or the default)"), e.getMessage());
        MultiLayerNetwork rnn = alone(new BatchNorm.Builder().rnnDataFormat(RNNFormat.NWC).build(), InputType.recurrent(3, 7));
        e = assertThrows(DL4JInvalidInputException.class, () -> rnn.output(Nd4j.zeros(DataType.DOUBLE, 2, 3, 7)));
        assertTrue(e.getMessage().endsWith("it fits NCW: if it is NCW, set rnnDataFormat(RNNFormat.NCW) on the layer's builder"
                + " (NWC is set there now)"), e.getMessage());
        // C on neither candidate axis: no hint
        e = assertThrows(DL4JInvalidInputException.class, () -> net.output(Nd4j.zeros(DataType.DOUBLE, 2, 5, 4, 4)));
        assertTrue(e.getMessage().endsWith("got shape [2, 5, 4, 4]"), e.getMessage());
    }

    /** Flat CNN input is reshaped to NCHW by the layer's preprocessor: dataFormat(NHWC) with it is refused. */
    @Test
    void flatCnnInputWithNhwcIsRefused() {
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder().list()
                .layer(new BatchNorm.Builder().dataFormat(CNN2DFormat.NHWC).build())
                .setInputType(InputType.convolutionalFlat(5, 4, 3));
        IllegalStateException e = assertThrows(IllegalStateException.class, b::build);
        System.out.println("message for flat CNN input with dataFormat(NHWC): " + e.getMessage());
        assertTrue(e.getMessage().contains("flat CNN input is reshaped to NCHW [N, C, H, W] before this layer, but"
                + " dataFormat(NHWC) is set on its builder"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new BatchNorm.Builder().dataFormat3d(null));
    }

    // ---------------------------------------------------------------- refused input kinds at run time

    /**
     * InstanceNorm refuses a feed-forward input type; given a [4, 3] array at run time (nIn set, no input type) it
     * refuses it too, naming the layer, what it needs and the shape, with parameters and running statistics unchanged.
     */
    @Test
    void instanceNormRefusesTwoDimensionalInputAtRunTime() {
        for (boolean running : new boolean[]{false, true}) {
            MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(2).dataType(DataType.DOUBLE)
                    .updater(new Sgd(0.1)).list()
                    .layer(new InstanceNorm.Builder().runningStats(running).nIn(3).name("in").build())
                    .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(3).nOut(2).activation(Activation.IDENTITY).build())
                    .build();
            MultiLayerNetwork net = new MultiLayerNetwork(conf);
            net.init();
            INDArray before = net.params().dup();
            Nd4j.getRandom().setSeed(8);
            INDArray x = Nd4j.randn(DataType.DOUBLE, 4, 3), y = Nd4j.randn(DataType.DOUBLE, 4, 2);
            String expected = "InstanceNorm 'in' (layer name: in, layer index: 0, layer type: NormLayerImpl): InstanceNorm needs"
                    + " CNN, 3-D CNN or RNN input (it normalizes each channel of a sample over its positions; a feed-forward"
                    + " sample has one), got shape [4, 3]";
            for (boolean train : new boolean[]{false, true}) {
                DL4JInvalidInputException e = assertThrows(DL4JInvalidInputException.class, () -> net.output(x, train));
                assertEquals(expected, e.getMessage());
            }
            DL4JInvalidInputException e = assertThrows(DL4JInvalidInputException.class, () -> net.fit(x, y));
            assertEquals(expected, e.getMessage());
            e = assertThrows(DL4JInvalidInputException.class,
                    () -> net.getLayer(0).activate(x, true, LayerWorkspaceMgr.noWorkspaces()));
            assertEquals(expected, e.getMessage());
            Exact.assertSame(before, net.params(), "parameters" + (running ? " and running statistics" : "")
                    + " after the refused input");
            if (running) assertTrue(net.getLayer(0).paramTable().containsKey("mean"), "the layer keeps running statistics");
        }
    }
}
