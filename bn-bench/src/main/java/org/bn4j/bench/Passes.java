package org.bn4j.bench;

import org.bn4j.core.Layout;
import org.bn4j.core.NormCore;
import org.bn4j.exec.CompiledGraph;
import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.Catalog;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.HashMap;
import java.util.Map;

/**
 * Memory traffic of the fused plans: full-size passes of a layer's training forward and backward graphs at a bench
 * shape (float32, the first segment of the batch), as the fused executor plans them, in bytes per input element
 * (4 per pass). Planning only: nothing is run.
 */
final class Passes {
    static final String HEADER = "layer,shape,fwd_passes,bwd_passes";

    /** Whether a bench layer name is an activation-normalizing layer of the {@link Catalog} (weight norm is not). */
    static boolean planned(String layer) {
        return Catalog.names().contains(layer);
    }

    private Passes() {
    }

    /** {forward, backward} full-size passes of the layer's fused plans at the shape. */
    static double[] of(String layer, Shape shape) {
        AbstractNormLayer conf = Catalog.get(layer).create();
        long[] view = CoreProfile.view(shape);
        long[] seg = conf.segments(view[0])[0];
        view[0] = seg[1] - seg[0];
        Layout layout = conf.layout(view, null, (int) seg[2], shape.rank() == 3).simplify();
        NormCore.Graphs g = NormCore.graphs(conf.normSpec(), layout, org.nd4j.linalg.api.buffer.DataType.FLOAT);
        return new double[]{g.train().fusedPasses(placeholders(g.train())), g.backward().fusedPasses(placeholders(g.backward()))};
    }

    /** Arrays of every placeholder's shape and type (their values do not matter to the plan). */
    private static Map<String, INDArray> placeholders(CompiledGraph g) {
        Map<String, INDArray> in = new HashMap<>();
        for (String name : g.inputNames()) {
            SDVariable v = g.sameDiff().getVariable(name);
            in.put(name, Nd4j.ones(v.dataType(), v.getShape()));
        }
        return in;
    }
}
