package org.bn4j.convert;

import org.bn4j.layers.AbstractNormLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;

/**
 * γ and β held at fixed values instead of trained, each on its own: the one place where the converter reads and writes
 * them.
 *
 * <p>DL4J's {@code lockGammaBeta(true).gamma(g).beta(b)} has no γ/β parameters. Its forward pass (M2.1, both the 2-D
 * and the 4-D path) applies {@code g x̂ + b} only when g ≠ 1 <em>and</em> b ≠ 0, and {@code x̂} otherwise; the
 * converter keeps the function the network computes, so it uses those effective values. bn4j holds γ and β fixed
 * with {@code fixedGamma}/{@code fixedBeta}, or leaves them out ({@code scale(false)}: γ = 1, {@code bias(false)}: β = 0).
 *
 * @param gamma the fixed γ, or null if γ is a trained parameter
 * @param beta  the fixed β, or null if β is a trained parameter
 */
record FixedAffine(Double gamma, Double beta) {

    /** The fixed γ and β a layer applies (each null where it is a parameter). */
    static FixedAffine of(Layer layer) {
        if (layer instanceof BatchNormalization b) {
            if (!b.isLockGammaBeta()) return new FixedAffine(null, null);
            boolean applied = b.getGamma() != 1.0 && b.getBeta() != 0.0; // DL4J M2.1's condition in preOutput
            return applied ? new FixedAffine(b.getGamma(), b.getBeta()) : new FixedAffine(1.0, 0.0);
        }
        if (layer instanceof AbstractNormLayer n) {
            return new FixedAffine(n.learnsGamma() ? null : n.isScale() ? n.getFixedGamma() : 1.0,
                    n.learnsBeta() ? null : n.isBias() ? n.getFixedBeta() : 0.0);
        }
        throw new IllegalArgumentException("not a normalization layer: " + layer.getClass().getName());
    }

    /** Makes a bn4j builder hold γ and β where they are fixed here (γ = 1 and β = 0 as no γ and no β). */
    void applyTo(AbstractNormLayer.Builder<?> builder) {
        if (gamma != null) {
            if (gamma == 1.0) builder.scale(false);
            else builder.fixedGamma(gamma);
        }
        if (beta != null) {
            if (beta == 0.0) builder.bias(false);
            else builder.fixedBeta(beta);
        }
    }

    /** DL4J's builder settings for these values, or null if DL4J's layer cannot apply them (it fixes both or none). */
    BatchNormalization.Builder dl4j(BatchNormalization.Builder builder) {
        if (gamma == null && beta == null) return builder;
        if (gamma == null || beta == null) return null;
        if (gamma == 1.0 && beta == 0.0) return builder.lockGammaBeta(true).gamma(1).beta(0);
        if (gamma != 1.0 && beta != 0.0) return builder.lockGammaBeta(true).gamma(gamma).beta(beta);
        return null; // DL4J would apply x̂ instead
    }

    @Override
    public String toString() {
        return "γ " + (gamma == null ? "trained" : "= " + gamma) + ", β " + (beta == null ? "trained" : "= " + beta);
    }
}
