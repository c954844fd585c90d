package org.bn4j.dropin;

import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.GhostBatchNorm;
import org.bn4j.layers.LayerNorm;
import org.bn4j.layers.LpBatchNorm;
import org.bn4j.layers.NoiseConfig;
import org.bn4j.layers.NoiseInjection;
import org.bn4j.layers.NoisyBatchNorm;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.io.File;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A user's network, written outside the library's packages with its public API only: the same small CNN with
 * each layer of the library swapped in (float32, as a user would run it), trained, saved, reloaded, and
 * predicting the same.
 */
class DropInTest {

    static Stream<Arguments> layers() {
        return Stream.of(
                Arguments.of("BatchNorm", (Supplier<Layer>) () -> new BatchNorm.Builder().build()),
                Arguments.of("LpBatchNorm(p=1)", (Supplier<Layer>) () -> new LpBatchNorm.Builder().p(1).build()),
                Arguments.of("LpBatchNorm(top-1)", (Supplier<Layer>) () -> new LpBatchNorm.Builder().topK(1).build()),
                Arguments.of("GhostBatchNorm(8)", (Supplier<Layer>) () -> new GhostBatchNorm.Builder().virtualBatchSize(8).build()),
                Arguments.of("NoisyBatchNorm", (Supplier<Layer>) () -> new NoisyBatchNorm.Builder()
                        .noise(NoiseConfig.santurkar().withSeed(1)).build()),
                Arguments.of("NoiseInjection", (Supplier<Layer>) () -> new NoiseInjection.Builder().build()),
                Arguments.of("LayerNorm", (Supplier<Layer>) () -> new LayerNorm.Builder().build()));
    }

    @ParameterizedTest(name = "{0} in a user's CNN: train, save, reload, predict")
    @MethodSource("layers")
    void trainSaveReloadPredict(String name, Supplier<Layer> norm, @TempDir File dir) throws Exception {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(42).updater(new Sgd(0.1))
                .weightInit(WeightInit.XAVIER_UNIFORM).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(8).hasBias(false).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.IDENTITY).build())
                .layer(norm.get())
                .layer(new ActivationLayer(Activation.RELU))
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().nOut(16).hasBias(false).activation(Activation.IDENTITY).build())
                .layer(norm.get())
                .layer(new ActivationLayer(Activation.RELU))
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(8, 8, 1))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.rand(DataType.FLOAT, 32, 1, 8, 8);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 32, 3);
        for (int i = 0; i < 32; i++) y.putScalar(i, i % 3, 1);
        DataSet ds = new DataSet(x, y);
        double before = net.score(ds);
        for (int i = 0; i < 20; i++) net.fit(ds);
        double after = net.score(ds);
        assertTrue(after < before, name + ": training did not lower the loss (" + before + " -> " + after + ")");

        File file = new File(dir, "net.zip");
        ModelSerializer.writeModel(net, file, true);
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(file, true);
        assertEquals(net.output(x, false), restored.output(x, false), name + ": predictions changed after save/reload");
        restored.fit(ds); // and it keeps training
    }
}
