package org.bn4j.conversion;

import org.bn4j.convert.FoldResult;
import org.bn4j.convert.NormConverter;
import org.bn4j.convert.NormFolder;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The public API over either network type, and the comparisons the tests make. */
final class Nets {
    private Nets() {
    }

    static Model convert(NormConverter c, Model net) {
        return net instanceof MultiLayerNetwork m ? c.convert(m) : c.convert((ComputationGraph) net);
    }

    static FoldResult<? extends Model> fold(Model net) {
        return net instanceof MultiLayerNetwork m ? NormFolder.fold(m) : NormFolder.fold((ComputationGraph) net);
    }

    /** The output; in training mode with the random generator seeded first, so that dropout draws the same masks. */
    static INDArray output(Model net, INDArray x, boolean train) {
        if (train) Nd4j.getRandom().setSeed(42);
        return net instanceof MultiLayerNetwork m ? m.output(x, train) : ((ComputationGraph) net).outputSingle(train, x);
    }

    /**
     * The output before a final softmax (the logits), in the way of {@link #output}: the network's softmax activations are
     * the identity during the call (and restored after it). Used for float32 comparisons: softmax turns an absolute
     * error δ of the logits into an error of up to about 2p(1 − p)·δ of the probabilities, so near a tie of two classes a
     * relative error of 1e-4 on logits of 80 shows as 2e-3 relative on the probabilities, larger or smaller as the errors of
     * the two logits happen to fall.
     */
    static INDArray logits(Model net, INDArray x, boolean train) {
        Map<org.deeplearning4j.nn.conf.layers.Layer, IActivation> softmax = new LinkedHashMap<>();
        for (Layer l : Zoo.layers(net)) {
            org.deeplearning4j.nn.conf.layers.Layer c = l.conf().getLayer();
            if (activation(c) instanceof ActivationSoftmax s) softmax.put(c, s);
        }
        softmax.keySet().forEach(c -> setActivation(c, new ActivationIdentity()));
        try {
            return output(net, x, train);
        } finally {
            softmax.forEach(Nets::setActivation);
        }
    }

    private static IActivation activation(org.deeplearning4j.nn.conf.layers.Layer c) {
        return c instanceof BaseLayer b ? b.getActivationFn() : c instanceof ActivationLayer a ? a.getActivationFn() : null;
    }

    private static void setActivation(org.deeplearning4j.nn.conf.layers.Layer c, IActivation a) {
        if (c instanceof BaseLayer b) b.setActivationFn(a);
        else ((ActivationLayer) c).setActivationFn(a);
    }

    /** True if a layer of the network has a softmax activation (which {@link #logits} takes out). */
    static boolean hasSoftmax(Model net) {
        for (Layer l : Zoo.layers(net)) if (activation(l.conf().getLayer()) instanceof ActivationSoftmax) return true;
        return false;
    }

    /** Every layer by name (MultiLayerNetwork: layer names, ComputationGraph: vertex names). */
    static Map<String, Layer> layers(Model net) {
        Map<String, Layer> out = new LinkedHashMap<>();
        for (Layer l : Zoo.layers(net)) {
            out.put(net instanceof MultiLayerNetwork ? l.conf().getLayer().getLayerName()
                    : ((ComputationGraph) net).getVertices()[vertexIndex((ComputationGraph) net, l)].getVertexName(), l);
        }
        return out;
    }

    private static int vertexIndex(ComputationGraph g, Layer l) {
        for (int i = 0; i < g.getVertices().length; i++) if (g.getVertices()[i].getLayer() == l) return i;
        throw new IllegalStateException();
    }

    /** max |a − b| / max |b|, in double. */
    static double rel(INDArray a, INDArray b) {
        assertEquals(java.util.Arrays.toString(b.shape()), java.util.Arrays.toString(a.shape()));
        INDArray bd = b.castTo(DataType.DOUBLE);
        return a.castTo(DataType.DOUBLE).sub(bd).amaxNumber().doubleValue() / bd.amaxNumber().doubleValue();
    }

    static void assertRel(INDArray actual, INDArray expected, double tol, String what) {
        double r = rel(actual, expected);
        assertTrue(r <= tol, what + ": relative difference " + r + " > " + tol);
    }

    /** Identical: same shape, type and every value (no tolerance). */
    static void assertIdentical(INDArray expected, INDArray actual, String what) {
        assertEquals(expected.dataType(), actual.dataType(), what);
        assertTrue(expected.reshape(expected.length()).equalsWithEps(actual.reshape(actual.length()), 0), what + " differs");
    }
}
