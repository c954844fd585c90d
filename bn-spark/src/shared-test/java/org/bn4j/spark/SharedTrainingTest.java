package org.bn4j.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.bn4j.convert.RunningStatistics;
import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.parameterserver.training.SharedTrainingMaster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.parameterserver.distributed.conf.VoidConfiguration;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gradient sharing ({@code SharedTrainingMaster}, dl4j-spark-parameterserver 1.0.0-M2) on a {@code local[2]} master,
 * Aeron on 127.0.0.1. Not part of {@code mvn test}: {@code mvn -B -pl bn-spark test -Pshared-training}.
 *
 * <p>Gradient sharing exchanges only the (threshold-encoded) updates of the optimizer. DL4J's built-in batch norm
 * carries its running-statistics change as such an update, so its running mean moves; bn4j's layers change theirs in
 * place, and that change never leaves the worker: the driver's model keeps bn4j's initial running statistics (mean 0,
 * var 1). The workaround, tested here: {@link RunningStatistics#recompute} on the driver's model with the training data
 * gives the running statistics that the same data and parameters give on a single machine. See
 * docs/distributed.md.
 */
class SharedTrainingTest {
    private static JavaSparkContext sc;

    @BeforeAll
    static void start() {
        // Aeron 1.39 (as resolved here) refuses its defaults: publicationUnblockTimeout must exceed clientLivenessTimeout (30 s)
        System.setProperty("aeron.publication.unblock.timeout", "60000000000");
        sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("bn-spark-shared")
                .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.ui.enabled", "false"));
    }

    @AfterAll
    static void stop() {
        if (sc != null) sc.stop();
    }

    /** 8 minibatches of 16, 2 workers, gradient sharing; returns the driver's trained model. */
    private static MultiLayerNetwork sharedTraining(MultiLayerConfiguration conf, List<DataSet> data, int port) {
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        VoidConfiguration vc = VoidConfiguration.builder().unicastPort(port)
                .networkMask("127.0.0.0/8").controllerAddress("127.0.0.1").build();
        SharedTrainingMaster tm = new SharedTrainingMaster.Builder(vc, 16).batchSizePerWorker(16).workersPerNode(2)
                .rddTrainingApproach(RDDTrainingApproach.Direct).build();
        return new SparkDl4jMultiLayer(sc, net, tm).fit(sc.parallelize(data, 2));
    }

    @Test
    void builtinBatchNormalizationMovesItsRunningStatistics() {
        MultiLayerNetwork net = sharedTraining(builtinBatchNorm(), NetCases.named("BatchNorm").data(8, 16, 1), 40125);
        INDArray mean = net.getLayer(1).getParam("mean");
        System.out.println("DL4J BatchNormalization running mean after shared training: " + mean);
        assertTrue(mean.amaxNumber().doubleValue() > 0,
                "DL4J BatchNormalization: the running mean of the trained model is still its initial value " + mean);
    }

    /**
     * bn4j's running statistics do not come back from the workers (still exactly mean 0, var 1 on the driver);
     * recomputed on the driver from the training data, they equal those recomputed by a single-machine copy of the
     * trained network (zero tolerance), and the plain average over the batches of the statistics of the batch-norm
     * layer's input x·W + b, computed here in double precision (float32 network: 1e-5).
     */
    @Test
    void bn4jRunningStatisticsAreRecomputedOnTheDriver() {
        NetCases.NetCase c = NetCases.named("BatchNorm");
        List<DataSet> data = c.data(8, 16, 1);
        MultiLayerNetwork net = sharedTraining(c.mln(), data, 40124);
        Layer bn = net.getLayer(1);
        System.out.println("bn4j BatchNorm after shared training: mean " + bn.getParam("mean") + ", var " + bn.getParam("var"));
        assertEquals(0.0, bn.getParam("mean").amaxNumber().doubleValue(), "the running mean came back (the workaround"
                + " is no longer needed: update docs/distributed.md)");
        assertEquals(1.0, bn.getParam("var").minNumber().doubleValue());
        assertEquals(1.0, bn.getParam("var").maxNumber().doubleValue());

        MultiLayerNetwork single = new MultiLayerNetwork(net.getLayerWiseConfigurations().clone());
        single.init(net.params().dup(), true);
        RunningStatistics.Result driver = RunningStatistics.recompute(net, new ExistingDataSetIterator(data));
        RunningStatistics.recompute(single, new ExistingDataSetIterator(data));
        System.out.println("recomputed on the driver: " + driver + "\n  mean " + bn.getParam("mean") + ", var "
                + bn.getParam("var"));
        assertEquals(8, driver.batches());
        assertEquals(128, driver.examples());
        assertEquals(List.of(new RunningStatistics.Result.Recomputed("layer1", 8)), driver.recomputed());
        for (int i = 0; i < net.params().length(); i++) {
            assertEquals(Float.floatToIntBits(single.params().getFloat(i)), Float.floatToIntBits(net.params().getFloat(i)),
                    "driver vs single machine, parameter " + i);
        }

        double[][] w = net.getLayer(0).getParam("W").castTo(DataType.DOUBLE).toDoubleMatrix();
        double[] b = net.getLayer(0).getParam("b").castTo(DataType.DOUBLE).toDoubleVector();
        double[] mean = new double[b.length], var = new double[b.length];
        for (DataSet ds : data) {
            double[][] x = ds.getFeatures().castTo(DataType.DOUBLE).toDoubleMatrix();
            int n = x.length;
            for (int o = 0; o < b.length; o++) {
                double[] z = new double[n];
                double s = 0;
                for (int i = 0; i < n; i++) {
                    z[i] = b[o];
                    for (int j = 0; j < x[i].length; j++) z[i] += x[i][j] * w[j][o];
                    s += z[i];
                }
                double m = s / n, q = 0;
                for (double zi : z) q += (zi - m) * (zi - m);
                mean[o] += m / data.size();
                var[o] += q / (n - 1) / data.size();
            }
        }
        double[] gotMean = bn.getParam("mean").castTo(DataType.DOUBLE).toDoubleVector();
        double[] gotVar = bn.getParam("var").castTo(DataType.DOUBLE).toDoubleVector();
        double err = 0;
        for (int o = 0; o < b.length; o++) {
            err = Math.max(err, Math.abs(gotMean[o] - mean[o]) / Math.max(1, Math.abs(mean[o])));
            err = Math.max(err, Math.abs(gotVar[o] - var[o]) / Math.max(1, Math.abs(var[o])));
        }
        System.out.println("recomputed vs plain double-precision average: largest difference " + err);
        assertTrue(err < 1e-5, "recomputed vs plain average: " + err);
        assertTrue(Math.abs(gotMean[0]) > 1e-3 && Math.abs(gotVar[0] - 1) > 1e-3, "no longer the initial 0/1");
    }

    /** The same network with DL4J's own batch norm (variance, not log std, so that the parameters compare). */
    private static MultiLayerConfiguration builtinBatchNorm() {
        return new NeuralNetConfiguration.Builder().seed(42).dataType(DataType.FLOAT).updater(new Adam(0.01)).list()
                .layer(new DenseLayer.Builder().nOut(NetCases.HIDDEN).activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().useLogStd(false).build())
                .layer(new ActivationLayer(Activation.TANH))
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(NetCases.CLASSES)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(NetCases.FEATURES)).build();
    }
}
