package org.bn4j.diagnostics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A DL4J {@link org.deeplearning4j.optimize.api.TrainingListener} that runs the {@link Probes} during
 * {@code fit()} every {@code every} iterations and records them, in memory and, with {@link Builder#csv}, to CSV
 * files (charts: {@link DiagnosticsCharts}). Works with {@code MultiLayerNetwork} and {@code ComputationGraph}:
 *
 * <pre>{@code
 * DiagnosticsListener probes = DiagnosticsListener.builder()
 *         .every(25)
 *         .landscape(0.05, 0.1, 0.2, 0.3, 0.4)          // step sizes: 0.5 to 4 × lr 0.1
 *         .covariateShift(0.1, "conv2", "fc5")
 *         .build();
 * net.addListeners(probes);
 * net.fit(train, 3);
 * probes.landscapes();                                // (step, Landscape) pairs
 * }</pre>
 *
 * <p><b>When and on what.</b> A probe runs before the optimizer step of every iteration whose count (the steps
 * taken so far, {@code getIterationCount()}) is a multiple of {@code every}, the first included: at the forward
 * pass of that step, on the parameters the step starts from and on the step's own batch (or on the fixed data given
 * to {@link Builder#data}). It is run on a copy of the network (same configuration, parameters and counts, without
 * workspaces) in a thread of its own while training waits, so the training network's parameters, updater state,
 * running statistics, counts, the layers' stored inputs and the training thread's random generator are never
 * touched: training with the listener gives bit for bit the parameters of training without it. A layer whose noise depends on the iteration sees the
 * noise of the step that follows.
 *
 * <p>Each probe is recorded with its step; the activation probe also records the drift of each site's
 * distribution since the previous probe ({@link ActivationStats#driftFrom}). Probing costs one copy of the network
 * and a few gradients per probe (the landscape one per step size, covariate shift one per layer): choose
 * {@code every} accordingly.
 */
public final class DiagnosticsListener extends BaseTrainingListener {

    /** A probe's result with the step it was taken at (the number of optimizer steps before it) and the epoch. */
    public record Probed<T>(long step, int epoch, T value) {
    }

    /** An activation distribution and its drift since the previous probe of the same site (NaN at the first). */
    public record Activation(ActivationStats stats, double drift) {
    }

    private final Builder b;
    private final List<Probed<Landscape>> landscapes = new ArrayList<>();
    private final List<Probed<List<CovariateShift>>> shifts = new ArrayList<>();
    private final List<Probed<Map<String, Double>>> gradientNorms = new ArrayList<>();
    private final List<Probed<Map<Site, Double>>> saturation = new ArrayList<>();
    private final List<Probed<Map<Site, Activation>>> activations = new ArrayList<>();
    private final Map<Site, ActivationStats> previous = new LinkedHashMap<>();
    private long lastProbed = -1;

    private DiagnosticsListener(Builder b) {
        this.b = b;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The landscape probes recorded so far. */
    public List<Probed<Landscape>> landscapes() {
        return Collections.unmodifiableList(landscapes);
    }

    /** The covariate-shift probes recorded so far (one entry per layer, in the order configured). */
    public List<Probed<List<CovariateShift>>> covariateShifts() {
        return Collections.unmodifiableList(shifts);
    }

    /** The weight-gradient norms recorded so far, by layer. */
    public List<Probed<Map<String, Double>>> gradientNorms() {
        return Collections.unmodifiableList(gradientNorms);
    }

    /** The saturated fractions recorded so far, by site. */
    public List<Probed<Map<Site, Double>>> saturation() {
        return Collections.unmodifiableList(saturation);
    }

    /** The activation distributions recorded so far, by site. */
    public List<Probed<Map<Site, Activation>>> activations() {
        return Collections.unmodifiableList(activations);
    }

    @Override
    public void onForwardPass(Model model, List<INDArray> activations) {
        probeIfDue(model);
    }

    @Override
    public void onForwardPass(Model model, Map<String, INDArray> activations) {
        probeIfDue(model);
    }

    private void probeIfDue(Model model) {
        NetAccess live = NetAccess.of(model);
        int step = live.iterationCount();
        if (step == lastProbed || step % b.every != 0) {
            return; // line-search optimizers run several forward passes per step
        }
        lastProbed = step;
        int epoch = live.epochCount();
        List<DataSet> data;
        try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            data = b.data != null ? List.of(b.data) : Probes.single(live.currentBatch());
        }
        // in a thread of its own: the training step holds this thread's workspaces open, and ND4J's random
        // generator is per thread, so the probe can touch neither; the training thread waits for it
        Future<?> done = PROBE_THREAD.submit(() -> probe(live.copy(), data, step, epoch));
        try {
            done.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("DiagnosticsListener: interrupted while probing", e);
        }
    }

    private static final ExecutorService PROBE_THREAD = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "bn4j-diagnostics");
        t.setDaemon(true);
        return t;
    });

    private void probe(NetAccess net, List<DataSet> data, long step, int epoch) {
        if (b.etas != null) {
            Landscape l = Probes.landscape(net, data, b.etas);
            landscapes.add(new Probed<>(step, epoch, l));
            for (Landscape.Point p : l.points()) {
                csv("landscape", step, epoch, p.eta(), p.loss(), p.gradDiff(), p.beta(), l.loss(), l.gradNorm());
            }
        }
        if (b.shiftLayers != null) {
            List<CovariateShift> s = Probes.covariateShift(net, data, b.lr, b.shiftLayers);
            shifts.add(new Probed<>(step, epoch, s));
            for (CovariateShift c : s) {
                csv("ics", step, epoch, c.layer(), c.diffNorm(), c.cosine(), c.gradNorm());
            }
        }
        if (b.normLayers != null) {
            Map<String, Double> g = Probes.gradientNorms(net, data, b.normLayers);
            gradientNorms.add(new Probed<>(step, epoch, g));
            g.forEach((layer, v) -> csv("gradient_norms", step, epoch, layer, v));
        }
        if (b.saturationSites != null) {
            Map<Site, Double> s = Probes.saturation(net, data, b.threshold, b.saturationSites);
            saturation.add(new Probed<>(step, epoch, s));
            s.forEach((site, v) -> csv("saturation", step, epoch, site, v));
        }
        if (b.activationSites != null) {
            Map<Site, Activation> out = new LinkedHashMap<>();
            for (ActivationStats a : Probes.activations(net, data, b.activationSites).values()) {
                ActivationStats prev = previous.put(a.site(), a);
                Activation act = new Activation(a, prev == null ? Double.NaN : a.driftFrom(prev));
                out.put(a.site(), act);
                csv("activations", step, epoch, a.site(), a.meanOfMeans(), a.meanOfStds(), a.q05(), a.q50(), a.q95(), act.drift());
            }
            activations.add(new Probed<>(step, epoch, out));
        }
    }

    private void csv(String table, long step, int epoch, Object... values) {
        if (b.csv != null) {
            Object[] row = new Object[values.length + 3];
            row[0] = b.run;
            row[1] = step;
            row[2] = epoch;
            System.arraycopy(values, 0, row, 3, values.length);
            b.csv.add(table, row);
        }
    }

    /** Which probes to run, how often, on what, and where to write them. */
    public static final class Builder {
        private int every = 1;
        private double[] etas;
        private double lr;
        private String[] shiftLayers;
        private String[] normLayers;
        private double threshold;
        private Site[] saturationSites;
        private Site[] activationSites;
        private DataSet data;
        private DiagnosticsCsv csv;
        private String run = "";

        private Builder() {
        }

        /** Probe at every {@code n}-th iteration (iterations 0, n, 2n, …). Default 1. */
        public Builder every(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("DiagnosticsListener: every must be at least 1, got " + n);
            }
            this.every = n;
            return this;
        }

        /** The landscape probe ({@link Probes#landscape}) with these step sizes. */
        public Builder landscape(double... etas) {
            if (etas.length == 0 || Arrays.stream(etas).anyMatch(e -> !(e > 0))) {
                throw new IllegalArgumentException("DiagnosticsListener: landscape step sizes must be positive, got "
                        + Arrays.toString(etas));
            }
            this.etas = etas.clone();
            return this;
        }

        /** The covariate-shift probe ({@link Probes#covariateShift}) of these layers, SGD steps of rate {@code lr}. */
        public Builder covariateShift(double lr, String... layers) {
            if (!(lr > 0) || layers.length == 0) {
                throw new IllegalArgumentException("DiagnosticsListener: covariate shift needs lr > 0 and at least one layer, got "
                        + lr + " and " + Arrays.toString(layers));
            }
            this.lr = lr;
            this.shiftLayers = layers.clone();
            return this;
        }

        /** The weight-gradient norms ({@link Probes#gradientNorms}) of these layers. */
        public Builder gradientNorms(String... layers) {
            this.normLayers = layers.clone();
            return this;
        }

        /** The saturated fraction ({@link Probes#saturation}) at these sites. */
        public Builder saturation(double threshold, Site... sites) {
            this.threshold = threshold;
            this.saturationSites = sites.clone();
            return this;
        }

        /** The activation distributions ({@link Probes#activations}) at these sites, with their drift. */
        public Builder activations(Site... sites) {
            this.activationSites = sites.clone();
            return this;
        }

        /** Probe on this fixed data instead of each step's batch. */
        public Builder data(DataSet data) {
            NetAccess.checkBatch(data, "DiagnosticsListener.data");
            this.data = data;
            return this;
        }

        /** Also write every probe as rows of {@code csv}'s tables, with {@code run} in the first column. */
        public Builder csv(DiagnosticsCsv csv, String run) {
            this.csv = csv;
            this.run = run;
            return this;
        }

        public DiagnosticsListener build() {
            if (etas == null && shiftLayers == null && normLayers == null && saturationSites == null && activationSites == null) {
                throw new IllegalStateException("DiagnosticsListener: no probe chosen (landscape, covariateShift, "
                        + "gradientNorms, saturation or activations)");
            }
            return new DiagnosticsListener(this);
        }
    }
}
