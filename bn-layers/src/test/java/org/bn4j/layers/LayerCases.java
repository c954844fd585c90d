package org.bn4j.layers;

import org.bn4j.reference.Ref;

import java.util.ArrayList;
import java.util.List;

/** The registry of named layer cases that drives the layer tests. */
public final class LayerCases {
    private LayerCases() {
    }

    public static List<LayerCase> all() {
        List<LayerCase> cases = new ArrayList<>();
        for (Kind k : Kind.values()) {
            cases.add(new LayerCase("BatchNorm/" + k, () -> new BatchNorm.Builder().build(), k, false,
                    Ref.Stat.variance(), k.allButChannel(), true));
            if (k.isRnn()) {
                cases.add(new LayerCase("BatchNorm/" + k + "+mask", () -> new BatchNorm.Builder().build(), k, true,
                        Ref.Stat.variance(), k.allButChannel(), true));
            }
        }
        cases.add(new LayerCase("BatchNorm(affine=false)/FF", () -> new BatchNorm.Builder().affine(false).build(),
                Kind.FF, false, Ref.Stat.variance(), Kind.FF.allButChannel(), true));
        return cases;
    }
}
