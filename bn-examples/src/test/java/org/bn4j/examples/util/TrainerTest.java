package org.bn4j.examples.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.bn4j.examples.nets.Mlp;
import org.bn4j.examples.nets.Variant;
import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

class TrainerTest {

    private static DataSet data(int n, long seed) {
        Random rng = Nd4j.getRandomFactory().getNewRandomInstance(seed);
        INDArray x = Nd4j.randn(Nd4j.createUninitialized(DataType.FLOAT, n, 20), rng);
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, 3);
        for (int i = 0; i < n; i++) {
            y.putScalar(i, x.getDouble(i, 0) > 0 ? 0 : x.getDouble(i, 1) > 0 ? 1 : 2, 1);
        }
        return new DataSet(x, y);
    }

    private static MultiLayerNetwork net(double lr) {
        return Mlp.build(20, new int[] {16}, 3, Variant.of("none", 1), Activation.RELU, new Sgd(lr), 1);
    }

    @Test
    void trainsEvaluatesAndLogsEveryStep() {
        DataSet d = data(320, 1);
        MultiLayerNetwork net = net(0.1);
        Trainer.Result r = new Trainer("t", net, new ExistingDataSetIterator(d.batchBy(32)), 10).progress(false)
                .evaluate(null, d).run(3);
        assertFalse(r.diverged());
        assertEquals(30, r.losses().length, "one loss per step");
        assertEquals(List.of(0L, 10L, 20L, 30L), r.evals().stream().map(Trainer.Eval::step).toList());
        assertTrue(r.last().testAcc() > r.evals().get(0).testAcc(), "training helps: " + r.evals());
        // DL4J's Evaluation gives the arg-max accuracy
        INDArray pred = net.output(d.getFeatures(), false).argMax(1);
        double acc = pred.eq(d.getLabels().argMax(1)).castTo(DataType.DOUBLE).meanNumber().doubleValue();
        assertEquals(acc, Trainer.accuracyAndLoss(net, d)[0], 1e-12);
        assertEquals(net.score(d, false), Trainer.accuracyAndLoss(net, d)[1], 1e-6);
    }

    @Test
    void aDivergedRunStopsAtTheFirstNonFiniteLoss() {
        DataSet d = data(320, 2);
        Trainer.Result r = new Trainer("t", net(1e3), new ExistingDataSetIterator(d.batchBy(32)), 10).progress(false)
                .log(new java.io.PrintStream(java.io.OutputStream.nullOutputStream())).evaluate(null, d).run(5);
        assertTrue(r.diverged());
        double[] l = r.losses();
        assertFalse(Double.isFinite(l[l.length - 1]), "the last step is the one that diverged");
        for (int i = 0; i < l.length - 1; i++) {
            assertTrue(Double.isFinite(l[i]), "no step after the first non-finite loss: step " + (i + 1) + " of " + l.length);
        }
        assertEquals(1, r.evals().size(), "no evaluation after the divergence");
        assertEquals(Double.POSITIVE_INFINITY, r.meanLossLast(5));
    }

    @Test
    void aStepThatLeavesNonFiniteWeightsIsDivergenceNotACrash() {
        // layer norm at lr 1e30: a step's loss is finite, its update is not; the next step's layer norm then rejects its
        // non-finite input with an exception, which the trainer takes as the divergence it is
        DataSet d = data(320, 3);
        MultiLayerNetwork net = Mlp.build(20, new int[] {16}, 3, Variant.of("ln", 1), Activation.RELU, new Sgd(1e30), 1);
        Trainer.Result r = new Trainer("t", net, new ExistingDataSetIterator(d.batchBy(32)), 10).progress(false)
                .log(new java.io.PrintStream(java.io.OutputStream.nullOutputStream())).evaluate(null, d).run(3);
        assertTrue(r.diverged());
        assertEquals(1, r.evals().size(), "no evaluation after the divergence");
    }
}
