package org.bn4j.layers;

import org.bn4j.check.CheckNets;
import org.bn4j.check.Exact;
import org.bn4j.check.InputKind;
import org.bn4j.check.Reference;
import org.bn4j.reference.Ref;
import org.bn4j.reference.RefModel;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.bn4j.check.Exact.assertClose;
import static org.bn4j.check.Exact.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The running statistics of every case with them follow the documented rule after each of four optimizer steps,
 * computed here from the reference's batch statistics: exponential or cumulative average, unbiased variance for centred
 * statistics, ghost batches in order, instance norm's samples averaged, groups with too few values left out, frozen
 * statistics never moving. Forward passes (training or inference) change nothing.
 */
class RunningStatisticsTest {

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @TestFactory
    Stream<DynamicTest> runningStatisticsFollowTheRule() {
        return Stream.concat(Registry.layers().stream(), Registry.product().stream())
                .filter(c -> c.layer().get().hasRunningStats())
                .flatMap(c -> c.kinds().stream()
                        .filter(k -> k == InputKind.FF || k == InputKind.CNN_NHWC || k == InputKind.RNN_NCW)
                        .map(k -> DynamicTest.dynamicTest(c.name() + " / " + k + (k.isRnn() ? "+mask" : ""), () -> follow(c, k))));
    }

    /** The running statistics' gradients are zero after every backward, whatever their views held before. */
    @TestFactory
    Stream<DynamicTest> statisticsGetZeroGradients() {
        return Stream.concat(Registry.layers().stream(), Registry.product().stream())
                .filter(c -> c.layer().get().hasRunningStats())
                .map(c -> DynamicTest.dynamicTest(c.name(), () -> {
                    InputKind k = c.kinds().get(0);
                    MultiLayerNetwork net = CheckNets.mln(c.layer(), k, Registry.SMALL, new Sgd(0.1), false, 21);
                    DataSet ds = CheckNets.dataSet(k, Registry.SMALL, false, Registry.SMALL.batch(), 5);
                    net.initGradientsView();
                    net.getGradientsViewArray().assign(7);
                    net.setInput(ds.getFeatures());
                    net.setLabels(ds.getLabels());
                    net.computeGradientAndScore();
                    int checked = 0;
                    for (String key : List.of("mean", "var", "steps")) {
                        INDArray g = net.gradient().getGradientFor("0_" + key);
                        if (g == null) continue;
                        Exact.assertSame(Nd4j.zerosLike(g), g, c.name() + ": gradient of " + key);
                        checked++;
                    }
                    assertTrue(checked > 0, c.name() + ": no gradient of the running statistics");
                }));
    }

    private static void follow(Registry.Case c, InputKind k) {
        AbstractNormLayer conf = c.layer().get();
        MultiLayerNetwork net = CheckNets.mln(c.layer(), k, Registry.SMALL, new Sgd(0.1), false, 21);
        Layer layer = net.getLayer(0);
        RefModel model = new RefModel(conf, c.axes(), c.groups());
        double[] mean = conf.isCenter() ? values(layer.getParam("mean")) : null, var = values(layer.getParam("var"));
        long steps = 0;
        for (int step = 0; step < 4; step++) {
            DataSet ds = CheckNets.dataSet(k, Registry.SMALL, k.isRnn(), Registry.SMALL.batch(), 300 + step);
            Map<String, double[]> params = new java.util.LinkedHashMap<>();
            layer.paramTable().forEach((key, v) -> params.put(key, values(v)));
            List<Ref.Fwd> stats = model.batchStatistics(new Reference.Input(k, values(ds.getFeatures()),
                    ds.getFeatures().shape(), ds.getFeaturesMaskArray() == null ? null : values(ds.getFeaturesMaskArray()),
                    params, true, null, layer));
            net.fit(ds);
            if (!conf.isFrozenStatistics()) steps = RefModel.updateRunning(conf, model.minCount(), mean, var, steps, stats);
            String what = c.name() + "/" + k + " after step " + step;
            if (mean != null) assertClose(mean, values(layer.getParam("mean")), 1e-10, what + ": running mean");
            assertClose(var, values(layer.getParam("var")), 1e-10, what + ": running variance");
            if (conf.countsSteps()) assertEquals(steps, Math.round(layer.getParam("steps").getDouble(0)), what + ": steps");
        }
        INDArray before = net.params().dup();
        INDArray x = CheckNets.input(k, Registry.SMALL, Registry.SMALL.batch(), 77);
        INDArray mask = k.isRnn() ? CheckNets.mask(Registry.SMALL, Registry.SMALL.batch()) : null;
        net.output(x, false, mask, mask);
        net.output(x, true, mask, mask);
        Exact.assertSame(before, net.params(), c.name() + ": a forward pass changed the parameters");
    }

}
