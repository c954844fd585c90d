package org.bn4j.check;

import org.deeplearning4j.nn.api.Layer;

import java.util.Map;

/**
 * A plain implementation of what a layer computes, written by the user (loops over {@code double[]}, say), that
 * {@link LayerCheck} compares the layer with: a training-mode forward and backward, and an inference forward.
 */
@FunctionalInterface
public interface Reference {

    /**
     * What the layer should compute on this input.
     *
     * @return the expected values; null to skip this input (a mode the reference does not cover, say)
     */
    Expected compute(Input in);

    /**
     * The input of one comparison.
     *
     * @param kind     the input kind
     * @param x        the input values, C order
     * @param shape    the input shape
     * @param mask     the RNN mask [N, T] in C order, or null
     * @param params   the layer's parameters by name, C order (after they were randomized)
     * @param training true for a training-mode forward (then {@code dy} is given), false for inference
     * @param dy       the gradient of the loss with respect to the output, C order (training only)
     * @param layer    the layer itself, for values only it knows (the noise of a noisy layer, say)
     */
    record Input(InputKind kind, double[] x, long[] shape, double[] mask, Map<String, double[]> params, boolean training,
                 double[] dy, Layer layer) {
    }

    /**
     * Expected values; any may be null (not compared).
     *
     * @param y              the output
     * @param dx             the gradient with respect to the input
     * @param paramGradients the gradients with respect to (some of) the parameters, by name
     */
    record Expected(double[] y, double[] dx, Map<String, double[]> paramGradients) {
    }
}
