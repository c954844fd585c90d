package org.bn4j.convert;

import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.BatchNorm;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;

import java.util.function.Supplier;

/**
 * Makes the replacement of one normalization layer for {@link NormConverter}: given the old layer
 * ({@link NormSource}), the configuration of the new one, a bn4j layer or DL4J's {@code BatchNormalization}.
 *
 * <pre>{@code
 * NormFactory.bn4j(BatchNorm.Builder::new)                                   // bn4j batch norm
 * NormFactory.bn4j(() -> new GhostBatchNorm.Builder().virtualBatchSize(16))  // any bn4j layer, with its own options
 * NormFactory.dl4j()                                                         // back to DL4J's BatchNormalization
 * old -> new LayerNorm.Builder().name(old.name()).eps(old.eps()).build()     // anything else, by hand
 * }</pre>
 *
 * Whatever the factory leaves unset is completed by the converter: the number of features, the name, and the layer
 * settings DL4J fills from the network's defaults (updater, bias updater, dropout, gradient normalization,
 * constraints), which are taken from the old layer.
 */
@FunctionalInterface
public interface NormFactory {

    /** The configuration of the layer that replaces {@code old}. */
    Layer create(NormSource old);

    /**
     * A bn4j layer from a fresh builder with the old layer's options carried over ({@link NormSource#applyTo}: name,
     * features, ε, decay, data formats, fixed γ/β, initial γ/β); the builder's own options (ghost batch size, p,
     * noise, ...) are kept.
     *
     * @param builder a new builder per call, e.g. {@code BatchNorm.Builder::new}
     */
    static NormFactory bn4j(Supplier<? extends AbstractNormLayer.Builder<?>> builder) {
        return old -> old.applyTo(builder.get()).build();
    }

    /** DL4J's {@code BatchNormalization} with the variance stored as is ({@code useLogStd(false)}): see {@link #dl4j(boolean)}. */
    static NormFactory dl4j() {
        return dl4j(false);
    }

    /**
     * DL4J's {@code BatchNormalization}, for deployments without bn4j. Converts bn4j's {@link BatchNorm} (exactly that
     * class: the other bn4j layers compute something DL4J's layer cannot, and are rejected with an error naming the
     * layer) and DL4J's own layer. Carries name, features, ε, decay, the NCHW/NHWC format and the initial γ/β;
     * {@code affine(false)} becomes {@code lockGammaBeta(true)} with γ = 1, β = 0. Rejects RNN input (DL4J's layer
     * mis-handles it) when the network's input types are known.
     *
     * @param useLogStd store the running variance as log10 of the standard deviation (DL4J's default when building a
     *                  layer by hand) instead of as is; false keeps the variance bit-exact
     */
    static NormFactory dl4j(boolean useLogStd) {
        return old -> {
            Layer l = old.layer();
            String why = l instanceof BatchNormalization ? null : dl4jEquivalent(l);
            if (why != null) {
                throw new IllegalArgumentException(old.describe() + ": DL4J has no equivalent of " + l.getClass().getSimpleName()
                        + " (" + why + "); only bn4j's plain BatchNorm (and DL4J's BatchNormalization) convert to DL4J's"
                        + " BatchNormalization");
            }
            if (old.inputType().map(t -> t.getType() == InputType.Type.RNN).orElse(false)) {
                throw new IllegalArgumentException(old.describe() + ": DL4J's BatchNormalization does not handle RNN input"
                        + " (it normalizes over the wrong axes); got input type " + old.inputType().get());
            }
            BatchNormalization.Builder b = new BatchNormalization.Builder().name(old.name()).nIn(old.features())
                    .nOut(old.features()).eps(old.eps()).decay(old.decay().orElse(0.9)).dataFormat(old.cnn2dFormat())
                    .useLogStd(useLogStd);
            FixedAffine fixed = FixedAffine.of(l);
            if (fixed.gamma() == null && fixed.beta() == null) {
                double[] init = old.initialGammaBeta();
                b.gamma(init[0]).beta(init[1]);
            } else if (fixed.dl4j(b) == null) {
                throw new IllegalArgumentException(old.describe() + ": DL4J's BatchNormalization cannot hold " + fixed
                        + " (it fixes both or neither, and with lockGammaBeta it applies γ x̂ + β only when γ ≠ 1 and β ≠ 0)");
            }
            return b.build();
        };
    }

    /** Null if a bn4j layer computes what DL4J's BatchNormalization computes, else what it does beyond it. */
    private static String dl4jEquivalent(Layer l) {
        if (!(l instanceof BatchNorm n) || l.getClass() != BatchNorm.class) return "not a BatchNorm";
        if (n.getStatistic().kind() != org.bn4j.core.Statistic.Kind.VARIANCE) return "statistic " + n.getStatistic();
        if (!n.isCenter()) return "no centring";
        if (n.getVirtualBatchSize() > 0) return "ghost batches";
        if (n.getNoise() != null) return "noise";
        if (!n.hasRunningStats() || n.isCumulative() || n.isFrozenStatistics()) return "its running-statistics options";
        if (!(n.activation() instanceof org.nd4j.linalg.activations.impl.ActivationIdentity)) return "an activation";
        return null;
    }
}
