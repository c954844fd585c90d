package org.bn4j.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.File;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bn4j networks trained by DL4J's Spark parameter averaging on a real {@code local[2]} master, checked against
 * training in one process: parameters, running statistics and (through Adam) the updater state.
 */
class SparkTrainingTest {
    private static final int BATCH = 16;
    private static JavaSparkContext sc;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void start() {
        sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("bn-spark-test")
                .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.ui.enabled", "false"));
    }

    @AfterAll
    static void stop() {
        if (sc != null) sc.stop();
    }

    /** Every case as a MultiLayerNetwork; the dense control and two bn4j cases as a ComputationGraph. */
    static Stream<Arguments> cases() {
        Stream<Arguments> mln = NetCases.all().stream().map(c -> Arguments.of(c, false));
        Stream<Arguments> graph = Stream.of("Dense(no normalization)", "BatchNorm", "WeightNormConv2D+BatchNorm(CNN)")
                .map(n -> Arguments.of(NetCases.named(n), true));
        return Stream.concat(mln, graph);
    }

    /**
     * Parameter averaging with the updater state averaged too ({@code saveUpdater}, off by default in DL4J).
     * {@code approach}: Export (DL4J's default) or Direct.
     */
    private static ParameterAveragingTrainingMaster master(int workers, int averagingFrequency, RDDTrainingApproach approach) {
        return new ParameterAveragingTrainingMaster.Builder(workers, BATCH).batchSizePerWorker(BATCH)
                .averagingFrequency(averagingFrequency).saveUpdater(true).workerPrefetchNumBatches(0)
                .rddTrainingApproach(approach).exportDirectory(tmp.resolve("export").toUri().toString())
                .rngSeed(12345).trainingHooks(new RecordingHook()).build();
    }

    /**
     * One worker, parameters averaged after every step: the same as training in one process on the minibatches
     * in the order the worker saw them.
     *
     * <p>Direct, from an RDD of one partition: DL4J deals each partition's objects round-robin, in a shuffled order,
     * over the splits (one split per averaging), so one partition of four objects gives each of the four splits one.
     * The Export approach writes the objects to files and splits the listing of those in more partitions, so a split
     * can get two objects and another none, and a worker trains on only as many objects per split as it is
     * configured for: the extra one is skipped (DL4J 1.0.0-M2's {@code SplitPartitionsFunction},
     * {@code ExecuteWorkerPathFlatMap}). That changes which batches are trained on, not how.
     */
    @ParameterizedTest(name = "{0}, graph={1}")
    @MethodSource("cases")
    void oneWorkerAveragingEveryStepEqualsSingleProcess(NetCases.NetCase c, boolean graph) {
        Net net = Net.of(c, graph);
        Net single = net.copy();
        RecordingHook.clear();
        net.fitOnSpark(sc, master(1, 1, RDDTrainingApproach.Direct), sc.parallelize(c.data(4, BATCH, 1), 1));

        List<RecordingHook.Step> steps = RecordingHook.steps();
        assertEquals(4, steps.size(), "steps on the worker");
        for (RecordingHook.Step s : steps) single.fit(s.batch());
        double d = Params.assertClose(c + " one worker vs one process", single.model().paramTable(),
                net.model().paramTable(), Params.FLOAT_TOL);
        System.out.printf("%s graph=%s: one worker vs one process, largest difference %.3g%n", c, graph, d);
    }

    /**
     * Two workers, two steps each, one averaging: the model is the average of the workers' parameters, running
     * statistics included; each worker's statistics are those of its own batches (one-process training on them);
     * the trained model saves and loads on one machine.
     */
    @ParameterizedTest(name = "{0}, graph={1}")
    @MethodSource("cases")
    void twoWorkersAverageTheirParametersAndRunningStatistics(NetCases.NetCase c, boolean graph) throws Exception {
        Net net = Net.of(c, graph);
        Net start = net.copy();
        RecordingHook.clear();
        net.fitOnSpark(sc, master(2, 2, RDDTrainingApproach.Export), sc.parallelize(c.data(4, BATCH, 2), 2));

        List<List<RecordingHook.Step>> workers = RecordingHook.byWorker();
        assertEquals(2, workers.size(), "workers");
        INDArray sum = null;
        for (List<RecordingHook.Step> w : workers) {
            assertEquals(2, w.size(), "steps per worker");
            Net alone = start.copy();
            w.forEach(s -> alone.fit(s.batch()));
            Params.assertClose(c + " worker vs one process on its batches", alone.model().paramTable(),
                    net.paramTable(w.get(1).paramsAfter()), Params.FLOAT_TOL);
            INDArray last = w.get(1).paramsAfter();
            sum = sum == null ? last.dup() : sum.addi(last);
        }
        Map<String, INDArray> average = net.paramTable(sum.divi(2));
        Map<String, INDArray> model = net.model().paramTable();
        Map<String, INDArray> w0 = net.paramTable(workers.get(0).get(1).paramsAfter());
        Map<String, INDArray> w1 = net.paramTable(workers.get(1).get(1).paramsAfter());
        for (String k : Params.runningStatistics(model)) {
            assertTrue(Params.maxAbsDiff(w0.get(k), w1.get(k)) > 1e-3,
                    c + ": the workers' running statistics " + k + " should differ (else the average proves nothing)");
            double d = Params.maxAbsDiff(average.get(k), model.get(k));
            assertTrue(d <= Params.FLOAT_TOL, c + ": running statistic " + k + " is not the workers' average: differs by "
                    + d + "\n average " + average.get(k) + "\n model   " + model.get(k));
        }
        double d = Params.assertClose(c + " model vs average of the workers", average, model, Params.FLOAT_TOL);
        System.out.printf("%s graph=%s: two workers, model vs their average, largest difference %.3g%n", c, graph, d);

        File file = tmp.resolve(c.name().replaceAll("\\W", "_") + "-" + graph + ".zip").toFile();
        net.save(file);
        Net loaded = net.restore(file);
        for (Map.Entry<String, INDArray> e : net.model().paramTable().entrySet()) {
            assertArrayEquals(e.getValue().ravel().toFloatVector(),
                    loaded.model().paramTable().get(e.getKey()).ravel().toFloatVector(), 0f, "loaded parameter " + e.getKey());
        }
        INDArray x = c.data(1, 5, 3).get(0).getFeatures();
        assertArrayEquals(net.output(x).ravel().toFloatVector(), loaded.output(x).ravel().toFloatVector(), 0f, "loaded model's output");
    }
}
