package org.bn4j.bench;

import org.bn4j.layers.BatchNorm;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Forward and forward+backward of bn4j's BatchNorm, DL4J's built-in BatchNormalization and PyTorch's batch norm,
 * outside JMH: all of one shape in one JVM, interleaved round by round, medians reported. The DL4J-API layers run
 * twice: without workspaces, as the bench runs them ({@code LayerWorkspaceMgr.noWorkspaces()}: every output is a
 * fresh detached array), and with activations and gradients in workspaces, the way {@code MultiLayerNetwork.fit}
 * runs layers. Only public bn4j API is used, so the same class times older versions of the library.
 *
 * <pre>
 *   LayerTiming [ROUNDS] [SHAPE...]
 * </pre>
 * Threads come from the environment (OMP_NUM_THREADS for ND4J, -Dai.djl.pytorch.num_threads for PyTorch); run it
 * the way the bench runs (see bn-bench/pom.xml) and state them.
 */
public final class LayerTiming {

    private static final List<String> DEFAULT_SHAPES =
            List.of("256x1024", "4096x1024", "64x64x32x32", "32x128x28x28", "32x256x64");

    private LayerTiming() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        List<String> shapes = args.length > 1 ? Arrays.asList(args).subList(1, args.length) : DEFAULT_SHAPES;
        System.out.printf(Locale.ROOT, "threads: OMP_NUM_THREADS=%s, pytorch %s; load average at start %s%n",
                System.getenv("OMP_NUM_THREADS"), System.getProperty("ai.djl.pytorch.num_threads"), CoreProfile.loadAverage());
        for (String s : shapes) layers(Shape.parse(s), rounds);
        System.out.printf(Locale.ROOT, "load average at end %s%n", CoreProfile.loadAverage());
    }

    /** A DL4J-API layer with workspaces opened the way MultiLayerNetwork.fit opens them, or none. */
    static final class LayerRun {
        private static final WorkspaceConfiguration WS = WorkspaceConfiguration.builder().initialSize(0)
                .overallocationLimit(0.05).policyLearning(LearningPolicy.FIRST_LOOP).policyReset(ResetPolicy.BLOCK_LEFT)
                .policySpill(SpillPolicy.REALLOCATE).policyAllocation(AllocationPolicy.OVERALLOCATE).build();
        final Layer layer;
        final INDArray x;
        final INDArray eps;
        final LayerWorkspaceMgr mgr;
        final boolean workspaces;

        LayerRun(Supplier<org.deeplearning4j.nn.conf.layers.Layer> conf, Shape shape, boolean workspaces) {
            MultiLayerConfiguration c = new NeuralNetConfiguration.Builder().seed(12345).dataType(DataType.FLOAT)
                    .updater(new NoOp()).list().layer(conf.get())
                    .setInputType(Dl4jLayerKernel.inputType(shape)).build();
            MultiLayerNetwork net = new MultiLayerNetwork(c);
            net.init();
            net.initGradientsView();
            layer = net.getLayer(0);
            Nd4j.getRandom().setSeed(42);
            x = Nd4j.randn(DataType.FLOAT, shape.dims());
            eps = Nd4j.randn(DataType.FLOAT, shape.dims());
            this.workspaces = workspaces;
            mgr = !workspaces ? LayerWorkspaceMgr.noWorkspaces() : LayerWorkspaceMgr.builder()
                    .with(ArrayType.ACTIVATIONS, "PROBE_ACT", WS)
                    .with(ArrayType.ACTIVATION_GRAD, "PROBE_GRAD", WS)
                    .with(ArrayType.FF_WORKING_MEM, "PROBE_WORK", WS)
                    .with(ArrayType.BP_WORKING_MEM, "PROBE_WORK", WS)
                    .with(ArrayType.INPUT, "PROBE_ACT", WS)
                    .noWorkspaceFor(ArrayType.RNN_FF_LOOP_WORKING_MEM).noWorkspaceFor(ArrayType.RNN_BP_LOOP_WORKING_MEM)
                    .noWorkspaceFor(ArrayType.UPDATER_WORKING_MEM)
                    .build();
        }

        void fwd() {
            if (!workspaces) {
                layer.activate(x, true, mgr);
                return;
            }
            try (MemoryWorkspace a = mgr.notifyScopeEntered(ArrayType.ACTIVATIONS)) {
                layer.activate(x, true, mgr);
            }
        }

        void fwdbwd() {
            if (!workspaces) {
                layer.activate(x, true, mgr);
                layer.backpropGradient(eps, mgr);
                return;
            }
            try (MemoryWorkspace a = mgr.notifyScopeEntered(ArrayType.ACTIVATIONS)) {
                layer.activate(x, true, mgr);
                try (MemoryWorkspace g = mgr.notifyScopeEntered(ArrayType.ACTIVATION_GRAD)) {
                    layer.backpropGradient(eps, mgr);
                }
            }
        }
    }

    static void layers(Shape shape, int rounds) {
        Map<String, Runnable> jobs = new LinkedHashMap<>();
        for (boolean ws : new boolean[]{false, true}) {
            String w = ws ? "ws" : "no-ws";
            LayerRun bn4j = new LayerRun(() -> new BatchNorm.Builder().build(), shape, ws);
            jobs.put("bn4j " + w + " fwd", bn4j::fwd);
            jobs.put("bn4j " + w + " fwdbwd", bn4j::fwdbwd);
            if (shape.rank() != 3) {   // DL4J's layer mis-handles NCW input (see Dl4jLayerKernel)
                LayerRun dl4j = new LayerRun(() -> new BatchNormalization.Builder().build(), shape, ws);
                jobs.put("dl4j " + w + " fwd", dl4j::fwd);
                jobs.put("dl4j " + w + " fwdbwd", dl4j::fwdbwd);
            }
        }
        TorchKernel torch = new TorchKernel(TorchKernel.Op.BATCH_NORM, shape);
        jobs.put("pytorch fwd", torch::fwd);
        jobs.put("pytorch fwdbwd", torch::fwdbwd);
        System.out.printf(Locale.ROOT, "%n== batch norm %s, float32 (%d rounds, interleaved; per call: median and 10th percentile over rounds)%n", shape, rounds);
        Map<String, double[]> t = CoreProfile.times(jobs, rounds, shape.elements() > 1_000_000 ? 3 : 20);
        System.out.printf(Locale.ROOT, "   %-22s %10s %10s %12s %12s%n", "", "median ms", "p10 ms", "median/torch", "p10/torch");
        t.forEach((k, v) -> {
            double[] pt = t.get("pytorch " + (k.endsWith("fwdbwd") ? "fwdbwd" : "fwd"));
            double med = CoreProfile.median(v), p10 = CoreProfile.quantile(v, 0.1);
            System.out.printf(Locale.ROOT, "   %-22s %10.3f %10.3f %12.2f %12.2f%n", k, med, p10,
                    med / CoreProfile.median(pt), p10 / CoreProfile.quantile(pt, 0.1));
        });
        torch.close();
    }

}
