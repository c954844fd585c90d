package org.bn4j.bench;

import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.LayerNorm;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Per-call cost of a norm layer on recurrent input whose sequence length changes from call to call, as with
 * variable-length batches: one layer instance, forward+backward in training mode, either with 12 sequence lengths in
 * rotation or with one length repeated (the middle one), interleaved round by round, medians reported. Each layer
 * keeps compiled graphs for the input shapes it has seen (an LRU cache of 32), so the rotation should cost what one
 * length costs once every length has been seen; a cache smaller than the rotation would rebuild graphs on every call.
 *
 * <pre>
 *   ShapeRotation [ROUNDS] [N] [C]          default 15 16 32; lengths 20, 24, ..., 64
 *   mvn -B -pl bn-bench -am -DskipTests -Pbench verify -Dbench.main=org.bn4j.bench.ShapeRotation -Dbench.args="15"
 * </pre>
 * Threads come from the environment (OMP_NUM_THREADS; the bench profile sets 2); the output states them and the load.
 */
public final class ShapeRotation {

    private ShapeRotation() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 16, c = args.length > 2 ? Integer.parseInt(args[2]) : 32;
        int[] lengths = new int[12];
        for (int i = 0; i < lengths.length; i++) lengths[i] = 20 + 4 * i;
        System.out.printf(Locale.ROOT, "threads: OMP_NUM_THREADS=%s, executor %s; load average at start %s%n",
                System.getenv("OMP_NUM_THREADS"), System.getProperty("bn4j.exec", "default"), CoreProfile.loadAverage());
        Map<String, Supplier<org.deeplearning4j.nn.conf.layers.Layer>> layers = new LinkedHashMap<>();
        layers.put("BatchNorm", () -> new BatchNorm.Builder().build());
        layers.put("LayerNorm", () -> new LayerNorm.Builder().build());
        Map<String, Runnable[]> cases = new LinkedHashMap<>();
        layers.forEach((name, conf) -> cases.put(name, new Runnable[]{new Calls(conf, n, c, lengths)::next,
                new Calls(conf, n, c, new int[]{lengths[lengths.length / 2]})::next}));
        System.out.printf(Locale.ROOT, "%n== NCW [%d, %d, T] float32, forward+backward per call (%d rounds of 60 calls, interleaved)%n",
                n, c, rounds);
        CoreProfile.pairs(cases, "12 lengths", "1 length", rounds, 60);
        System.out.printf(Locale.ROOT, "load average at end %s%n", CoreProfile.loadAverage());
    }

    /** One layer of a one-layer network, called with its inputs in turn. */
    private static final class Calls {
        private final Layer layer;
        private final INDArray[] x, eps;
        private int i;

        Calls(Supplier<org.deeplearning4j.nn.conf.layers.Layer> conf, int n, int c, int[] lengths) {
            MultiLayerConfiguration mc = new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.FLOAT)
                    .updater(new NoOp()).list().layer(conf.get())
                    .setInputType(InputType.recurrent(c, RNNFormat.NCW)).build();
            MultiLayerNetwork net = new MultiLayerNetwork(mc);
            net.init();
            net.initGradientsView();
            layer = net.getLayer(0);
            Nd4j.getRandom().setSeed(42);
            x = new INDArray[lengths.length];
            eps = new INDArray[lengths.length];
            for (int k = 0; k < lengths.length; k++) {
                x[k] = Nd4j.randn(DataType.FLOAT, n, c, lengths[k]);
                eps[k] = Nd4j.randn(DataType.FLOAT, n, c, lengths[k]);
            }
        }

        void next() {
            int k = i++ % x.length;
            LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
            layer.activate(x[k], true, mgr);
            layer.backpropGradient(eps[k], mgr);
        }
    }
}
