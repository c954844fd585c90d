package org.bn4j.bench;

import org.bn4j.convert.FoldResult;
import org.bn4j.convert.NormConverter;
import org.bn4j.convert.NormFactory;
import org.bn4j.convert.NormFolder;
import org.bn4j.convert.NormSelector;
import org.bn4j.layers.BatchNorm;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.model.Darknet19;
import org.deeplearning4j.zoo.model.ResNet50;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Inference time of zoo CNNs before and after folding batch norm into the convolutions ({@link NormFolder}): each
 * network with DL4J's BatchNormalization, the same converted to bn4j's BatchNorm, and both folded, all in one JVM,
 * interleaved round by round (float32, {@code outputSingle}, DL4J's inference workspaces). Before timing, each network
 * takes a few DL4J training steps on random data, so that its running statistics are not the initial ones. The last
 * column is the largest relative difference (max |a − b| / max |b|) to the DL4J network over the activations of every
 * layer both networks have (a layer with a folded batch norm in it excepted), so it is not hidden by a saturated
 * softmax.
 *
 * <pre>
 *   FoldBench [ROUNDS] [NET:SIZE:BATCH ...]        NET: darknet19 or resnet50; default 15 darknet19:64:16 resnet50:192:8
 *   mvn -B -pl bn-bench -am -DskipTests -Pbench verify -Dbench.main=org.bn4j.bench.FoldBench -Dbench.args="15 darknet19:64:16"
 * </pre>
 * Threads come from the environment (OMP_NUM_THREADS; the bench profile sets 2); the output states them and the load.
 */
public final class FoldBench {

    private FoldBench() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        List<String> nets = args.length > 1 ? Arrays.asList(args).subList(1, args.length)
                : List.of("darknet19:64:16", "resnet50:192:8");
        System.out.printf(Locale.ROOT, "threads: OMP_NUM_THREADS=%s; load average at start %s%n",
                System.getenv("OMP_NUM_THREADS"), CoreProfile.loadAverage());
        for (String n : nets) run(n, rounds);
        System.out.printf(Locale.ROOT, "load average at end %s%n", CoreProfile.loadAverage());
    }

    static void run(String spec, int rounds) {
        String[] p = spec.split(":");
        if (p.length != 3) throw new IllegalArgumentException("expected NET:SIZE:BATCH, got '" + spec + "'");
        String name = p[0];
        int size = Integer.parseInt(p[1]), batch = Integer.parseInt(p[2]);
        int[] shape = {3, size, size};
        ComputationGraphConfiguration conf = switch (name) {
            case "darknet19" -> Darknet19.builder().numClasses(10).inputShape(shape).build().conf();
            case "resnet50" -> ResNet50.builder().numClasses(10).inputShape(shape).build().graphBuilder().build();
            default -> throw new IllegalArgumentException("NET: expected darknet19 or resnet50, got '" + name + "'");
        };
        ComputationGraph dl4j = new ComputationGraph(conf);
        dl4j.init();
        Nd4j.getRandom().setSeed(1);
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, 3, size, size).subi(0.5);
        INDArray y = Nd4j.zeros(DataType.FLOAT, batch, 10);
        for (int i = 0; i < batch; i++) y.putScalar(i, i % 10, 1);
        for (int i = 0; i < 3; i++) dl4j.fit(new INDArray[]{x}, new INDArray[]{y});

        ComputationGraph bn4j = new NormConverter(NormSelector.all(), NormFactory.bn4j(BatchNorm.Builder::new)).convert(dl4j);
        FoldResult<ComputationGraph> dl4jFolded = NormFolder.fold(dl4j), bn4jFolded = NormFolder.fold(bn4j);
        Map<String, ComputationGraph> variants = new LinkedHashMap<>();
        variants.put("DL4J BatchNormalization", dl4j);
        variants.put("DL4J, folded", dl4jFolded.network());
        variants.put("bn4j BatchNorm", bn4j);
        variants.put("bn4j, folded", bn4jFolded.network());

        Map<String, INDArray> reference = dl4j.feedForward(x, false);
        java.util.Set<String> changed = new java.util.HashSet<>();   // layers that now include a folded batch norm
        dl4jFolded.folded().forEach(f -> changed.add(f.into()));
        Map<String, Runnable> jobs = new LinkedHashMap<>();
        variants.forEach((k, net) -> jobs.put(k, () -> net.outputSingle(x)));
        System.out.printf(Locale.ROOT, "%n== %s %d×%d, batch %d, float32: %d batch norms folded (%d kept); %d rounds,"
                        + " interleaved; per call%n", name, size, size, batch, dl4jFolded.folded().size(),
                dl4jFolded.kept().size(), rounds);
        Map<String, double[]> t = CoreProfile.times(jobs, rounds, 1);
        double base = CoreProfile.median(t.get("DL4J BatchNormalization"));
        System.out.printf(Locale.ROOT, "   %-24s %10s %10s %14s %16s%n", "", "median ms", "p10 ms", "vs DL4J", "diff vs DL4J");
        variants.forEach((k, net) -> {
            double[] v = t.get(k);
            double diff = 0;
            for (Map.Entry<String, INDArray> a : net.feedForward(x, false).entrySet()) {
                INDArray r = reference.get(a.getKey());
                if (r == null || changed.contains(a.getKey())) continue;
                diff = Math.max(diff, a.getValue().castTo(DataType.DOUBLE).sub(r.castTo(DataType.DOUBLE)).amaxNumber().doubleValue()
                        / r.amaxNumber().doubleValue());
            }
            System.out.printf(Locale.ROOT, "   %-24s %10.1f %10.1f %13.2f× %16.2g%n", k, CoreProfile.median(v),
                    CoreProfile.quantile(v, 0.1), base / CoreProfile.median(v), diff);
        });
    }
}
