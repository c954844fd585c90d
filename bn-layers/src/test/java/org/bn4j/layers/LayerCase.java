package org.bn4j.layers;

import org.bn4j.core.NormSpec;
import org.bn4j.reference.Ref;
import org.deeplearning4j.nn.conf.layers.Layer;

import java.util.function.Supplier;

/**
 * One named test case of the registry: a layer configuration on one input kind, with what the plain
 * reference needs to compute the same thing.
 *
 * @param name         shown in every test report line
 * @param layer        a fresh configuration (the network sets its data format from the input type)
 * @param kind         the input kind
 * @param masked       feed an RNN mask with some steps masked
 * @param stat         the reference statistic, or null for no normalization (noise only)
 * @param reduceAxes   the reference reduction axes of the raw input
 * @param runningStats whether the layer keeps running statistics
 * @param ghost        ghost batch size, or 0
 * @param noise        where the layer applies noise
 */
public record LayerCase(String name, Supplier<Layer> layer, Kind kind, boolean masked, Ref.Stat stat,
                        int[] reduceAxes, boolean runningStats, int ghost, NormSpec.Noise noise) {

    /** A batch-norm-like case outside the registry (for equivalence tests). */
    public static LayerCase simple(String name, Supplier<Layer> layer, Kind kind) {
        return new LayerCase(name, layer, kind, false, Ref.Stat.variance(), kind.allButChannel(), true, 0,
                NormSpec.Noise.NONE);
    }

    @Override
    public String toString() {
        return name;
    }
}
