package org.bn4j.diagnostics;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The loss at the current parameters and the gradient as the optimizer applies it, both on the probe's data in
 * training mode.
 *
 * @param loss     mean loss over the examples (DL4J's score: the loss function's mean over the batch plus any
 *                 regularization score)
 * @param gradient a vector as long as the network's parameters, laid out like them: the gradient of the mean loss
 *                 for every trained parameter (DL4J's backprop gives the sum over the batch; its updater divides by
 *                 the batch size, and so does this), and 0 for parameters no optimizer updates (those with a
 *                 {@code NoOp} updater, such as running statistics). One plain SGD step with learning rate lr is
 *                 {@code params − lr·gradient}.
 */
public record LossGradient(double loss, INDArray gradient) {
}
