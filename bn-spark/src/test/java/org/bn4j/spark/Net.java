package org.bn4j.spark;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.MultiLayerUpdater;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.spark.api.TrainingMaster;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.io.File;
import java.io.IOException;
import java.util.Map;

/** A MultiLayerNetwork or a ComputationGraph behind the few calls the tests make on both. */
sealed interface Net permits Net.Mln, Net.Graph {

    static Net of(NetCases.NetCase c, boolean graph) {
        if (graph) {
            ComputationGraph g = new ComputationGraph(c.graph());
            g.init();
            return new Graph(g);
        }
        MultiLayerNetwork n = new MultiLayerNetwork(c.mln());
        n.init();
        return new Mln(n);
    }

    Model model();

    void fit(DataSet batch);

    /** A new network with this one's configuration (iteration count included), parameters and updater state. */
    Net copy();

    /** Trains the network on Spark with the training master; afterwards this network holds the result. */
    void fitOnSpark(JavaSparkContext sc, TrainingMaster<?, ?> tm, JavaRDD<DataSet> data);

    INDArray output(INDArray x);

    Net restore(File file) throws IOException;

    /** The parameters of this network's layout, by name, for a flat parameter vector. */
    default Map<String, INDArray> paramTable(INDArray flat) {
        Net n = copy();
        n.model().setParams(flat);
        return n.model().paramTable();
    }

    default void save(File file) throws IOException {
        ModelSerializer.writeModel(model(), file, true);
    }

    record Mln(MultiLayerNetwork net) implements Net {
        public Model model() {
            return net;
        }

        public void fit(DataSet batch) {
            net.fit(batch);
        }

        public Net copy() {
            MultiLayerNetwork n = new MultiLayerNetwork(net.getLayerWiseConfigurations().clone());
            n.init(net.params().dup(), true);
            INDArray state = net.getUpdater().getStateViewArray();
            if (state != null) n.setUpdater(new MultiLayerUpdater(n, state.dup()));
            return new Mln(n);
        }

        public void fitOnSpark(JavaSparkContext sc, TrainingMaster<?, ?> tm, JavaRDD<DataSet> data) {
            new SparkDl4jMultiLayer(sc, net, tm).fit(data);
        }

        public INDArray output(INDArray x) {
            return net.output(x);
        }

        public Net restore(File file) throws IOException {
            return new Mln(MultiLayerNetwork.load(file, true));
        }
    }

    record Graph(ComputationGraph net) implements Net {
        public Model model() {
            return net;
        }

        public void fit(DataSet batch) {
            net.fit(batch);
        }

        public Net copy() {
            ComputationGraph n = new ComputationGraph(net.getConfiguration().clone());
            // clone() leaves out the counts (DL4J M2.1)
            n.getConfiguration().setIterationCount(net.getConfiguration().getIterationCount());
            n.getConfiguration().setEpochCount(net.getConfiguration().getEpochCount());
            n.init(net.params().dup(), true);
            INDArray state = net.getUpdater().getStateViewArray();
            if (state != null) n.setUpdater(new ComputationGraphUpdater(n, state.dup()));
            return new Graph(n);
        }

        public void fitOnSpark(JavaSparkContext sc, TrainingMaster<?, ?> tm, JavaRDD<DataSet> data) {
            new SparkComputationGraph(sc, net, tm).fit(data);
        }

        public INDArray output(INDArray x) {
            return net.outputSingle(x);
        }

        public Net restore(File file) throws IOException {
            return new Graph(ComputationGraph.load(file, true));
        }
    }
}
