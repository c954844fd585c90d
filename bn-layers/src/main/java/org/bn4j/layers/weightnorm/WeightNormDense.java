package org.bn4j.layers.weightnorm;

import org.bn4j.core.LinearOp;
import lombok.EqualsAndHashCode;
import lombok.ToString;
import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;

/**
 * A weight-normalized dense layer, a drop-in for DL4J's {@code DenseLayer}:
 * <pre>
 *   w[:, j] = g_j · v[:, j] / ‖v[:, j]‖,     y = activation(x w + b)
 * </pre>
 * with x {@code [N, nIn]}, v {@code [nIn, nOut]} (DL4J's weight layout), g and b {@code [nOut]}. The norm is taken
 * per output column of v, over nIn. Gradients (∇w = xᵀ·∂L/∂z):
 * <pre>
 *   ∇g_j = (∇w[:, j] · v[:, j]) / ‖v[:, j]‖,    ∇v[:, j] = (g_j / ‖v[:, j]‖) (∇w[:, j] − (∇g_j / ‖v[:, j]‖) v[:, j])
 * </pre>
 * nIn is inferred from the input type (RNN and CNN input get DL4J's usual preprocessors, as for
 * {@code DenseLayer}); a feed-forward mask multiplies the output and its gradient, as in DL4J.
 *
 * <p>Defaults: bias on, g = ‖v‖ per unit (so the layer starts equal to a {@code DenseLayer} with W = v), no
 * data-dependent initialization; activation, weight init of v (fan in nIn, fan out nOut) and bias init from the
 * network configuration. See {@link AbstractWeightNormLayer} for the data-dependent initialization.
 */
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class WeightNormDense extends AbstractWeightNormLayer {

    protected WeightNormDense(Builder b) {
        super(b);
        initConstraints(b);
    }

    /** For JSON: the builder's defaults. */
    public WeightNormDense() {
        this(new Builder());
    }

    @Override
    public LinearOp linearOp() {
        return new LinearOp.Dense(nIn, nOut);
    }

    @Override
    public double[] fans() {
        return new double[]{nIn, nOut};
    }

    @Override
    public long[] outputShape(INDArray input, String layerId) {
        long[] s = input.shape();
        if (input.rank() != 2 || s[1] != nIn) {
            throw new DL4JInvalidInputException(describe() + " " + layerId + ": expected feed-forward input [N, nIn] with nIn = "
                    + nIn + ", got rank " + input.rank() + " shape " + Arrays.toString(s));
        }
        return new long[]{s[0], nOut};
    }

    @Override
    public org.deeplearning4j.nn.api.Layer.Type runtimeType() {
        return org.deeplearning4j.nn.api.Layer.Type.FEED_FORWARD;
    }

    /** Builder: {@code new WeightNormDense.Builder().nOut(256).activation(Activation.RELU).build()}. */
    public static class Builder extends AbstractWeightNormLayer.Builder<Builder> {
        @Override
        @SuppressWarnings("unchecked")
        public WeightNormDense build() {
            return new WeightNormDense(this);
        }
    }
}
