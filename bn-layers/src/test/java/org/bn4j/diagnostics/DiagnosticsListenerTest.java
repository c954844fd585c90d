package org.bn4j.diagnostics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;
import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;

class DiagnosticsListenerTest {

    private static final int STEPS = 5;

    private static List<DataSet> batches() {
        List<DataSet> b = new ArrayList<>();
        for (int i = 0; i < STEPS; i++) {
            b.add(TestNets.batch(16, 10 + i));
        }
        return b;
    }

    private static DiagnosticsListener.Builder everything(boolean graph) {
        return DiagnosticsListener.builder().every(2)
                .landscape(0.05, 0.2)
                .covariateShift(0.1, graph ? "d2" : "fc2", graph ? "out" : "fc3")
                .gradientNorms(graph ? "d1" : "fc1")
                .saturation(0.99, Site.output(graph ? "a2" : "act1"))
                .activations(Site.input(graph ? "a2" : "act2"));
    }

    /** One fit per batch (fit(DataSet) does not count epochs, so the two networks' epoch counts stay equal). */
    private static void fit(Model net, List<DataSet> data) {
        for (DataSet d : data) {
            ProbesTest.fit(net, d);
        }
    }

    /**
     * Training with the listener gives bit for bit the network of training without it (parameters with running
     * statistics, Adam's state, counts, score), and a probe records what the probe function gives on the network
     * and batch of that step.
     */
    @Test
    void trainingIsUnchangedAndProbesMatchTheFunctions(@TempDir Path dir) throws IOException {
        for (boolean graph : new boolean[] {false, true}) {
            Model probed = graph ? TestNets.graph(new Adam(1e-2), 9) : TestNets.mlp(new Adam(1e-2), 9);
            Model plain = graph ? TestNets.graph(new Adam(1e-2), 9) : TestNets.mlp(new Adam(1e-2), 9);
            DiagnosticsListener l;
            try (DiagnosticsCsv csv = DiagnosticsCsv.in(dir.resolve(graph ? "graph" : "mlp"))) {
                l = everything(graph).csv(csv, graph ? "g" : "m").build();
                probed.addListeners(l);
                fit(probed, batches());
            }
            // the unprobed twin, step by step, probed by the functions at step 2 (before its third batch)
            List<DataSet> b = batches();
            fit(plain, b.subList(0, 2));
            Landscape at2 = Probes.landscape(plain, b.get(2), 0.05, 0.2);
            List<CovariateShift> ics2 = Probes.covariateShift(plain, b.get(2), 0.1, graph ? "d2" : "fc2", graph ? "out" : "fc3");
            fit(plain, b.subList(2, STEPS));
            String what = graph ? "graph" : "mlp";
            assertTrue(NetworkState.capture(probed).identicalTo(NetworkState.capture(plain)),
                    what + ": training with the listener changed " + NetworkState.capture(probed).differencesFrom(NetworkState.capture(plain)));

            assertEquals(List.of(0L, 2L, 4L), l.landscapes().stream().map(DiagnosticsListener.Probed::step).toList(), what);
            Landscape rec = l.landscapes().get(1).value();
            assertEquals(at2.loss(), rec.loss(), 1e-6 * at2.loss(), what + " loss");
            for (int i = 0; i < 2; i++) {
                assertEquals(at2.points().get(i).gradDiff(), rec.points().get(i).gradDiff(), 1e-5 * at2.gradNorm(), what);
            }
            assertEquals(ics2.get(1).cosine(), l.covariateShifts().get(1).value().get(1).cosine(), 1e-5, what);
            assertTrue(Double.isNaN(l.activations().get(0).value().values().iterator().next().drift()));
            assertTrue(l.activations().get(1).value().values().iterator().next().drift() > 0);

            Path d = dir.resolve(graph ? "graph" : "mlp");
            List<CSVRecord> land = read(d.resolve("landscape.csv"));
            assertEquals(3 * 2, land.size(), "three probes of two step sizes");
            assertEquals(graph ? "g" : "m", land.get(0).get("run"));
            assertEquals("4", land.get(5).get("step"));
            assertEquals(rec.points().get(1).loss(), Double.parseDouble(land.get(3).get("loss")), 0.0);
            assertEquals(3 * 2, read(d.resolve("ics.csv")).size());
            assertEquals(3, read(d.resolve("gradient_norms.csv")).size());
            assertEquals(3, read(d.resolve("saturation.csv")).size());
            assertEquals((graph ? "a2" : "act2") + ":in", read(d.resolve("activations.csv")).get(0).get("site"));

            List<Path> png = DiagnosticsCharts.write(d, "", java.util.Map.of(what, l));
            assertEquals(List.of("loss_landscape.png", "gradient_predictiveness.png", "beta_smoothness.png", "ics.png",
                    "ics_diff.png", "gradient_norms.png", "saturation.png", "activations_" + (graph ? "a2" : "act2") + "_in.png",
                    "activation_drift.png"), png.stream().map(p -> p.getFileName().toString()).toList());
            for (Path p : png) {
                byte[] bytes = Files.readAllBytes(p);
                assertTrue(bytes.length > 1000 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G', p.toString());
            }
        }
    }

    /** With fixed probe data every probe uses it; a plain SGD network trained on it must lower its loss there. */
    @Test
    void fixedProbeData() {
        MultiLayerNetwork net = TestNets.mlp(new Sgd(0.1), 4);
        DataSet fixed = TestNets.batch(32, 99);
        DiagnosticsListener l = DiagnosticsListener.builder().every(1).landscape(0.1).data(fixed).build();
        net.addListeners(l);
        List<DataSet> same = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            same.add(fixed);
        }
        net.fit(new ExistingDataSetIterator(same));
        assertEquals(6, l.landscapes().size());
        assertTrue(l.landscapes().get(5).value().loss() < l.landscapes().get(0).value().loss());
    }

    @Test
    void badConfigurationIsNamed() {
        assertThrows(IllegalStateException.class, () -> DiagnosticsListener.builder().build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DiagnosticsListener.builder().every(0));
        assertTrue(e.getMessage().contains("DiagnosticsListener"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DiagnosticsListener.builder().landscape());
        assertThrows(IllegalArgumentException.class, () -> DiagnosticsListener.builder().covariateShift(0, "fc1"));
    }

    private static List<CSVRecord> read(Path f) throws IOException {
        try (Reader r = Files.newBufferedReader(f)) {
            return CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).build().parse(r).getRecords();
        }
    }
}
