package org.bn4j.examples.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.bn4j.examples.nets.Variant;
import org.bn4j.examples.nets.VggMini;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Sgd;

class ProbeTest {

    private static final VggMini.Size SMALL = new VggMini.Size(14, 4, 8, 16);

    private static DataSet batch(long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.randn(DataType.FLOAT, 16, 1, 14, 14);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 16, 10);
        for (int i = 0; i < 16; i++) {
            y.putScalar(i, i % 10, 1);
        }
        return new DataSet(x, y);
    }

    /** The probed gradient is exactly what the next SGD step applies, noise included, and probing changes nothing. */
    @Test
    void gradientIsTheSgdStepEvenWithNoise() {
        for (String v : List.of("none", "bn", "noisy")) {
            MultiLayerNetwork net = VggMini.build(Variant.of(v, 3), new Sgd(0.1), 3, SMALL);
            DataSet b = batch(1);
            net.fit(b); // step 0; the probe is at iteration 1
            INDArray p0 = net.params().dup();
            Probe probe = new Probe(net);
            Probe.Eval e = probe.gradient(b);
            probe.landscape(b, new double[] {0.05, 0.4});
            probe.ics(b, 0.1, List.of("conv2", "out"));
            assertEquals(p0, net.params(), v + ": parameters and running statistics restored");
            assertEquals(1, net.getIterationCount());
            net.fit(b);
            INDArray step = p0.sub(net.params());
            INDArray expected = e.grad().mul(0.1);
            INDArray trained = expected.neq(0).castTo(DataType.FLOAT); // running statistics move on their own
            double err = step.mul(trained).sub(expected).norm2Number().doubleValue() / expected.norm2Number().doubleValue();
            assertTrue(err < 1e-4, v + ": relative difference between SGD step and lr*gradient " + err);
        }
    }

    @Test
    void icsOfTheFirstLayerIsZeroAndWeightRangesMatchTheParamTable() {
        MultiLayerNetwork net = VggMini.build(Variant.of("bn", 3), new Sgd(0.1), 3, SMALL);
        Probe p = new Probe(net);
        List<Probe.Ics> ics = p.ics(batch(2), 0.1, List.of("conv1", "conv3"));
        assertEquals(0.0, ics.get(0).diffNorm(), 0.0, "nothing before conv1 moves");
        assertEquals(1.0, ics.get(0).cosine(), 1e-6);
        assertTrue(ics.get(1).diffNorm() > 0, "conv3 sees the update of conv1, conv2 and their norm layers");
        for (String name : VggMini.WEIGHT_LAYERS) {
            int i = p.indexOf(name);
            long[] r = p.weightRange(i);
            INDArray w = net.getParam(i + "_W");
            // the parameter is a view of the flattened vector in its own order (dense 'f', convolution 'c')
            assertEquals(w.reshape(w.ordering(), new long[] {w.length()}), net.params().get(NDArrayIndex.interval(r[0], r[1])), name);
        }
    }

    @Test
    void landscapeAtZeroStepIsTheCurrentLoss() {
        MultiLayerNetwork net = VggMini.build(Variant.of("ln", 3), new Sgd(0.1), 3, SMALL);
        Probe.Landscape l = new Probe(net).landscape(batch(4), new double[] {1e-9, 0.1});
        assertEquals(l.loss0(), l.points().get(0).loss(), 1e-4);
        assertEquals(0.0, l.points().get(0).gradDiff(), 1e-3);
        assertTrue(l.points().get(1).loss() < l.loss0(), "a small gradient step lowers the loss on the same batch");
    }
}
