package org.bn4j.bench;

import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.LayerNorm;
import org.bn4j.runtime.NormLayerImpl;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
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
 * What the refusal of non-finite batch statistics costs: one layer's training forward+backward with the check and
 * without it (system property {@value NormLayerImpl#NO_FINITE_CHECK}), interleaved round by round in one JVM, medians
 * and the ratio reported. The check reads the per-feature (per-row for layer norm) statistics the forward computed, not
 * the input.
 *
 * <pre>
 *   FiniteCheckCost [ROUNDS]                default 15
 *   mvn -B -pl bn-bench -am -DskipTests -Pbench verify -Dbench.main=org.bn4j.bench.FiniteCheckCost -Dbench.args="15"
 * </pre>
 * Threads come from the environment (OMP_NUM_THREADS; the bench profile sets 2); the output states them and the load.
 */
public final class FiniteCheckCost {

    private FiniteCheckCost() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        System.out.printf(Locale.ROOT, "threads: OMP_NUM_THREADS=%s, executor %s; load average at start %s%n",
                System.getenv("OMP_NUM_THREADS"), System.getProperty("bn4j.exec", "default"), CoreProfile.loadAverage());
        Map<String, Call> cases = new LinkedHashMap<>();
        cases.put("BatchNorm [256,1024]", new Call(() -> new BatchNorm.Builder().build(), 256, 1024));
        cases.put("BatchNorm [4096,1024]", new Call(() -> new BatchNorm.Builder().build(), 4096, 1024));
        cases.put("LayerNorm [4096,1024]", new Call(() -> new LayerNorm.Builder().build(), 4096, 1024));
        Map<String, Runnable[]> pairs = new LinkedHashMap<>();
        cases.forEach((name, call) -> pairs.put(name, new Runnable[]{() -> call.run(true), () -> call.run(false)}));
        System.out.printf(Locale.ROOT, "%n== float32, training forward+backward per call (%d rounds of 20 calls, interleaved)%n", rounds);
        CoreProfile.pairs(pairs, "check", "no check", rounds, 20);
        System.out.printf(Locale.ROOT, "load average at end %s%n", CoreProfile.loadAverage());
    }

    /** One layer of a one-layer network on one feed-forward input. */
    private static final class Call {
        private final Layer layer;
        private final INDArray x, eps;

        Call(Supplier<org.deeplearning4j.nn.conf.layers.Layer> conf, int n, int c) {
            MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.FLOAT)
                    .updater(new NoOp()).list().layer(conf.get()).setInputType(InputType.feedForward(c)).build());
            net.init();
            net.initGradientsView();
            layer = net.getLayer(0);
            Nd4j.getRandom().setSeed(42);
            x = Nd4j.randn(DataType.FLOAT, n, c);
            eps = Nd4j.randn(DataType.FLOAT, n, c);
        }

        void run(boolean check) {
            if (check) System.clearProperty(NormLayerImpl.NO_FINITE_CHECK);
            else System.setProperty(NormLayerImpl.NO_FINITE_CHECK, "true");
            LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
            layer.activate(x, true, mgr);
            layer.backpropGradient(eps, mgr);
        }
    }
}
