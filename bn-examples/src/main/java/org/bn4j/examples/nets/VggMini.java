package org.bn4j.examples.nets;

import java.util.List;

import org.bn4j.layers.weightnorm.WeightNormConv2D;
import org.bn4j.layers.weightnorm.WeightNormDense;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * "VGG-mini", the CNN of the experiments' standard setup (docs/experiments.md, "Scale of these runs"), for 28×28×1 input (NCHW):
 * <pre>
 *   [conv 3×3, 16 → norm → ReLU] → [conv 3×3, 16 → norm → ReLU] → max-pool 2 →
 *   [conv 3×3, 32 → norm → ReLU] → [conv 3×3, 32 → norm → ReLU] → max-pool 2 →
 *   dense 128 → norm → ReLU → dense 10 softmax (cross-entropy)
 * </pre>
 * Same padding, stride 1; no bias in a layer followed by a normalization layer; the variant's initialization
 * (Xavier uniform unless SELU); float32. Layers are named {@code conv1..conv4}, {@code fc5}, {@code norm1..norm5},
 * {@code act1..act5}, {@code pool1, pool2}, {@code out}; the "none" variant keeps the same layer list without the
 * norm layers. Optimizer: whatever updater is passed (plain SGD in the experiments).
 */
public final class VggMini {

    /** Names of the weight layers (those whose gradients the probes look at), in order. */
    public static final List<String> WEIGHT_LAYERS = List.of("conv1", "conv2", "conv3", "conv4", "fc5", "out");
    /** Names of the normalized hidden layers' outputs (input of the activation), in order. */
    public static final List<String> NORM_OUTPUTS = List.of("norm1", "norm2", "norm3", "norm4", "norm5");

    private VggMini() {
    }

    /**
     * Size of the network: input side (28, or 14 for Fashion-MNIST averaged 2×2), channels of the first and second
     * conv pair, and the width of the dense layer. {@link #STANDARD} is the standard VGG-mini (28, 16, 32, 128).
     */
    public record Size(int image, int c1, int c2, int dense) {
        public static final Size STANDARD = new Size(28, 16, 32, 128);

        public Size {
            if (image < 4 || c1 < 1 || c2 < 1 || dense < 1) {
                throw new IllegalArgumentException("VGG-mini size: image side at least 4, widths positive: "
                        + image + ", " + c1 + ", " + c2 + ", " + dense);
            }
        }

        /** Parses {@code IMAGE:C1:C2:DENSE}, e.g. {@code 28:16:32:128}. */
        public static Size parse(String s) {
            String[] p = s.split(":");
            if (p.length != 4) {
                throw new IllegalArgumentException("expected IMAGE:C1:C2:DENSE, e.g. 28:16:32:128, got " + s);
            }
            return new Size(Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim()), Integer.parseInt(p[2].trim()),
                    Integer.parseInt(p[3].trim()));
        }

        @Override
        public String toString() {
            return image + ":" + c1 + ":" + c2 + ":" + dense;
        }

        /** A description such as "28×28 input, conv 16,16,32,32, dense 128". */
        public String describe() {
            return image + "×" + image + " input, conv channels " + c1 + "," + c1 + "," + c2 + "," + c2 + ", dense " + dense
                    + (equals(STANDARD) ? " (the standard VGG-mini)" : "");
        }
    }

    /** The standard VGG-mini. */
    public static MultiLayerConfiguration conf(Variant v, IUpdater updater, long seed) {
        return conf(v, updater, seed, Size.STANDARD);
    }

    public static MultiLayerConfiguration conf(Variant v, IUpdater updater, long seed, Size size) {
        boolean norm = v.hasNorm();
        Activation act = v.activationOr(Activation.RELU);
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .updater(updater)
                .weightInit(v.init())
                .convolutionMode(ConvolutionMode.Same)
                .list();
        int[] channels = {size.c1(), size.c1(), size.c2(), size.c2()};
        for (int i = 0; i < 4; i++) {
            if (v.weightNorm()) {
                b.layer(new WeightNormConv2D.Builder(3, 3).nOut(channels[i]).stride(1, 1).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.IDENTITY).dataInit(true).name("conv" + (i + 1)).build());
            } else {
                b.layer(new ConvolutionLayer.Builder(3, 3).nOut(channels[i]).stride(1, 1).activation(Activation.IDENTITY)
                        .hasBias(!norm).name("conv" + (i + 1)).build());
            }
            block(b, v, act, i + 1);
            if (i == 1 || i == 3) {
                b.layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                        .name("pool" + (i == 1 ? 1 : 2)).build());
            }
        }
        if (v.weightNorm()) {
            b.layer(new WeightNormDense.Builder().nOut(size.dense()).activation(Activation.IDENTITY).dataInit(true).name("fc5").build());
        } else {
            b.layer(new DenseLayer.Builder().nOut(size.dense()).activation(Activation.IDENTITY).hasBias(!norm).name("fc5").build());
        }
        block(b, v, act, 5);
        b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX)
                .name("out").build());
        return b.setInputType(InputType.convolutional(size.image(), size.image(), 1)).build();
    }

    private static void block(NeuralNetConfiguration.ListBuilder b, Variant v, Activation act, int k) {
        if (v.hasNorm()) {
            Layer n = v.norm().get();
            n.setLayerName("norm" + k);
            b.layer(n);
        }
        b.layer(new ActivationLayer.Builder().activation(act).name("act" + k).build());
    }

    public static MultiLayerNetwork build(Variant v, IUpdater updater, long seed, Size size) {
        MultiLayerNetwork net = new MultiLayerNetwork(conf(v, updater, seed, size));
        net.init();
        return net;
    }
}
