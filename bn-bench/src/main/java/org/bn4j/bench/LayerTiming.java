package org.bn4j.bench;

import org.bn4j.exec.CompiledGraph;
import org.bn4j.layers.BatchNorm;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Forward and forward+backward of bn4j's BatchNorm, DL4J's built-in BatchNormalization and PyTorch's batch norm,
 * outside JMH: all of one shape in one JVM, interleaved round by round, medians reported. The DL4J-API layers run
 * twice: with activations and gradients in workspaces, the way {@code MultiLayerNetwork.fit} runs layers (and the
 * bench), and without ({@code LayerWorkspaceMgr.noWorkspaces()}: every output is a fresh detached array). Only public bn4j API is used, so the same class times older versions of the library.
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

    static void layers(Shape shape, int rounds) {
        Map<String, Runnable> jobs = new LinkedHashMap<>();
        for (boolean ws : new boolean[]{false, true}) {
            String w = ws ? "ws" : "no-ws";
            for (CompiledGraph.Path path : new CompiledGraph.Path[]{CompiledGraph.Path.FUSED, CompiledGraph.Path.UNFUSED}) {
                Dl4jLayerKernel bn4j = new Dl4jLayerKernel(() -> new BatchNorm.Builder().build(), shape, false, ws);
                String name = "bn4j-" + path.name().toLowerCase(Locale.ROOT) + " " + w;
                jobs.put(name + " fwd", () -> CompiledGraph.withPath(path, bn4j::fwd));
                jobs.put(name + " fwdbwd", () -> CompiledGraph.withPath(path, bn4j::fwdbwd));
            }
            if (shape.rank() != 3) {   // DL4J's layer mis-handles NCW input (see Dl4jLayerKernel)
                Dl4jLayerKernel dl4j = new Dl4jLayerKernel(() -> new BatchNormalization.Builder().build(), shape, false, ws);
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
