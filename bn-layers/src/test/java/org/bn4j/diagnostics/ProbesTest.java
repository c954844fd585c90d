package org.bn4j.diagnostics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;

/** The probes on networks not written for them: a MultiLayerNetwork and a ComputationGraph with a residual add. */
class ProbesTest {

    private static final double LR = 0.1;

    /** Runs every probe once. */
    private static void probeEverything(Model net, DataSet b, String dense, String later, Site site) {
        Probes.gradient(net, b);
        Probes.landscape(net, b, 0.05, 0.4);
        Probes.covariateShift(net, b, LR, dense, later);
        Probes.gradientNorms(net, b, dense, later);
        Probes.saturation(net, b, 0.9, site);
        Probes.activations(net, new ExistingDataSetIterator(List.of(b, TestNets.batch(8, 7))), site);
    }

    /**
     * After every probe the network is bit for bit what it was (parameters with running statistics, Adam's state,
     * counts, score, random generator), and its next training step gives bit for bit the same parameters as that of
     * an unprobed copy.
     */
    @Test
    void everyProbeRestoresTheNetworkExactly() {
        for (boolean graph : new boolean[] {false, true}) {
            Model net = graph ? TestNets.graph(new Adam(1e-2), 5) : TestNets.mlp(new Adam(1e-2), 5);
            DataSet b = TestNets.batch(16, 1);
            fit(net, b);
            fit(net, TestNets.batch(16, 2));
            Model twin = copy(net);
            NetworkState before = NetworkState.capture(net);
            probeEverything(net, b, graph ? "d2" : "fc2", graph ? "out" : "fc3", Site.input(graph ? "a2" : "act2"));
            NetworkState after = NetworkState.capture(net);
            assertTrue(before.identicalTo(after), (graph ? "graph" : "mlp") + ": changed " + after.differencesFrom(before));
            DataSet next = TestNets.batch(16, 3);
            fit(net, next);
            fit(twin, next);
            assertTrue(NetworkState.capture(net).identicalTo(NetworkState.capture(twin)),
                    (graph ? "graph" : "mlp") + ": the next step differs from the unprobed copy's: "
                            + NetworkState.capture(net).differencesFrom(NetworkState.capture(twin)));
        }
    }

    /** The probed gradient is what plain SGD applies: the next step moves every trained parameter by exactly −lr·g. */
    @Test
    void gradientIsTheSgdStep() {
        for (boolean graph : new boolean[] {false, true}) {
            Model net = graph ? TestNets.graph(new Sgd(LR), 5) : TestNets.mlp(new Sgd(LR), 5);
            DataSet b = TestNets.batch(16, 1);
            fit(net, TestNets.batch(16, 2));
            LossGradient g = Probes.gradient(net, b);
            INDArray w0 = net.params().dup();
            fit(net, b);
            INDArray step = w0.sub(net.params());
            NetAccess n = NetAccess.of(net);
            int state = 0;
            for (NetAccess.Param p : n.paramList()) {
                INDArray expected = p.in(g.gradient()).mul(LR);
                if (!p.trainable()) {
                    state++;
                    assertEquals(0.0, p.in(g.gradient()).amaxNumber().doubleValue(), 0.0, p.layer() + " " + p.name());
                    continue;
                }
                // float32: w0 − w1 cancels digits where the step is small against the weight
                double err = p.in(step).sub(expected).norm2Number().doubleValue() / expected.norm2Number().doubleValue();
                assertTrue(err < 1e-4, (graph ? "graph " : "mlp ") + p.layer() + " " + p.name() + ": relative error " + err);
            }
            assertTrue(state >= 4, "running statistics (mean, var of two norm layers) count as untrained: " + state);
        }
    }

    /** Parameter offsets: each parameter's part of the flattened vector is that parameter. */
    @Test
    void parameterLayoutMatchesTheParamTable() {
        for (Model net : List.of(TestNets.mlp(new Sgd(LR), 3), TestNets.graph(new Sgd(LR), 3))) {
            NetAccess n = NetAccess.of(net);
            for (NetAccess.Param p : n.paramList()) {
                INDArray v = n.layer(p.layer()).getParam(p.name());
                assertTrue(v.reshape(v.ordering(), new long[] {v.length()}).equalsWithEps(p.in(net.params()).reshape(p.length()), 0),
                        p.layer() + " " + p.name());
            }
        }
    }

    @Test
    void covariateShiftFollowsTheGraph() {
        MultiLayerNetwork mlp = TestNets.mlp(new Sgd(LR), 3);
        DataSet b = TestNets.batch(16, 4);
        List<CovariateShift> m = Probes.covariateShift(mlp, b, LR, "fc1", "fc3");
        assertEquals(0.0, m.get(0).diffNorm(), 0.0, "nothing before the first layer moves");
        assertEquals(1.0, m.get(0).cosine(), 1e-6);
        assertTrue(m.get(1).diffNorm() > 0, "fc3 sees the steps of every layer before it");
        // in the graph, d2's only ancestors are d1, n1, a1; 'out' reads the residual sum, so it sees d1..n2
        ComputationGraph g = TestNets.graph(new Sgd(LR), 3);
        assertEquals(List.of("a1", "d1", "n1"), NetAccess.of(g).ancestors("d2").stream().sorted().toList());
        assertEquals(List.of("a1", "a2", "d1", "d2", "n1", "n2", "res"), NetAccess.of(g).ancestors("out").stream().sorted().toList());
        List<CovariateShift> s = Probes.covariateShift(g, b, LR, "d1", "out");
        assertEquals(0.0, s.get(0).diffNorm(), 0.0);
        assertTrue(s.get(1).diffNorm() > 0 && s.get(1).cosine() < 1);
    }

    @Test
    void landscapeAtATinyStepIsTheCurrentLoss() {
        for (Model net : List.of(TestNets.mlp(new Sgd(LR), 3), TestNets.graph(new Sgd(LR), 3))) {
            DataSet b = TestNets.batch(16, 4);
            Landscape l = Probes.landscape(net, b, 1e-9, 0.1);
            assertEquals(Probes.gradient(net, b).loss(), l.loss(), 0.0);
            assertEquals(l.loss(), l.points().get(0).loss(), 1e-4);
            assertEquals(0.0, l.points().get(0).gradDiff(), 1e-3 * l.gradNorm());
            assertTrue(l.points().get(1).loss() < l.loss(), "a small gradient step lowers the loss on the same batch");
            Landscape.Point p = l.points().get(1);
            assertEquals(p.gradDiff() / (0.1 * l.gradNorm()), p.beta(), 1e-12 * p.beta());
        }
    }

    @Test
    void activationProbesSeeTheRightArrays() {
        ComputationGraph g = TestNets.graph(new Sgd(LR), 3);
        DataSet b = TestNets.batch(16, 4);
        Site sum = Site.input("a2"); // the residual add vertex's output
        Map<Site, Double> sat = Probes.saturation(g, b, 0.0, sum, Site.output("a1"));
        assertEquals(1.0, sat.get(sum), 1e-12, "every value of a sum of Gaussian-ish arrays is nonzero");
        assertEquals(0.0, Probes.saturation(g, b, 1e9, sum).get(sum), 0.0);
        ActivationStats a = Probes.activations(g, b, Site.output("n1")).get(Site.output("n1"));
        // batch norm's output in training mode: per channel mean 0 and std 1 (γ = 1, β = 0 at initialization)
        for (int c = 0; c < a.channelMean().length; c++) {
            assertEquals(0.0, a.channelMean()[c], 1e-5);
            assertEquals(1.0, a.channelStd()[c], 1e-2);
        }
        assertTrue(a.q05() < a.q50() && a.q50() < a.q95());
        assertEquals(0.0, a.driftFrom(a), 0.0);
    }

    @Test
    void badInputIsNamed() {
        MultiLayerNetwork net = TestNets.mlp(new Sgd(LR), 3);
        DataSet b = TestNets.batch(8, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Probes.covariateShift(net, b, LR, "nope"));
        assertTrue(e.getMessage().contains("'nope'") && e.getMessage().contains("fc1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Probes.gradientNorms(net, b, "act1"));
        assertTrue(e.getMessage().contains("'act1' has no weight parameters"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Probes.landscape(net, b, 0.1, -1));
        assertTrue(e.getMessage().contains("positive"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Probes.gradient(null, b));
        assertTrue(e.getMessage().contains("MultiLayerNetwork or a ComputationGraph"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Probes.gradient(net, new DataSet(b.getFeatures(), null)));
        assertTrue(e.getMessage().contains("no labels"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Probes.gradient(net, new ExistingDataSetIterator(List.of())));
        assertTrue(e.getMessage().contains("no batch"), e.getMessage());
    }

    static void fit(Model net, DataSet b) {
        if (net instanceof MultiLayerNetwork m) {
            m.fit(b);
        } else {
            ((ComputationGraph) net).fit(b);
        }
    }

    /** A clone that trains on exactly as the original (ComputationGraph.clone() does not copy the counts). */
    static Model copy(Model net) {
        if (net instanceof MultiLayerNetwork m) {
            return m.clone();
        }
        ComputationGraph g = (ComputationGraph) net;
        ComputationGraph c = g.clone();
        c.getConfiguration().setIterationCount(g.getIterationCount());
        c.getConfiguration().setEpochCount(g.getEpochCount());
        return c;
    }
}
