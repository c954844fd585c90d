package org.bn4j.conversion;

import org.bn4j.check.Exact;
import org.bn4j.layers.AbstractNormLayer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.bn4j.convert.FoldResult;
import org.bn4j.convert.NormConverter;
import org.bn4j.convert.NormFactory;
import org.bn4j.convert.NormFolder;
import org.bn4j.convert.NormSelector;
import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.GhostBatchNorm;
import org.bn4j.layers.LpBatchNorm;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.deeplearning4j.zoo.model.Darknet19;
import org.deeplearning4j.zoo.model.SimpleCNN;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The snippets of docs/migrating.md, run top to bottom as a new user would; {@link #docsShowTheseSnippets()} checks
 * that every snippet in the page is, character for character, one of the snippets run here.
 */
class MigratingDocTest {

    @Test
    void convertFoldAndSave() throws IOException {
        // snippet convert
        // A network with DL4J's BatchNormalization: the zoo's Darknet19, built (not downloaded) for 64×64 images.
        ComputationGraph dl4j = Darknet19.builder().numClasses(10).inputShape(new int[]{3, 64, 64}).build().init();
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 3, 64, 64);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 4, 10);
        for (int i = 0; i < 4; i++) y.putScalar(i, i, 1);
        dl4j.fit(new INDArray[]{x}, new INDArray[]{y});                 // ... trained as you always did

        NormConverter toBn4j = new NormConverter(NormSelector.all(), NormFactory.bn4j(BatchNorm.Builder::new))
                .inputTypes(InputType.convolutional(64, 64, 3));       // optional: checks each replacement against its input
        ComputationGraph bn4j = toBn4j.convert(dl4j);                   // dl4j itself is not changed

        System.out.println(bn4j.outputSingle(x).equalsWithEps(dl4j.outputSingle(x), 1e-6));   // true
        // end snippet
        assertTrue(bn4j.outputSingle(x).equalsWithEps(dl4j.outputSingle(x), 1e-6));

        // snippet variants
        // Any bn4j layer, with its own options; by type or by name.
        ComputationGraph ghost = new NormConverter(NormSelector.all(),
                NormFactory.bn4j(() -> new GhostBatchNorm.Builder().virtualBatchSize(16))).convert(dl4j);
        ComputationGraph l1First = new NormConverter(NormSelector.named("batchnormalization_1"),
                NormFactory.bn4j(() -> new LpBatchNorm.Builder().p(1))).convert(bn4j);
        // Back to DL4J's layer, for a deployment without bn4j:
        ComputationGraph plain = new NormConverter(NormSelector.ofType(BatchNorm.class), NormFactory.dl4j()).convert(bn4j);
        // end snippet
        assertEquals(GhostBatchNorm.class, ghost.getLayer("batchnormalization_5").conf().getLayer().getClass());
        assertEquals(LpBatchNorm.class, l1First.getLayer("batchnormalization_1").conf().getLayer().getClass());
        assertEquals(BatchNorm.class, l1First.getLayer("batchnormalization_2").conf().getLayer().getClass());
        assertTrue(plain.outputSingle(x).equalsWithEps(dl4j.outputSingle(x), 1e-6));

        // snippet fold
        FoldResult<ComputationGraph> folded = NormFolder.fold(bn4j);
        System.out.println(folded);                  // "folded 18, kept 0", then a line per layer
        ComputationGraph inference = folded.network();
        System.out.println(inference.outputSingle(x).equalsWithEps(bn4j.outputSingle(x), 1e-5));   // true
        // end snippet
        assertEquals(18, folded.folded().size());
        assertTrue(inference.outputSingle(x).equalsWithEps(bn4j.outputSingle(x), 1e-5));

        // snippet save
        File file = File.createTempFile("darknet-bn4j", ".zip");
        ModelSerializer.writeModel(bn4j, file, true);
        ComputationGraph restored = ModelSerializer.restoreComputationGraph(file);
        // end snippet
        assertTrue(restored.outputSingle(x).equalsWithEps(bn4j.outputSingle(x), 0));
        assertTrue(file.delete());
    }

    @Test
    void configurationAndMultiLayerNetwork() {
        NormConverter toBn4j = new NormConverter(NormSelector.all(), NormFactory.bn4j(BatchNorm.Builder::new));
        // snippet configuration
        // Before training: convert the configuration, and train the bn4j network from scratch.
        ComputationGraphConfiguration conf = Darknet19.builder().numClasses(10).inputShape(new int[]{3, 64, 64}).build().conf();
        ComputationGraph fresh = new ComputationGraph(toBn4j.convert(conf));
        fresh.init();

        // A MultiLayerNetwork converts and folds the same way.
        MultiLayerNetwork simple = new MultiLayerNetwork(SimpleCNN.builder().numClasses(10).inputShape(new int[]{3, 32, 32}).build().conf());
        simple.init();
        MultiLayerNetwork simpleBn4j = toBn4j.convert(simple);
        MultiLayerNetwork simpleFolded = NormFolder.fold(simpleBn4j).network();
        // end snippet
        assertEquals(BatchNorm.class, fresh.getLayer("batchnormalization_1").conf().getLayer().getClass());
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 32, 32);
        assertTrue(simpleFolded.output(x).equalsWithEps(simple.output(x), 1e-5));
        assertFalse(simpleFolded.output(x).isNaN().any());
    }

    @Test
    void freezeAndFineTune() {
        DataSet data = dataSet(64, 1), newData = dataSet(64, 2);
        // snippet transfer
        // data, newData: your DataSets (here 10 features, 3 classes)
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).updater(new Sgd(0.1)).list()
                .layer(new DenseLayer.Builder().nOut(32).activation(Activation.IDENTITY).build())
                .layer(new BatchNorm.Builder().build())
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(10)).build();
        MultiLayerNetwork trained = new MultiLayerNetwork(conf);
        trained.init();
        for (int i = 0; i < 5; i++) trained.fit(data);                 // ... trained as usual

        // Feature extractor: DL4J freezes layers 0 and 1. The BatchNorm inside keeps γ, β and its running
        // statistics, and normalizes with the running statistics.
        MultiLayerNetwork head = new TransferLearning.Builder(trained)
                .fineTuneConfiguration(new FineTuneConfiguration.Builder().updater(new Sgd(0.01)).build())
                .setFeatureExtractor(1).build();
        head.fit(newData);
        // end snippet
        Exact.assertSame(trained.getLayer(1).params(), head.getLayer(1).params(), "the frozen BatchNorm's γ, β and statistics");

        // snippet finetune
        // Fine-tuning everything but the statistics: each BatchNorm normalizes with its running statistics, keeps
        // them, and back-propagates the gradient of exactly that function; γ, β and the other layers train.
        MultiLayerNetwork fineTune = new NormConverter(NormSelector.ofType(BatchNorm.class),
                NormFactory.bn4j(() -> new BatchNorm.Builder().frozenStatistics(true))).convert(trained);
        fineTune.fit(newData);
        // end snippet
        Exact.assertSame(trained.getLayer(1).getParam("mean"), fineTune.getLayer(1).getParam("mean"), "running mean, carried and kept");
        Exact.assertSame(trained.getLayer(1).getParam("var"), fineTune.getLayer(1).getParam("var"), "running variance, carried and kept");
        assertFalse(Exact.same(trained.getLayer(1).getParam("gamma"), fineTune.getLayer(1).getParam("gamma")), "γ trained");

        // snippet fixed
        // DL4J's lockGammaBeta(true).gamma(2).beta(0.5): γ and β held, not parameters, not trained; serialized.
        BatchNorm locked = new BatchNorm.Builder().fixedGamma(2).fixedBeta(0.5).build();
        // A training batch too small for statistics (the last minibatch of 129 examples in batches of 128) is
        // normalized with the running statistics and leaves them unchanged, as DL4J's and Keras's layers do.
        // PyTorch's behaviour, an error, is an option:
        BatchNorm strict = new BatchNorm.Builder().smallBatch(AbstractNormLayer.SmallBatch.ERROR).build();
        // end snippet
        MultiLayerNetwork lockedNet = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list().layer(locked)
                .setInputType(InputType.feedForward(10)).build());
        lockedNet.init();
        assertEquals(List.of("mean", "var"), List.copyOf(lockedNet.getLayer(0).paramTable().keySet()), "parameters of a fixed γ/β layer");
        assertEquals(AbstractNormLayer.SmallBatch.ERROR, strict.getSmallBatch());
    }

    private static DataSet dataSet(int n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray labels = Nd4j.zeros(DataType.FLOAT, n, 3);
        for (int i = 0; i < n; i++) labels.putScalar(i, i % 3, 1);
        return new DataSet(Nd4j.randn(DataType.FLOAT, n, 10), labels);
    }

    /** Every ```java block of docs/migrating.md under a "snippet NAME" marker is the snippet NAME of this class. */
    @Test
    void docsShowTheseSnippets() throws IOException {
        String doc = Files.readString(Path.of("..", "docs", "migrating.md"));
        String source = Files.readString(Path.of("src", "test", "java", "org", "bn4j", "conversion", "MigratingDocTest.java"));
        Map<String, String> inDoc = blocks(doc, Pattern.compile("<!-- snippet (\\w+) -->\\s*```java\\n(.*?)```", Pattern.DOTALL));
        Map<String, String> inTest = blocks(source, Pattern.compile("// snippet (\\w+)\\n(.*?)\\s*// end snippet", Pattern.DOTALL));
        assertEquals(inTest.keySet(), inDoc.keySet(), "snippets in the page and in the test");
        inDoc.forEach((name, code) -> assertEquals(inTest.get(name), code, "snippet " + name));
    }

    private static Map<String, String> blocks(String text, Pattern p) {
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = p.matcher(text);
        while (m.find()) out.put(m.group(1), dedent(m.group(2)));
        return out;
    }

    /** The lines without their common indentation and trailing blanks. */
    private static String dedent(String code) {
        List<String> lines = new ArrayList<>(code.stripTrailing().lines().toList());
        int indent = lines.stream().filter(l -> !l.isBlank()).mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
        lines.replaceAll(l -> l.isBlank() ? "" : l.substring(indent));
        return String.join("\n", lines);
    }
}
