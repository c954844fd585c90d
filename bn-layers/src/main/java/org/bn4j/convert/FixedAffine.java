package org.bn4j.convert;

import org.bn4j.layers.AbstractNormLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;

/**
 * γ and β held at fixed values instead of trained: the one place where the converter reads and writes them.
 *
 * <p>DL4J's {@code lockGammaBeta(true).gamma(g).beta(b)} has no γ/β parameters. Its forward pass (M2.1, both the
 * 2-D and the 4-D path) applies {@code g x̂ + b} only when g ≠ 1 <em>and</em> b ≠ 0, and {@code x̂} otherwise; the
 * converter keeps the function the network computes, so it uses those effective values.
 *
 * <p>bn4j: {@code affine(false)} is γ = 1, β = 0. Fixed values other than (1, 0) need bn4j's
 * {@code fixedGamma}/{@code fixedBeta}, which are not available yet: {@link #apply} and {@link #of} are where
 * they are to be wired.
 */
final class FixedAffine {

    private FixedAffine() {
    }

    /**
     * The fixed {γ, β} a layer applies, or null if its γ and β are parameters.
     */
    static double[] of(Layer layer) {
        if (layer instanceof BatchNormalization b) {
            if (!b.isLockGammaBeta()) return null;
            boolean applied = b.getGamma() != 1.0 && b.getBeta() != 0.0; // DL4J M2.1's condition in preOutput
            return applied ? new double[]{b.getGamma(), b.getBeta()} : new double[]{1, 0};
        }
        if (layer instanceof AbstractNormLayer n) {
            // TODO(fixed γ/β): return {fixedGamma, fixedBeta} of a layer that has them
            return n.isAffine() ? null : new double[]{1, 0};
        }
        throw new IllegalArgumentException("not a normalization layer: " + layer.getClass().getName());
    }

    /**
     * Makes a bn4j builder hold γ and β at these values.
     *
     * @throws UnsupportedOperationException for values other than γ = 1, β = 0, until bn4j has fixed γ/β
     */
    static void apply(AbstractNormLayer.Builder<?> builder, double gamma, double beta, String layer) {
        if (gamma == 1.0 && beta == 0.0) {
            builder.affine(false);
            return;
        }
        // TODO(fixed γ/β): builder.fixedGamma(gamma).fixedBeta(beta)
        throw new UnsupportedOperationException(layer + ": fixed γ = " + gamma + ", β = " + beta
                + " (DL4J's lockGammaBeta) is not supported yet by bn4j's layers; only γ = 1, β = 0 (affine(false)) is");
    }

    /** DL4J's builder settings for these fixed values, or null if DL4J's layer cannot apply them. */
    static BatchNormalization.Builder dl4j(BatchNormalization.Builder builder, double gamma, double beta) {
        if (gamma == 1.0 && beta == 0.0) return builder.lockGammaBeta(true).gamma(1).beta(0);
        if (gamma != 1.0 && beta != 0.0) return builder.lockGammaBeta(true).gamma(gamma).beta(beta);
        return null; // DL4J would apply x̂ instead
    }
}
