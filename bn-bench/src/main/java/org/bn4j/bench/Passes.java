package org.bn4j.bench;

import org.bn4j.core.Layout;
import org.bn4j.core.NormCore;
import org.bn4j.exec.CompiledGraph;
import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.GhostBatchNorm;
import org.bn4j.layers.LayerNorm;
import org.bn4j.layers.LpBatchNorm;
import org.bn4j.layers.NoiseInjection;
import org.bn4j.layers.NoisyBatchNorm;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Memory traffic of the fused plans: full-size passes of a layer's training forward and backward graphs at a bench
 * shape (float32, the first segment of the batch), as the fused executor plans them, in bytes per input element
 * (4 per pass). Planning only: nothing is run.
 */
final class Passes {
    static final String HEADER = "layer,shape,fwd_passes,bwd_passes";

    /** The bench's activation-normalizing layers by their name in {@link Cases}. */
    static final Map<String, Supplier<AbstractNormLayer>> LAYERS = new LinkedHashMap<>();

    static {
        LAYERS.put("batchnorm", () -> new BatchNorm.Builder().build());
        LAYERS.put("layernorm", () -> new LayerNorm.Builder().build());
        LAYERS.put("lpbatchnorm_p1", () -> new LpBatchNorm.Builder().p(1).build());
        LAYERS.put("lpbatchnorm_top1", () -> new LpBatchNorm.Builder().topK(1).build());
        LAYERS.put("ghostbatchnorm_32", () -> new GhostBatchNorm.Builder().virtualBatchSize(32).build());
        LAYERS.put("noisybatchnorm", () -> new NoisyBatchNorm.Builder().build());
        LAYERS.put("noiseinjection", () -> new NoiseInjection.Builder().build());
    }

    private Passes() {
    }

    /** {forward, backward} full-size passes of the layer's fused plans at the shape. */
    static double[] of(String layer, Shape shape) {
        AbstractNormLayer conf = LAYERS.get(layer).get();
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
