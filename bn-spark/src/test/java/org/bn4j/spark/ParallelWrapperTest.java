package org.bn4j.spark;

import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.MultiLayerUpdater;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.parallelism.ParallelWrapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bn4j networks under DL4J's {@link ParallelWrapper} with 2 workers on one machine, averaging parameters and updater
 * state after every round. A listener records, at the start of each worker step, the worker's parameters, updater
 * state, iteration count and batch. Each step is replayed in one process from that start; the average of a round's
 * two replays must be where both workers start the next round, and the final model, running statistics included.
 *
 * <p>The start is recorded rather than assumed: ParallelWrapper's second worker copies the model when its thread
 * starts, and in a cold JVM that was seen to happen after the first worker's first step (it then starts at iteration
 * 1 from the stepped parameters; a network of plain dense layers showed it too).
 */
class ParallelWrapperTest {
    private static final int BATCH = 16, ROUNDS = 3, WORKERS = 2;

    /** One worker step as it started. */
    private record Start(INDArray params, INDArray updaterState, int iteration, DataSet batch) {
    }

    /** Records each worker's step starts, workers in order of their first step. */
    private static final class StartRecorder extends BaseTrainingListener {
        final Map<Model, List<Start>> byWorker = new IdentityHashMap<>();
        final List<List<Start>> workers = new ArrayList<>();

        @Override
        public synchronized void onForwardPass(Model model, List<INDArray> activations) {
            MultiLayerNetwork n = (MultiLayerNetwork) model;
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                Start s = new Start(n.params().dup(), n.getUpdater().getStateViewArray().dup(), n.getIterationCount(),
                        new DataSet(n.getInput().dup(), n.getLabels().dup()));
                byWorker.computeIfAbsent(model, m -> {
                    List<Start> l = new ArrayList<>();
                    workers.add(l);
                    return l;
                }).add(s);
            }
        }
    }

    static List<NetCases.NetCase> cases() {
        return NetCases.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void twoWorkersTrainAndAverage(NetCases.NetCase c) throws Exception {
        MultiLayerNetwork net = new MultiLayerNetwork(c.mln());
        net.init();
        StartRecorder rec = new StartRecorder();
        try (ParallelWrapper pw = new ParallelWrapper.Builder<>(net).workers(WORKERS).averagingFrequency(1)
                .averageUpdaters(true).prefetchBuffer(2).build()) {
            pw.setListeners(rec);
            pw.fit(new ExistingDataSetIterator(c.data(ROUNDS * WORKERS, BATCH, 5)));
        }

        assertEquals(WORKERS, rec.workers.size(), "workers");
        rec.workers.forEach(w -> assertEquals(ROUNDS, w.size(), "steps per worker"));
        double worst = 0;
        for (int r = 0; r < ROUNDS; r++) {
            List<MultiLayerNetwork> replays = new ArrayList<>();
            for (List<Start> w : rec.workers) replays.add(replay(net, w.get(r)));
            Map<String, INDArray> t0 = replays.get(0).paramTable(), t1 = replays.get(1).paramTable();
            for (String k : Params.runningStatistics(t0)) {
                assertTrue(Params.maxAbsDiff(t0.get(k), t1.get(k)) > 1e-4,
                        c + ": the workers' running statistics " + k + " should differ (else the average proves nothing)");
            }
            INDArray average = replays.get(0).params().add(replays.get(1).params()).divi(WORKERS);
            List<INDArray> next = new ArrayList<>();
            if (r + 1 < ROUNDS) for (List<Start> w : rec.workers) next.add(w.get(r + 1).params());
            else next.add(net.params());
            for (INDArray actual : next) {
                worst = Math.max(worst, Params.assertClose(c + " round " + r + ": model vs average of the workers",
                        table(net, average), table(net, actual), Params.FLOAT_TOL));
            }
        }
        System.out.printf("%s: ParallelWrapper vs the average of the workers' steps replayed, largest difference %.3g"
                + " (first-round start iterations %d, %d)%n", c, worst, rec.workers.get(0).get(0).iteration(),
                rec.workers.get(1).get(0).iteration());
    }

    /** One training step in one process from a recorded start. */
    private static MultiLayerNetwork replay(MultiLayerNetwork template, Start s) {
        MultiLayerNetwork n = new MultiLayerNetwork(template.getLayerWiseConfigurations().clone());
        n.getLayerWiseConfigurations().setIterationCount(s.iteration());
        n.init(s.params().dup(), true);
        n.setUpdater(new MultiLayerUpdater(n, s.updaterState().dup()));
        n.fit(s.batch());
        return n;
    }

    private static Map<String, INDArray> table(MultiLayerNetwork template, INDArray flat) {
        MultiLayerNetwork n = new MultiLayerNetwork(template.getLayerWiseConfigurations().clone());
        n.init(flat.dup(), true);
        return n.paramTable();
    }
}
