package org.bn4j.diagnostics;

/**
 * Internal covariate shift of one layer at one point of training, as Santurkar et al. (2018, Definition 2.1)
 * measure it: G = ∇_W L, the gradient of the layer's weights at the current parameters, and G' the same gradient
 * after every layer before it has taken its step on the same data. Small ‖G − G'‖ and a cosine near 1 mean little
 * shift.
 *
 * @param layer    the layer's name
 * @param diffNorm ‖G − G'‖₂
 * @param cosine   cos(G, G')
 * @param gradNorm ‖G‖₂
 */
public record CovariateShift(String layer, double diffNorm, double cosine, double gradNorm) {
}
