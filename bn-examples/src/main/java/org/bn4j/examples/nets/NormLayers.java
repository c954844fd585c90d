package org.bn4j.examples.nets;

import java.util.Locale;
import java.util.function.Supplier;

import org.bn4j.layers.BatchNorm;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;

/**
 * Where the normalization layers of the examples come from. Network factories take a
 * {@code Supplier<Layer>} (null or {@link #none()} for "no normalization"), so any layer configuration
 * that infers its size from the input type can be compared.
 */
public final class NormLayers {

    private NormLayers() {
    }

    /** Which batch-norm implementation to use. */
    public enum Impl {
        /** {@link BatchNorm} from bn-layers. */
        BN4J,
        /** DL4J's built-in {@link BatchNormalization} (as a reference). */
        DL4J;

        public String describe() {
            return switch (this) {
                case BN4J -> "bn4j " + BatchNorm.class.getName();
                case DL4J -> "DL4J " + BatchNormalization.class.getName();
            };
        }

        public static Impl parse(String s) {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        }
    }

    /** No normalization layer. */
    public static Supplier<Layer> none() {
        return null;
    }

    /** Batch norm with default settings (decay 0.9, ε 1e-5, γ = 1, β = 0) from the given implementation. */
    public static Supplier<Layer> batchNorm(Impl impl) {
        return switch (impl) {
            case BN4J -> () -> new BatchNorm.Builder().build();
            // DL4J's defaults are decay 0.9, eps 1e-5 too; stated here so the two runs agree by construction
            case DL4J -> () -> new BatchNormalization.Builder().decay(0.9).eps(1e-5).build();
        };
    }
}
