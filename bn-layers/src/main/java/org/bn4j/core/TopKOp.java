package org.bn4j.core;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ops.impl.transforms.custom.TopK;

/**
 * ND4J's {@code top_k} along the last axis, sorted, with its integer arguments in the order libnd4j reads them
 * (k, sorted). M2.1's {@link TopK} passes (sorted, k): with sorted = false it fails validation and with
 * sorted = true it returns the top 1.
 */
final class TopKOp extends TopK {

    TopKOp(SameDiff sd, SDVariable in, int k) {
        super(sd, in, k, true);
        iArguments.clear();
        addIArgument(k, 1);
    }

    static SDVariable[] of(SameDiff sd, SDVariable in, int k) {
        return new TopKOp(sd, in, k).outputVariables();
    }
}
