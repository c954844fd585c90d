package org.bn4j.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.GhostBatchNorm;
import org.bn4j.layers.LayerNorm;
import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.parallelism.ParallelWrapper;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Trains an MLP with a bn4j layer on Fashion-MNIST with DL4J's Spark parameter averaging ({@code --engine spark}) or
 * with {@link ParallelWrapper} on this machine ({@code --engine wrapper}), once per worker count, and prints the
 * training throughput and the test accuracy of each run. See docs/distributed.md.
 */
@Command(name = "bn-spark", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Data-parallel training of a bn4j network on Fashion-MNIST: throughput per worker count.")
public final class SparkExample implements Callable<Integer> {

    enum Engine { spark, wrapper }

    enum Norm { batch, ghost, layer, none }

    @Option(names = "--engine", description = "spark (parameter averaging through Spark) or wrapper (ParallelWrapper; 1 worker: plain fit). Default: ${DEFAULT-VALUE}.")
    Engine engine = Engine.spark;

    @Option(names = "--workers", split = ",", description = "Worker counts to run, one training run each. Default: ${DEFAULT-VALUE}.")
    List<Integer> workers = List.of(1, 2);

    @Option(names = "--norm", description = "Normalization after the hidden layer: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}.")
    Norm norm = Norm.batch;

    @Option(names = "--batch", description = "Minibatch size per worker. Default: ${DEFAULT-VALUE}.")
    int batch = 64;

    @Option(names = "--averaging", description = "Minibatches per worker between two parameter averagings. Default: ${DEFAULT-VALUE}.")
    int averaging = 5;

    @Option(names = "--epochs", description = "Epochs per run. Default: ${DEFAULT-VALUE}.")
    int epochs = 1;

    @Option(names = "--examples", description = "Training examples to use (0: all 60,000). Default: ${DEFAULT-VALUE}.")
    int examples = 0;

    @Option(names = "--approach", description = "How Spark workers get the data: Export (DL4J's default: minibatches written to"
            + " --export-dir, which a cluster must share, e.g. HDFS) or Direct (from the RDD). Default: ${DEFAULT-VALUE}.")
    RDDTrainingApproach approach = RDDTrainingApproach.Export;

    @Option(names = "--export-dir", description = "Directory (URI) for the Export approach. Default: DL4J's, under hadoop.tmp.dir.")
    String exportDir;

    @Option(names = "--data", description = "Directory of the Fashion-MNIST .gz files. Default: ${DEFAULT-VALUE}.")
    Path data = FashionMnist.DEFAULT_DIR;

    @Option(names = "--warmup", negatable = true, description = "Train once on 20 batches, untimed, before the timed runs. Default: ${DEFAULT-VALUE}.")
    boolean warmup = true;

    @Option(names = "--save", description = "Save the network of the last run here (ModelSerializer zip).")
    File save;

    public static void main(String[] args) {
        System.exit(new CommandLine(new SparkExample()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        requireOpenModules();
        List<DataSet> train = FashionMnist.batches(data, true, examples, batch);
        List<DataSet> test = FashionMnist.batches(data, false, 0, 1000);
        int n = train.stream().mapToInt(DataSet::numExamples).sum();
        System.out.printf("engine %s%s, norm %s, %d training examples, batch %d per worker, averaging every %d, %d epoch(s)%n",
                engine, engine == Engine.spark ? " (" + approach + ")" : "", norm, n, batch, averaging, epochs);
        System.out.printf("machine: %d cores, load %s; ND4J threads %d (OMP_NUM_THREADS=%s)%n",
                Runtime.getRuntime().availableProcessors(), Files.readString(Path.of("/proc/loadavg")).trim(),
                Nd4j.getEnvironment().maxThreads(), System.getenv("OMP_NUM_THREADS"));
        System.out.println();
        System.out.println("| engine | workers | seconds | examples/s | vs first | test accuracy |");
        System.out.println("|---|---|---|---|---|---|");
        if (warmup) {
            // JIT, native libraries and the layers' graphs: the first run in a JVM pays for them
            fit(new MultiLayerNetwork(network(norm)), train.subList(0, Math.min(train.size(), 20)), workers.get(0));
        }
        double first = 0;
        MultiLayerNetwork net = null;
        for (int w : workers) {
            net = new MultiLayerNetwork(network(norm));
            long t0 = System.nanoTime();
            fit(net, train, w);
            double seconds = (System.nanoTime() - t0) / 1e9, rate = (double) n * epochs / seconds;
            if (first == 0) first = rate;
            double accuracy = net.evaluate(new ExistingDataSetIterator(test)).accuracy();
            System.out.printf("| %s | %d | %.1f | %.0f | %.2f× | %.4f |%n", engine, w, seconds, rate, rate / first, accuracy);
        }
        if (save != null && net != null) {
            net.save(save, true);
            System.out.println("saved " + save);
        }
        return 0;
    }

    private void fit(MultiLayerNetwork net, List<DataSet> train, int w) throws Exception {
        net.init();
        if (engine == Engine.spark) fitOnSpark(net, train, w);
        else fitWithWrapper(net, train, w);
    }

    /** 784 → 256 (no bias) → norm → ReLU → 10, plain SGD: the README's main job's network. */
    static MultiLayerConfiguration network(Norm norm) {
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder().seed(1).updater(new Sgd(0.1))
                .weightInit(WeightInit.XAVIER).list()
                .layer(new DenseLayer.Builder().nOut(256).hasBias(norm == Norm.none).activation(Activation.IDENTITY).build());
        Layer layer = switch (norm) {
            case batch -> new BatchNorm.Builder().build();
            case ghost -> new GhostBatchNorm.Builder().virtualBatchSize(32).build();
            case layer -> new LayerNorm.Builder().build();
            case none -> null;
        };
        if (layer != null) b.layer(layer);
        return b.layer(new ActivationLayer(Activation.RELU))
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(FashionMnist.CLASSES)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(FashionMnist.PIXELS)).build();
    }

    /**
     * Parameter averaging on Spark. Without a master from spark-submit, a {@code local[w]} master bound to the
     * loopback address.
     */
    private void fitOnSpark(MultiLayerNetwork net, List<DataSet> train, int w) {
        SparkConf conf = new SparkConf().setAppName("bn4j-spark-example");
        if (!conf.contains("spark.master")) {
            conf.setMaster("local[" + w + "]").set("spark.driver.host", "127.0.0.1")
                    .set("spark.driver.bindAddress", "127.0.0.1").set("spark.ui.enabled", "false");
        }
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            ParameterAveragingTrainingMaster tm = new ParameterAveragingTrainingMaster.Builder(w, batch)
                    .batchSizePerWorker(batch).averagingFrequency(averaging).workerPrefetchNumBatches(2)
                    .saveUpdater(true).rddTrainingApproach(approach).exportDirectory(exportDir).build();
            SparkDl4jMultiLayer spark = new SparkDl4jMultiLayer(sc, net, tm);
            var rdd = sc.parallelize(train, w);
            for (int e = 0; e < epochs; e++) spark.fit(rdd);
            tm.deleteTempFiles(sc);
        }
    }

    /** ParallelWrapper with w ≥ 2 workers; one worker is plain {@code fit} (ParallelWrapper refuses fewer than 2). */
    private void fitWithWrapper(MultiLayerNetwork net, List<DataSet> train, int w) throws Exception {
        if (w == 1) {
            net.fit(new ExistingDataSetIterator(train), epochs);
            return;
        }
        try (ParallelWrapper pw = new ParallelWrapper.Builder<>(net).workers(w).averagingFrequency(averaging)
                .prefetchBuffer(4).build()) {
            for (int e = 0; e < epochs; e++) pw.fit(new ExistingDataSetIterator(train));
        }
    }

    /** Spark needs java.base's internals opened on Java 17; say which options when they are missing. */
    private static void requireOpenModules() {
        Module base = Object.class.getModule();
        if (!base.isOpen("sun.nio.ch", SparkExample.class.getModule())) {
            throw new IllegalStateException("bn-spark: Spark on Java 17 needs java.base opened to this program, got"
                    + " sun.nio.ch closed. Run through Maven from the repository root (.mvn/jvm.config opens it) or add"
                    + " the --add-opens options of docs/distributed.md to the java command line; spark-submit adds them itself.");
        }
    }
}
