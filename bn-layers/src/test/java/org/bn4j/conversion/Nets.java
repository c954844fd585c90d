package org.bn4j.conversion;

import org.bn4j.convert.FoldResult;
import org.bn4j.convert.NormConverter;
import org.bn4j.convert.NormFolder;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
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
