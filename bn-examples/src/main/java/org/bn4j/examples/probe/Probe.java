package org.bn4j.examples.probe;

import java.util.ArrayList;
import java.util.List;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Looks at a network at one training step without changing it: gradients at the current or at moved parameters,
 * the loss-landscape / gradient-predictiveness / β-smoothness probe of Santurkar et al. (2018, §3.1), and their
 * internal-covariate-shift measure (Definition 2.1). Every method restores the parameter vector (which in bn4j also
 * holds the running statistics, updated in backprop) before it returns, and none changes the iteration count, so
 * the noise of noisy layers (a function of seed, layer and iteration) is the same in every evaluation of one probe
 * and equal to the noise of the training step that follows at this iteration.
 *
 * <p>Gradients are those plain SGD applies: DL4J's backprop gives the gradient of the summed loss, and its updater
 * divides by the minibatch size, so {@link #gradient} divides too. Then one SGD step with learning rate lr is
 * exactly {@code w − lr·g} (tested).
 */
public final class Probe {

    /** Loss (mean over the batch, training mode) and gradient (as SGD applies it) at some parameters. */
    public record Eval(double loss, INDArray grad) {
    }

    /** One point of the landscape probe: the step η·g. */
    public record LandscapePoint(double eta, double loss, double gradDiff, double beta) {
    }

    /** Result of the landscape probe at one step. */
    public record Landscape(double loss0, double gradNorm, List<LandscapePoint> points) {
        public double lossMin() {
            return points.stream().mapToDouble(LandscapePoint::loss).min().orElse(Double.NaN);
        }

        public double lossMax() {
            return points.stream().mapToDouble(LandscapePoint::loss).max().orElse(Double.NaN);
        }

        public double gradDiffMin() {
            return points.stream().mapToDouble(LandscapePoint::gradDiff).min().orElse(Double.NaN);
        }

        public double gradDiffMax() {
            return points.stream().mapToDouble(LandscapePoint::gradDiff).max().orElse(Double.NaN);
        }

        /** Effective β-smoothness: max over η of ‖∇L(w) − ∇L(w − ηg)‖ / ‖ηg‖. */
        public double betaMax() {
            return points.stream().mapToDouble(LandscapePoint::beta).max().orElse(Double.NaN);
        }
    }

    /** ICS of one weight layer: ‖G − G'‖₂, cos(G, G') and ‖G‖. */
    public record Ics(String layer, double diffNorm, double cosine, double gradNorm) {
    }

    private final MultiLayerNetwork net;

    public Probe(MultiLayerNetwork net) {
        this.net = net;
    }

    /** Loss and gradient at the current parameters (parameters, including running statistics, restored). */
    public Eval gradient(DataSet batch) {
        INDArray p0 = net.params().dup();
        try {
            return evalHere(batch);
        } finally {
            net.setParams(p0);
        }
    }

    private Eval evalHere(DataSet batch) {
        net.setInput(batch.getFeatures());
        net.setLabels(batch.getLabels());
        net.computeGradientAndScore();
        double loss = net.score();
        INDArray g = net.gradient().gradient().dup().divi(batch.numExamples());
        net.clear();
        return new Eval(loss, g);
    }

    /**
     * Santurkar et al.'s probe at the current step: g = ∇L(w) on {@code batch}; for each η the loss L(w − ηg), the
     * gradient change ‖∇L(w) − ∇L(w − ηg)‖₂ and its ratio to ‖ηg‖₂ (effective β-smoothness), all on the same batch.
     */
    public Landscape landscape(DataSet batch, double[] etas) {
        INDArray p0 = net.params().dup();
        try {
            Eval e0 = evalHere(batch);
            double gNorm = e0.grad().norm2Number().doubleValue();
            List<LandscapePoint> pts = new ArrayList<>();
            for (double eta : etas) {
                net.setParams(p0.sub(e0.grad().mul(eta)));
                Eval e = evalHere(batch);
                double diff = e.grad().sub(e0.grad()).norm2Number().doubleValue();
                pts.add(new LandscapePoint(eta, e.loss(), diff, diff / (eta * gNorm)));
            }
            return new Landscape(e0.loss(), gNorm, pts);
        } finally {
            net.setParams(p0);
        }
    }

    /**
     * Internal covariate shift (Santurkar et al., Definition 2.1) of the named weight layers at this step:
     * G = ∇_{W_i} L at the current parameters on {@code batch}; G' = the same gradient after every layer before
     * layer i has taken its SGD step {@code −lr·g} of this step (layer i and the later ones unchanged).
     * "W" is the layer's weight parameter (bias and norm parameters are not part of G).
     */
    public List<Ics> ics(DataSet batch, double lr, List<String> layers) {
        INDArray p0 = net.params().dup();
        try {
            Eval e0 = evalHere(batch);
            List<Ics> out = new ArrayList<>();
            for (String name : layers) {
                int idx = indexOf(name);
                long off = offset(idx);
                long[] w = weightRange(idx);
                INDArray g = e0.grad().get(NDArrayIndex.interval(w[0], w[1]));
                INDArray p = p0.dup();
                if (off > 0) {
                    p.get(NDArrayIndex.interval(0, off)).subi(e0.grad().get(NDArrayIndex.interval(0, off)).mul(lr));
                }
                net.setParams(p);
                Eval e1 = evalHere(batch);
                INDArray g1 = e1.grad().get(NDArrayIndex.interval(w[0], w[1]));
                double gn = g.norm2Number().doubleValue();
                double g1n = g1.norm2Number().doubleValue();
                double diff = g.sub(g1).norm2Number().doubleValue();
                double cos = g.mul(g1).sumNumber().doubleValue() / (gn * g1n);
                out.add(new Ics(name, diff, cos, gn));
            }
            return out;
        } finally {
            net.setParams(p0);
        }
    }

    /** Index of the layer with this name. */
    public int indexOf(String name) {
        Layer[] ls = net.getLayers();
        for (int i = 0; i < ls.length; i++) {
            if (name.equals(ls[i].conf().getLayer().getLayerName())) {
                return i;
            }
        }
        throw new IllegalArgumentException("no layer named " + name);
    }

    /** Offset of layer {@code idx}'s parameters in the flattened parameter vector. */
    public long offset(int idx) {
        long off = 0;
        Layer[] ls = net.getLayers();
        for (int i = 0; i < idx; i++) {
            off += ls[i].numParams();
        }
        return off;
    }

    /** [start, end) of layer {@code idx}'s weight parameter "W" in the flattened vector. */
    public long[] weightRange(int idx) {
        Layer l = net.getLayers()[idx];
        long off = offset(idx);
        // parameters are laid out in the order of the layer's parameter table
        for (var e : l.paramTable().entrySet()) {
            long n = e.getValue().length();
            if (e.getKey().equals("W")) {
                return new long[] {off, off + n};
            }
            off += n;
        }
        throw new IllegalArgumentException("layer " + idx + " has no weight parameter W");
    }
}
