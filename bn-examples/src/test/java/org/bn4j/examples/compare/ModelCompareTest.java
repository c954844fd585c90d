package org.bn4j.examples.compare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.bn4j.examples.Csv;
import org.bn4j.examples.Main;
import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.LayerNorm;
import org.bn4j.layers.RMSNorm;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** compare-model on a small CNN with DL4J's BatchNormalization, built here, on the bundled Fashion-MNIST subset. */
public class ModelCompareTest {

    /** conv 3x3/2 (8 channels) → [DL4J batch norm] → ReLU → max pool 2 → 10 softmax; input 28×28×1. */
    static MultiLayerConfiguration cnn(boolean batchNorm, int classes) {
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.FLOAT)
                .updater(new Adam(1e-3)).list()
                .layer(new ConvolutionLayer.Builder(3, 3).stride(2, 2).nOut(8).activation(Activation.IDENTITY).name("conv1").build());
        if (batchNorm) {
            b.layer(new BatchNormalization.Builder().name("bn1").build());
        }
        return b.layer(new ActivationLayer.Builder().activation(Activation.RELU).name("relu1").build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).name("pool1").build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(classes).activation(Activation.SOFTMAX)
                        .name("out").build())
                .setInputType(InputType.convolutional(28, 28, 1)).build();
    }

    static MultiLayerNetwork net(MultiLayerConfiguration c) {
        MultiLayerNetwork n = new MultiLayerNetwork(c);
        n.init();
        return n;
    }

    /** The same CNN as a ComputationGraph, with a dense input and a preprocessor to images (public: a factory for --model). */
    public static ComputationGraph graph() {
        ComputationGraphConfiguration c = new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.FLOAT).graphBuilder()
                .addInputs("in")
                .addLayer("conv1", new ConvolutionLayer.Builder(3, 3).stride(2, 2).nOut(8).activation(Activation.IDENTITY).build(), "in")
                .addLayer("bn1", new BatchNormalization.Builder().build(), "conv1")
                .addLayer("relu1", new ActivationLayer.Builder().activation(Activation.RELU).build(), "bn1")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX)
                        .build(), "relu1")
                .setOutputs("out").setInputTypes(InputType.convolutionalFlat(28, 28, 1)).build();
        ComputationGraph g = new ComputationGraph(c);
        g.init();
        return g;
    }

    @Test
    void commandRunsEveryVariantOnASavedModelAndLeavesTheFileAlone(@TempDir Path dir) throws IOException {
        File model = dir.resolve("cnn.zip").toFile();
        ModelSerializer.writeModel(net(cnn(true, 10)), model, true);
        byte[] before = Files.readAllBytes(model.toPath());
        long modified = model.lastModified();
        Path out = dir.resolve("out");
        int code = Main.run("compare-model", "--model", model.toString(), "--data", "subset", "--variants", "model,bn,rms,ln",
                "--epochs", "1", "--max-train", "256", "--max-test", "128", "--batch", "32", "--lrs", "0.1,30",
                "--batch-sizes", "16", "--sweep-examples", "128", "--no-progress", "--seed", "3", "--out", out.toString());
        assertEquals(0, code);
        assertArrayEquals(before, Files.readAllBytes(model.toPath()), "the model file is unchanged");
        assertEquals(modified, model.lastModified());

        List<String> variants = List.of("model", "bn", "rms", "ln");
        Csv epochs = Csv.read(out.resolve("epochs.csv"));
        Map<String, Long> evals = epochs.rows().stream().collect(Collectors.groupingBy(r -> r.get("run"), TreeMap::new,
                Collectors.counting()));
        assertEquals(new TreeMap<>(Map.of("model", 2L, "bn", 2L, "rms", 2L, "ln", 2L)), evals, "epochs 0 and 1 of every variant");
        for (double a : epochs.doubles("test_acc", r -> true)) {
            assertTrue(a >= 0 && a <= 1, "accuracy " + a);
        }
        Csv steps = Csv.read(out.resolve("steps.csv"));
        for (String v : variants) {
            assertEquals(256 / 32, steps.doubles("train_loss", steps.where("run", v)).length, "one loss per step of " + v);
        }
        assertEquals(4 * 2, Csv.read(out.resolve("lr_sweep.csv")).rows().size(), "four variants x two rates");
        assertEquals(4, Csv.read(out.resolve("batch_sizes.csv")).rows().size(), "four variants x one batch size");

        String md = Files.readString(out.resolve("summary.md"));
        List<String> rows = md.lines().filter(l -> l.startsWith("| ") && !l.startsWith("| run ")).toList();
        assertEquals(variants, rows.stream().map(l -> l.split("\\|")[1].trim()).toList(), "one row per variant:\n" + md);
        assertTrue(md.contains("reshaped to [N,1,28,28]"), md);
        assertTrue(md.contains("by `bn4j-examples compare-model --model " + model), "the command line in the summary:\n" + md);
        assertTrue(md.contains("RMS norm (RMSNorm)") && md.contains("BatchNormalization"), md);
        for (String f : List.of("test_accuracy.png", "train_loss.png", "lr_sweep.png", "batch_sizes.png")) {
            assertTrue(Files.size(out.resolve(f)) > 100, f);
        }
    }

    @Test
    void convertedNetworksHoldTheChosenLayersAndShareTheirStart() {
        MultiLayerNetwork model = net(cnn(true, 10));
        INDArray params = model.params().dup();
        ModelCompare mc = ModelCompare.of(model, List.of("model", "bn", "dl4j-bn", "rms", "ln"));
        assertEquals(List.of("bn1"), mc.normLayers());
        assertEquals(org.bn4j.examples.data.FashionMnist.Shape.IMAGE, mc.shape());
        Map<String, Class<?>> expected = Map.of("model", BatchNormalization.class, "bn", BatchNorm.class,
                "dl4j-bn", BatchNormalization.class, "rms", RMSNorm.class, "ln", LayerNorm.class);
        INDArray conv = null;
        for (String v : mc.variants()) {
            MultiLayerNetwork n = (MultiLayerNetwork) mc.network(v, null);
            assertSame(expected.get(v), n.getLayerWiseConfigurations().getConf(1).getLayer().getClass(), v);
            assertEquals("bn1", n.getLayerWiseConfigurations().getConf(1).getLayer().getLayerName());
            // γ starts at 1 in every variant (fresh normalization parameters)
            INDArray gamma = n.getLayer(1).getParam("gamma");
            assertEquals(8, gamma.length(), v);
            assertEquals(8.0, gamma.sumNumber().doubleValue(), 0.0, v);
            if (conv == null) {
                conv = n.getLayer(0).params().dup();
            } else {
                assertEquals(conv, n.getLayer(0).params(), "the convolution starts from the same weights in " + v);
            }
        }
        assertEquals(params, model.params(), "the given network is not modified");
        // the fresh start (seed 42) is not the model's initialization (seed 7); --init model starts from the model's
        assertNotEquals(model.getLayer(0).params(), conv);
        MultiLayerNetwork own = (MultiLayerNetwork) ModelCompare.of(model, "cnn", List.of("rms"), false, 42, true).network("rms", null);
        assertEquals(model.getLayer(0).params(), own.getLayer(0).params());
        assertEquals(model.getLayer(4).params(), own.getLayer(4).params(), "the output layer too");

        ComputationGraph g = graph();
        ModelCompare gc = ModelCompare.of(g, List.of("rms"));
        assertEquals(org.bn4j.examples.data.FashionMnist.Shape.FLAT, gc.shape(), "a graph that takes [N,784] gets vectors");
        ComputationGraph gr = (ComputationGraph) gc.network("rms", new org.nd4j.linalg.learning.config.Sgd(0.5));
        assertSame(RMSNorm.class, gr.getLayer("bn1").conf().getLayer().getClass());
        assertEquals(new org.nd4j.linalg.learning.config.Sgd(0.5),
                ((org.deeplearning4j.nn.conf.layers.BaseLayer) gr.getLayer("conv1").conf().getLayer()).getIUpdater());
    }

    @Test
    void badInputGetsAClearError(@TempDir Path dir) throws IOException {
        MultiLayerNetwork model = net(cnn(true, 10));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelCompare.of(net(cnn(false, 10)), "plain.zip", List.of("bn"), false, 42, false));
        System.out.println("no normalization layer: " + e.getMessage());
        assertTrue(e.getMessage().contains("has no normalization layer to replace") && e.getMessage().contains("conv1 (ConvolutionLayer)"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ModelCompare.of(model, List.of("bn", "nope")));
        System.out.println("nope: " + e.getMessage());
        assertTrue(e.getMessage().startsWith("unknown variant 'nope'; known: model, ") && e.getMessage().contains("gn"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ModelCompare.of(model, List.of("wn")));
        System.out.println("wn: " + e.getMessage());
        assertTrue(e.getMessage().contains("variant 'wn'") && e.getMessage().contains("has no normalization layer"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ModelCompare.of(model, List.of("gn")));
        System.out.println("gn: " + e.getMessage());
        assertTrue(e.getMessage().contains("variant 'gn' cannot replace") && e.getMessage().contains("groups must divide"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ModelCompare.of(net(cnn(true, 5)), List.of("bn")));
        System.out.println("5 classes: " + e.getMessage());
        assertTrue(e.getMessage().contains("expected the 10 class probabilities"), e.getMessage());

        // the command: the message, a non-zero exit code, nothing trained
        File noBn = dir.resolve("plain.zip").toFile();
        ModelSerializer.writeModel(net(cnn(false, 10)), noBn, true);
        File withBn = dir.resolve("cnn.zip").toFile();
        ModelSerializer.writeModel(model, withBn, true);
        assertTrue(runErr("compare-model", "--model", noBn.toString(), "--data", "subset", "--out", dir.resolve("o1").toString())
                .contains("has no normalization layer to replace"));
        assertTrue(runErr("compare-model", "--model", withBn.toString(), "--variants", "bn,nope", "--data", "subset", "--out",
                dir.resolve("o2").toString()).contains("unknown variant 'nope'"));
        assertTrue(runErr("compare-model", "--model", dir.resolve("missing.zip").toString(), "--data", "subset")
                .contains("there is no such file"));
        assertTrue(runErr("compare-model", "--model", ModelCompareTest.class.getName() + "#graph", "--variants", "gn",
                "--data", "subset").contains("variant 'gn' cannot replace"));
        assertTrue(!Files.exists(dir.resolve("o2").resolve("epochs.csv")));
    }

    @Test
    void factoryClassAndDefaultsSkipWhatDoesNotFit() throws IOException {
        Model g = ModelCompare.load(ModelCompareTest.class.getName() + "#graph");
        assertTrue(g instanceof ComputationGraph);
        ModelCompare mc = ModelCompare.of(g, "graph", ModelCompare.DEFAULT_VARIANTS, true, 1, false);
        assertTrue(mc.skipped().containsKey("gn"), "32 groups do not divide 8 channels: " + mc.skipped());
        assertTrue(mc.variants().containsAll(List.of("model", "bn", "ln", "rms")), mc.variants().toString());

        // the docs page's model: a class with one public static factory, named alone
        Model cnn = ModelCompare.load("org.bn4j.examples.nets.SmallCnn");
        ModelCompare sc = ModelCompare.of(cnn, "SmallCnn", ModelCompare.DEFAULT_VARIANTS, true, 1, false);
        assertEquals(List.of("bn1", "bn2"), sc.normLayers());
        assertEquals(ModelCompare.DEFAULT_VARIANTS, sc.variants(), "every default fits 32 channels and 64 features: " + sc.skipped());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelCompare.load("org.bn4j.examples.nets.Mlp"));
        assertTrue(e.getMessage().contains("neither"), e.getMessage());
    }

    @Test
    void apiAsOnTheDocsPage(@TempDir Path dir) throws IOException {
        String page = Files.readString(Path.of("..", "docs", "compare-your-model.md"));
        for (String line : List.of(
                "ModelCompare mc = ModelCompare.of(mine, List.of(\"model\", \"bn\", \"gn\", \"rms\"));",
                "FashionMnist data = FashionMnist.fromDirectory(Path.of(\"/usr/share/datasets/fashion-mnist\"));",
                "Path out = Path.of(\"results/my-model\");",
                "Comparison.Result r = mc.run(data, out, mc.defaults());",
                "mc.report(r, out, \"ModelCompare on my network\");")) {
            assertTrue(page.contains(line), "the page shows " + line);
        }
        MultiLayerNetwork mine = org.bn4j.examples.nets.SmallCnn.network();
        ModelCompare mc = ModelCompare.of(mine, List.of("model", "bn", "gn", "rms"));
        org.bn4j.examples.data.FashionMnist data = org.bn4j.examples.data.FashionMnist.bundledSubset().limit(256, 64);
        Path out = dir.resolve("my-model");
        Comparison.Result r = mc.run(data, out, mc.defaults().withPlan(new Comparison.Plan(1, 256, 0, 128, 64, 64))
                .withParts("accuracy", "lr"));
        mc.report(r, out, "ModelCompare on my network");
        assertEquals(List.of("model", "bn", "gn", "rms"), List.copyOf(r.accuracy().keySet()));
        assertEquals(List.of("model", "bn", "gn", "rms"), List.copyOf(r.largestLr().keySet()));
        assertTrue(r.smallBatch().isEmpty());
        assertTrue(Files.readString(out.resolve("summary.md")).contains("ModelCompare on my network"));
    }

    /** Runs the command line, expecting a failure, and returns what it wrote to stderr. */
    private static String runErr(String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true));
        int code;
        try {
            code = Main.run(args);
        } finally {
            System.setErr(old);
        }
        String s = buf.toString();
        assertNotEquals(0, code, s);
        return s;
    }
}
