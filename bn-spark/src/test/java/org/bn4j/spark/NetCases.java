package org.bn4j.spark;

import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.GhostBatchNorm;
import org.bn4j.layers.LayerNorm;
import org.bn4j.layers.LpBatchNorm;
import org.bn4j.layers.NoiseConfig;
import org.bn4j.layers.NoiseInjection;
import org.bn4j.layers.NoisyBatchNorm;
import org.bn4j.layers.weightnorm.WeightNormConv2D;
import org.bn4j.layers.weightnorm.WeightNormDense;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Small float32 networks around every bn4j layer, as a user would build them, and random data for them. Adam (the
 * graphs: momentum), so that the updater state has to travel too.
 */
final class NetCases {
    static final int FEATURES = 12, HIDDEN = 8, CLASSES = 3, SIDE = 5, CHANNELS = 2;

    /** A named network: {@code cnn} cases take [N, 2, 5, 5] input, the others [N, 12]. */
    record NetCase(String name, boolean cnn, Supplier<List<Layer>> layers) {
        @Override
        public String toString() {
            return name;
        }

        MultiLayerConfiguration mln() {
            NeuralNetConfiguration.ListBuilder b = base().list();
            layers.get().forEach(b::layer);
            return b.setInputType(inputType()).build();
        }

        /**
         * The same layers as a ComputationGraph (a chain), with Nesterov momentum instead of Adam: DL4J M2.1's
         * {@code ComputationGraphConfiguration.clone()} drops the iteration count, so SparkComputationGraph's workers
         * restart it at 0 at every averaging and Adam's bias correction differs from one-process training (also for
         * a graph of plain dense layers). Momentum has state but does not depend on the iteration.
         */
        ComputationGraphConfiguration graph() {
            ComputationGraphConfiguration.GraphBuilder b = base().updater(new Nesterovs(0.01, 0.9)).graphBuilder()
                    .addInputs("in");
            String prev = "in";
            List<Layer> ls = layers.get();
            for (int i = 0; i < ls.size(); i++) {
                b.addLayer("l" + i, ls.get(i), prev);
                prev = "l" + i;
            }
            return b.setOutputs(prev).setInputTypes(inputType()).build();
        }

        InputType inputType() {
            return cnn ? InputType.convolutional(SIDE, SIDE, CHANNELS) : InputType.feedForward(FEATURES);
        }

        /** {@code count} batches of {@code batch} examples, with a per-batch offset so that workers' statistics differ. */
        List<DataSet> data(int count, int batch, long seed) {
            Random r = new Random(seed);
            List<DataSet> out = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                long[] shape = cnn ? new long[]{batch, CHANNELS, SIDE, SIDE} : new long[]{batch, FEATURES};
                INDArray x = Nd4j.randn(DataType.FLOAT, shape).muli(1 + r.nextDouble()).addi(r.nextGaussian());
                INDArray y = Nd4j.zeros(DataType.FLOAT, batch, CLASSES);
                for (int j = 0; j < batch; j++) y.putScalar(j, r.nextInt(CLASSES), 1f);
                out.add(new DataSet(x, y));
            }
            return out;
        }
    }

    private NetCases() {
    }

    private static NeuralNetConfiguration.Builder base() {
        return new NeuralNetConfiguration.Builder().seed(42).dataType(DataType.FLOAT).updater(new Adam(0.01))
                .weightInit(WeightInit.XAVIER);
    }

    /** dense → norm → tanh → softmax output. */
    private static NetCase mlp(String name, Supplier<Layer> norm) {
        return new NetCase(name, false, () -> List.of(
                new DenseLayer.Builder().nOut(HIDDEN).activation(Activation.IDENTITY).build(),
                norm.get(),
                new ActivationLayer(Activation.TANH),
                output()));
    }

    private static OutputLayer output() {
        return new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES).activation(Activation.SOFTMAX).build();
    }

    /** Every configuration class of bn4j, each in a network. */
    static List<NetCase> all() {
        return List.of(
                new NetCase("Dense(no normalization)", false, () -> List.of(
                        new DenseLayer.Builder().nOut(HIDDEN).activation(Activation.TANH).build(), output())),
                mlp("BatchNorm", () -> new BatchNorm.Builder().build()),
                mlp("LpBatchNorm(p=1)", () -> new LpBatchNorm.Builder().p(1).build()),
                mlp("GhostBatchNorm(v=4)", () -> new GhostBatchNorm.Builder().virtualBatchSize(4).build()),
                mlp("NoisyBatchNorm", () -> new NoisyBatchNorm.Builder().noise(NoiseConfig.santurkar().withSeed(7)).build()),
                mlp("NoiseInjection", () -> new NoiseInjection.Builder().build()),
                mlp("LayerNorm", () -> new LayerNorm.Builder().build()),
                new NetCase("WeightNormDense(dataInit)", false, () -> List.of(
                        new WeightNormDense.Builder().nOut(HIDDEN).dataInit(true).activation(Activation.TANH).build(),
                        output())),
                new NetCase("WeightNormConv2D+BatchNorm(CNN)", true, () -> List.of(
                        new WeightNormConv2D.Builder(3, 3).nOut(4).convolutionMode(ConvolutionMode.Same)
                                .activation(Activation.IDENTITY).build(),
                        new BatchNorm.Builder().build(),
                        new ActivationLayer(Activation.RELU),
                        new GlobalPoolingLayer.Builder(PoolingType.AVG).build(),
                        output())));
    }

    static NetCase named(String name) {
        return all().stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
    }
}
