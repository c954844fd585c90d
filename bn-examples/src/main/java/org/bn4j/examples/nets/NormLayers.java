package org.bn4j.examples.nets;

import java.util.Locale;
import java.util.function.Supplier;

import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;

/**
 * Where the normalization layers of the examples come from. Network factories take a
 * {@code Supplier<Layer>} (null or {@link #none()} for "no normalization"), so any layer configuration
 * that infers its size from the input type can be compared.
 */
public final class NormLayers {

    /** Fully qualified name of the library's batch-norm configuration class. */
    public static final String BN4J_BATCH_NORM = "org.bn4j.layers.BatchNorm";

    private NormLayers() {
    }

    /** Which batch-norm implementation to use. */
    public enum Impl {
        /** The library's {@code org.bn4j.layers.BatchNorm} if on the classpath, else DL4J's. */
        AUTO,
        /** {@code org.bn4j.layers.BatchNorm} (bn-layers). */
        BN4J,
        /** DL4J's built-in {@code org.deeplearning4j.nn.conf.layers.BatchNormalization}. */
        DL4J;

        /** Resolves AUTO to the implementation actually available. */
        public Impl resolve() {
            if (this != AUTO) {
                return this;
            }
            return bn4jAvailable() ? BN4J : DL4J;
        }

        public String describe() {
            return switch (resolve()) {
                case BN4J -> "bn4j " + BN4J_BATCH_NORM;
                case DL4J -> "DL4J " + BatchNormalization.class.getName();
                default -> throw new IllegalStateException();
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

    /** True when bn-layers provides {@code org.bn4j.layers.BatchNorm} at run time. */
    public static boolean bn4jAvailable() {
        try {
            Class.forName(BN4J_BATCH_NORM + "$Builder");
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    /** Batch norm with default settings (decay 0.9, ε 1e-5, γ = 1, β = 0) from the given implementation. */
    public static Supplier<Layer> batchNorm(Impl impl) {
        return switch (impl.resolve()) {
            case BN4J -> NormLayers::bn4jBatchNorm;
            case DL4J -> () -> new BatchNormalization.Builder().decay(0.9).eps(1e-5).build();
            default -> throw new IllegalStateException();
        };
    }

    /**
     * {@code new org.bn4j.layers.BatchNorm.Builder().build()}, looked up reflectively so this module
     * compiles against a bn-layers that does not have the class yet.
     */
    static Layer bn4jBatchNorm() {
        try {
            Class<?> builder = Class.forName(BN4J_BATCH_NORM + "$Builder");
            Object b = builder.getConstructor().newInstance();
            return (Layer) builder.getMethod("build").invoke(b);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(BN4J_BATCH_NORM + " is not on the classpath (bn-layers too old?); "
                    + "use --impl dl4j", e);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot build " + BN4J_BATCH_NORM, e);
        }
    }
}
