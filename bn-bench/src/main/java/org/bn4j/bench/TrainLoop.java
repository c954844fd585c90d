package org.bn4j.bench;

import org.bn4j.exec.CompiledGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The bench's training MLP ({@link TrainBench}) with several normalization layers in one JVM, one
 * {@code MultiLayerNetwork.fit} of each in turn, so that they see the same machine (the bench's JMH runs give each its
 * own JVMs, whose speed differs on this project's machine by more than the layers' share of a step).
 *
 * <pre>
 *   TrainLoop NET[,NET...] [SECONDS]      NET a name of {@link Cases#nets()}, with ":unfused" for bn4j's unfused executor
 *   mvn -B -q -pl bn-bench -DskipTests -Pbench verify -Dbench.main=org.bn4j.bench.TrainLoop \
 *       -Dbench.args="none,bn4j,bn4j:unfused,dl4j 40"
 * </pre>
 * Ten fits of each first (warm-up); then prints per network the fits made and the median and quartiles of their times.
 */
public final class TrainLoop {

    private TrainLoop() {
    }

    public static void main(String[] args) {
        if (args.length < 1) throw new IllegalArgumentException("usage: TrainLoop NET[,NET...] [SECONDS]");
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 30;
        Nd4j.getRandom().setSeed(42);
        INDArray x = Nd4j.rand(DataType.FLOAT, TrainBench.BATCH, TrainBench.IN);
        INDArray y = Nd4j.zeros(DataType.FLOAT, TrainBench.BATCH, TrainBench.CLASSES);
        for (int i = 0; i < TrainBench.BATCH; i++) y.putScalar(i, i % TrainBench.CLASSES, 1f);
        DataSet data = new DataSet(x, y);
        Map<String, Runnable> fits = new LinkedHashMap<>();
        for (String name : args[0].split(",")) {
            String net = name.replace(":unfused", "");
            if (!Cases.nets().containsKey(net)) throw new IllegalArgumentException("unknown net " + net + "; known: " + Cases.nets().keySet());
            MultiLayerNetwork model = TrainBench.build(Cases.nets().get(net));
            fits.put(name, name.endsWith(":unfused")
                    ? () -> CompiledGraph.withPath(CompiledGraph.Path.UNFUSED, () -> { model.fit(data); return null; })
                    : () -> model.fit(data));
        }
        for (Runnable f : fits.values()) for (int i = 0; i < 10; i++) f.run();
        Map<String, List<Double>> ms = new LinkedHashMap<>();
        fits.keySet().forEach(n -> ms.put(n, new ArrayList<>()));
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < end) {
            for (Map.Entry<String, Runnable> f : fits.entrySet()) {
                long t0 = System.nanoTime();
                f.getValue().run();
                ms.get(f.getKey()).add((System.nanoTime() - t0) / 1e6);
            }
        }
        System.out.printf(Locale.ROOT, "OMP_NUM_THREADS=%s, OMP_WAIT_POLICY=%s, load average at end %s%n", System.getenv("OMP_NUM_THREADS"),
                System.getenv("OMP_WAIT_POLICY"), CoreProfile.loadAverage());
        for (Map.Entry<String, List<Double>> e : ms.entrySet()) {
            List<Double> t = e.getValue();
            Collections.sort(t);
            System.out.printf(Locale.ROOT, "%s: %d fits, median %.2f ms, quartiles %.2f and %.2f%n", e.getKey(), t.size(),
                    t.get(t.size() / 2), t.get(t.size() / 4), t.get(t.size() * 3 / 4));
        }
    }
}
