package org.bn4j.diagnostics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import org.apache.commons.math3.stat.descriptive.rank.Percentile;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Probes of a network in training, as functions on any {@link MultiLayerNetwork} or {@link ComputationGraph} and its
 * data: the gradient as the optimizer applies it, the loss landscape along the gradient with gradient predictiveness
 * and effective β-smoothness, internal covariate shift, per-layer gradient norms, the saturated fraction of
 * activations and the distribution of activations. To record them during {@code fit()}, use
 * {@link DiagnosticsListener}.
 *
 * <p><b>The network is left exactly as it was.</b> Every probe captures a {@link NetworkState} first and restores it
 * before it returns, also when it throws: parameters (running statistics included), updater state, iteration and
 * epoch counts, score, the random generator. Probes call {@code computeGradientAndScore} and training-mode forward
 * passes; they never run the updater. Since the iteration count does not change, a layer whose noise depends on the
 * iteration (bn4j's noisy layers) draws the same noise in every evaluation of one probe.
 *
 * <p><b>Data.</b> Everything is computed in training mode (batch statistics, as the optimizer sees the network) on
 * the probe's data: a {@link DataSet} is one batch; a {@link DataSetIterator} is read from the start (reset first
 * when it supports it) and every batch is probed, the loss and gradient being the means over all examples (each
 * batch normalized with its own statistics). A ComputationGraph probed with a DataSet must have one input and one
 * output. Masks of the data are applied.
 */
public final class Probes {

    private Probes() {
    }

    /** Loss and gradient (as the optimizer applies it) at the current parameters, on {@code data}. */
    public static LossGradient gradient(Model network, DataSetIterator data) {
        return gradient(NetAccess.of(network), batches(data));
    }

    /** Loss and gradient on one batch. */
    public static LossGradient gradient(Model network, DataSet batch) {
        return gradient(NetAccess.of(network), single(batch));
    }

    static LossGradient gradient(NetAccess n, List<DataSet> batches) {
        return restoring(n, () -> lossGradient(n, batches));
    }

    /**
     * Santurkar et al.'s landscape probe at the current parameters w: g = the gradient on {@code data}; for each step
     * size η of {@code etas} the loss L(w − ηg), ‖∇L(w) − ∇L(w − ηg)‖₂ and that over ‖ηg‖₂, all on the same data.
     * The paper's step sizes for VGG are 0.5 to 4 times the learning rate.
     *
     * @throws IllegalArgumentException when no step size is given or one is not positive
     */
    public static Landscape landscape(Model network, DataSetIterator data, double... etas) {
        return landscape(NetAccess.of(network), batches(data), etas);
    }

    /** {@link #landscape(Model, DataSetIterator, double...)} on one batch. */
    public static Landscape landscape(Model network, DataSet batch, double... etas) {
        return landscape(NetAccess.of(network), single(batch), etas);
    }

    static Landscape landscape(NetAccess n, List<DataSet> batches, double... etas) {
        if (etas.length == 0 || Arrays.stream(etas).anyMatch(e -> !(e > 0))) {
            throw new IllegalArgumentException("landscape probe: step sizes must be positive, got " + Arrays.toString(etas));
        }
        return restoring(n, () -> {
            INDArray w = NetAccess.detach(n.params());
            LossGradient at = lossGradient(n, batches);
            double gNorm = at.gradient().norm2Number().doubleValue();
            List<Landscape.Point> pts = new ArrayList<>();
            for (double eta : etas) {
                n.params().assign(w.sub(at.gradient().mul(eta)));
                LossGradient moved = lossGradient(n, batches);
                double diff = moved.gradient().sub(at.gradient()).norm2Number().doubleValue();
                pts.add(new Landscape.Point(eta, moved.loss(), diff, diff / (eta * gNorm)));
            }
            return new Landscape(at.loss(), gNorm, List.copyOf(pts));
        });
    }

    /**
     * Internal covariate shift (Santurkar et al. 2018, Definition 2.1) of the named layers at the current parameters:
     * G = the gradient of the layer's weight parameters (those its parameter initializer calls weights; biases and
     * normalization parameters are not part of G) on {@code data}; G' = the same after every layer whose output
     * reaches this layer's input (all earlier layers of a MultiLayerNetwork; the ancestors in a ComputationGraph) has
     * taken the plain SGD step −lr·g of this data, this layer and the others unchanged.
     *
     * @param lr learning rate of the SGD step (Santurkar et al. use the network's own)
     * @throws IllegalArgumentException for an unknown layer name, a layer without weights, or lr ≤ 0
     */
    public static List<CovariateShift> covariateShift(Model network, DataSetIterator data, double lr, String... layers) {
        return covariateShift(NetAccess.of(network), batches(data), lr, layers);
    }

    /** {@link #covariateShift(Model, DataSetIterator, double, String...)} on one batch. */
    public static List<CovariateShift> covariateShift(Model network, DataSet batch, double lr, String... layers) {
        return covariateShift(NetAccess.of(network), single(batch), lr, layers);
    }

    static List<CovariateShift> covariateShift(NetAccess n, List<DataSet> batches, double lr, String... layers) {
        if (!(lr > 0)) {
            throw new IllegalArgumentException("covariate-shift probe: the learning rate must be positive, got " + lr);
        }
        for (String l : layers) {
            weights(n, l);
        }
        return restoring(n, () -> {
            INDArray w = NetAccess.detach(n.params());
            LossGradient at = lossGradient(n, batches);
            List<CovariateShift> out = new ArrayList<>();
            for (String layer : layers) {
                Set<String> before = n.ancestors(layer);
                INDArray moved = w.dup();
                for (NetAccess.Param p : n.paramList()) {
                    if (before.contains(p.layer())) {
                        p.in(moved).subi(p.in(at.gradient()).mul(lr));
                    }
                }
                n.params().assign(moved);
                LossGradient shifted = lossGradient(n, batches);
                n.params().assign(w);
                INDArray g = weightsOf(n, layer, at.gradient());
                INDArray g1 = weightsOf(n, layer, shifted.gradient());
                double gn = g.norm2Number().doubleValue();
                double g1n = g1.norm2Number().doubleValue();
                double cos = gn == 0 || g1n == 0 ? Double.NaN : g.mul(g1).sumNumber().doubleValue() / (gn * g1n);
                out.add(new CovariateShift(layer, g.sub(g1).norm2Number().doubleValue(), cos, gn));
            }
            return List.copyOf(out);
        });
    }

    /**
     * ‖∂L/∂W‖₂ of the weight parameters of each named layer (the gradient of the mean loss, as the optimizer applies
     * it), by layer name in the order given.
     */
    public static Map<String, Double> gradientNorms(Model network, DataSetIterator data, String... layers) {
        return gradientNorms(NetAccess.of(network), batches(data), layers);
    }

    /** {@link #gradientNorms(Model, DataSetIterator, String...)} on one batch. */
    public static Map<String, Double> gradientNorms(Model network, DataSet batch, String... layers) {
        return gradientNorms(NetAccess.of(network), single(batch), layers);
    }

    static Map<String, Double> gradientNorms(NetAccess n, List<DataSet> batches, String... layers) {
        for (String l : layers) {
            weights(n, l);
        }
        return restoring(n, () -> {
            INDArray g = lossGradient(n, batches).gradient();
            Map<String, Double> out = new LinkedHashMap<>();
            for (String l : layers) {
                out.put(l, weightsOf(n, l, g).norm2Number().doubleValue());
            }
            return out;
        });
    }

    /**
     * The fraction of activation values whose absolute value exceeds {@code threshold} at each site (for tanh units
     * Ioffe and Szegedy's saturation, |tanh| > 0.99), over all values of all batches, training mode.
     */
    public static Map<Site, Double> saturation(Model network, DataSetIterator data, double threshold, Site... sites) {
        return saturation(NetAccess.of(network), batches(data), threshold, sites);
    }

    /** {@link #saturation(Model, DataSetIterator, double, Site...)} on one batch. */
    public static Map<Site, Double> saturation(Model network, DataSet batch, double threshold, Site... sites) {
        return saturation(NetAccess.of(network), single(batch), threshold, sites);
    }

    static Map<Site, Double> saturation(NetAccess n, List<DataSet> batches, double threshold, Site... sites) {
        return restoring(n, () -> {
            double[] over = new double[sites.length];
            double[] count = new double[sites.length];
            for (DataSet b : batches) {
                Map<String, INDArray> acts = n.activations(b);
                for (int i = 0; i < sites.length; i++) {
                    INDArray a = at(n, acts, sites[i]);
                    over[i] += Transforms.abs(a, true).gt(threshold).castTo(DataType.DOUBLE).sumNumber().doubleValue();
                    count[i] += a.length();
                }
                n.clearLayers();
            }
            Map<Site, Double> out = new LinkedHashMap<>();
            for (int i = 0; i < sites.length; i++) {
                out.put(sites[i], over[i] / count[i]);
            }
            return out;
        });
    }

    /** The distribution of the activations at each site over all batches (training mode). */
    public static Map<Site, ActivationStats> activations(Model network, DataSetIterator data, Site... sites) {
        return activations(NetAccess.of(network), batches(data), sites);
    }

    /** {@link #activations(Model, DataSetIterator, Site...)} on one batch. */
    public static Map<Site, ActivationStats> activations(Model network, DataSet batch, Site... sites) {
        return activations(NetAccess.of(network), single(batch), sites);
    }

    static Map<Site, ActivationStats> activations(NetAccess n, List<DataSet> batches, Site... sites) {
        return restoring(n, () -> {
            List<List<INDArray>> per = new ArrayList<>();
            for (int i = 0; i < sites.length; i++) {
                per.add(new ArrayList<>());
            }
            for (DataSet b : batches) {
                Map<String, INDArray> acts = n.activations(b);
                for (int i = 0; i < sites.length; i++) {
                    per.get(i).add(channelsLast(at(n, acts, sites[i])));
                }
                n.clearLayers();
            }
            Map<Site, ActivationStats> out = new LinkedHashMap<>();
            for (int i = 0; i < sites.length; i++) {
                INDArray all = per.get(i).size() == 1 ? per.get(i).get(0) : Nd4j.vstack(per.get(i));
                double[] unit = all.getColumn(0).dup().toDoubleVector();
                Percentile q = new Percentile().withEstimationType(Percentile.EstimationType.R_7);
                q.setData(unit);
                out.put(sites[i], new ActivationStats(sites[i], all.mean(0).toDoubleVector(), all.std(false, 0).toDoubleVector(),
                        q.evaluate(5), q.evaluate(50), q.evaluate(95)));
            }
            return out;
        });
    }

    // ---------------------------------------------------------------------------------------------------------

    /** Runs {@code body} and restores the network's state afterwards, outside any workspace. */
    static <T> T restoring(NetAccess n, Supplier<T> body) {
        try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            NetworkState s = NetworkState.capture(n);
            try {
                return body.get();
            } finally {
                s.restore();
            }
        }
    }

    /** Mean loss and gradient over the batches, the gradient as the optimizer applies it (see {@link LossGradient}). */
    static LossGradient lossGradient(NetAccess n, List<DataSet> batches) {
        INDArray sum = null;
        double loss = 0;
        long examples = 0;
        for (DataSet b : batches) {
            double s = n.computeGradientAndScore(b);
            long m = b.getFeatures().size(0);
            INDArray g = n.flatGradient();
            if (sum == null) {
                sum = g.dup();
            } else {
                sum.addi(g);
            }
            loss += s * m;
            examples += m;
        }
        for (NetAccess.Param p : n.paramList()) {
            INDArray part = p.in(sum);
            if (!p.trainable()) {
                part.assign(0);
            } else {
                part.divi(p.divideByMinibatch() ? examples : batches.size());
            }
        }
        return new LossGradient(loss / examples, sum);
    }

    private static List<NetAccess.Param> weights(NetAccess n, String layer) {
        n.layer(layer);
        List<NetAccess.Param> w = n.paramList().stream().filter(p -> p.layer().equals(layer) && p.weight()).toList();
        if (w.isEmpty()) {
            throw new IllegalArgumentException("bn4j diagnostics: layer '" + layer + "' has no weight parameters "
                    + "(its parameter initializer names none)");
        }
        return w;
    }

    /** The layer's weight parameters' part of a flattened vector, as one vector. */
    private static INDArray weightsOf(NetAccess n, String layer, INDArray flat) {
        List<NetAccess.Param> w = weights(n, layer);
        INDArray[] parts = w.stream().map(p -> p.in(flat).reshape(p.length())).toArray(INDArray[]::new);
        return parts.length == 1 ? parts[0] : Nd4j.concat(0, parts);
    }

    private static INDArray at(NetAccess n, Map<String, INDArray> acts, Site s) {
        n.layer(s.layer());
        String key = s.layer();
        if (s.input()) {
            List<String> in = n.inputsOf(s.layer());
            if (in.size() != 1) {
                throw new IllegalArgumentException("bn4j diagnostics: the input of layer '" + s.layer() + "' is not one array "
                        + "(it has the inputs " + in + "); watch the outputs of those instead");
            }
            key = in.get(0);
        }
        INDArray a = acts.get(key);
        if (a == null) {
            throw new IllegalArgumentException("bn4j diagnostics: no activation '" + key + "' for " + s + " in the forward pass");
        }
        return a;
    }

    /** [N, C, ...] as [N·…, C] in double precision: one row per value position, one column per channel. */
    private static INDArray channelsLast(INDArray a) {
        INDArray d = a.castTo(DataType.DOUBLE);
        if (d.rank() == 2) {
            return d.dup();
        }
        long c = d.size(1);
        int[] perm = new int[d.rank()];
        perm[d.rank() - 1] = 1;
        for (int i = 0, k = 0; i < d.rank(); i++) {
            if (i != 1) {
                perm[k++] = i;
            }
        }
        return d.permute(perm).dup('c').reshape('c', -1, c);
    }

    private static List<DataSet> batches(DataSetIterator it) {
        if (it == null) {
            throw new IllegalArgumentException("bn4j diagnostics: no data (the DataSetIterator is null)");
        }
        if (it.resetSupported()) {
            it.reset();
        }
        List<DataSet> out = new ArrayList<>();
        while (it.hasNext()) {
            DataSet b = it.next();
            NetAccess.checkBatch(b, "a probe");
            out.add(b);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("bn4j diagnostics: the DataSetIterator gave no batch");
        }
        return out;
    }

    static List<DataSet> single(DataSet batch) {
        NetAccess.checkBatch(batch, "a probe");
        return List.of(batch);
    }
}
