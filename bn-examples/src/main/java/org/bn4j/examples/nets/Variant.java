package org.bn4j.examples.nets;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongFunction;
import java.util.function.Supplier;

import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.GhostBatchNorm;
import org.bn4j.layers.LayerNorm;
import org.bn4j.layers.LpBatchNorm;
import org.bn4j.layers.NoiseConfig;
import org.bn4j.layers.NoiseInjection;
import org.bn4j.layers.NoisyBatchNorm;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;

/**
 * One way of normalizing a network, as the network factories ({@link Mlp}, {@link VggMini}, {@link DeepLinear})
 * take it: a normalization layer placed after every hidden linear/convolution layer (or none), the hidden
 * activation and the weight initialization. Every variant of an experiment goes through the same factory, so
 * the networks differ only in what this record says.
 *
 * @param name       short name used on the command line and in CSV files
 * @param describe   one line for summaries
 * @param norm       the normalization layer (a fresh configuration per call), or null for none
 * @param activation hidden activation for ReLU networks; {@link #selu()} replaces it with SELU
 * @param init       weight initialization
 * @param selu       true for the self-normalizing baseline (SELU + LeCun normal, no normalization layer)
 * @param weightNorm true when the dense and convolution layers themselves are weight-normalized
 *                   ({@code WeightNormDense}, {@code WeightNormConv2D}, data-dependent init) instead of followed by a norm layer
 */
public record Variant(String name, String describe, Supplier<Layer> norm, Activation activation, WeightInit init,
                      boolean selu, boolean weightNorm) {

    /** True when the variant has a normalization layer (so the preceding layer drops its bias). */
    public boolean hasNorm() {
        return norm != null;
    }

    /** The hidden activation of a network that would otherwise use {@code usual}. */
    public Activation activationOr(Activation usual) {
        return selu ? Activation.SELU : usual;
    }

    /** Names understood by {@link #parse}, in the order of {@link #all}. */
    public static final List<String> NAMES = List.of("none", "selu", "bn", "dl4j-bn", "lp1", "lp2", "lpinf", "ghost",
            "noisy", "noise", "ln", "wn");

    /** Ghost batch size of the {@code ghost} variant. */
    public static final int GHOST_BATCH = 32;

    private static final Map<String, LongFunction<Variant>> REGISTRY = new LinkedHashMap<>();

    static {
        REGISTRY.put("none", s -> plain("none", "no normalization (layers with bias)", null));
        REGISTRY.put("selu", s -> new Variant("selu", "no normalization, SELU activation, LeCun normal init "
                + "(self-normalizing baseline)", null, Activation.SELU, WeightInit.LECUN_NORMAL, true, false));
        REGISTRY.put("bn", s -> plain("bn", "batch norm (org.bn4j.layers.BatchNorm)", () -> new BatchNorm.Builder().build()));
        REGISTRY.put("dl4j-bn", s -> plain("dl4j-bn", "DL4J's built-in BatchNormalization (reference)",
                () -> new BatchNormalization.Builder().decay(0.9).eps(1e-5).build()));
        REGISTRY.put("lp1", s -> plain("lp1", "L1 batch norm (LpBatchNorm p=1, Gaussian constant sqrt(pi/2))",
                () -> new LpBatchNorm.Builder().p(1).build()));
        REGISTRY.put("lp2", s -> plain("lp2", "L2 batch norm (LpBatchNorm p=2; equals batch norm by definition)",
                () -> new LpBatchNorm.Builder().p(2).build()));
        REGISTRY.put("lpinf", s -> plain("lpinf", "L-infinity batch norm (LpBatchNorm top-1, Hoffer et al.'s constant)",
                () -> new LpBatchNorm.Builder().topK(1).build()));
        REGISTRY.put("ghost", s -> plain("ghost", "ghost batch norm (GhostBatchNorm, ghost batches of " + GHOST_BATCH + ")",
                () -> new GhostBatchNorm.Builder().virtualBatchSize(GHOST_BATCH).build()));
        REGISTRY.put("noisy", s -> plain("noisy", "noisy batch norm (NoisyBatchNorm, Santurkar et al.'s noise, seed " + s + ")",
                () -> new NoisyBatchNorm.Builder().noise(NoiseConfig.santurkar().withSeed(s)).build()));
        REGISTRY.put("noise", s -> plain("noise", "noise only (NoiseInjection, same noise without batch norm, seed " + s + ")",
                () -> new NoiseInjection.Builder().noise(NoiseConfig.santurkar().withSeed(s)).build()));
        REGISTRY.put("ln", s -> plain("ln", "layer norm (org.bn4j.layers.LayerNorm)", () -> new LayerNorm.Builder().build()));
        REGISTRY.put("wn", s -> new Variant("wn", "weight norm (WeightNormDense / WeightNormConv2D, data-dependent init)",
                null, Activation.RELU, WeightInit.XAVIER_UNIFORM, false, true));
    }

    private static Variant plain(String name, String describe, Supplier<Layer> norm) {
        return new Variant(name, describe, norm, Activation.RELU, WeightInit.XAVIER_UNIFORM, false, false);
    }

    /**
     * The variant with this name; {@code seed} seeds the noise of the noisy variants.
     *
     * @throws IllegalArgumentException for an unknown name
     */
    public static Variant of(String name, long seed) {
        LongFunction<Variant> f = REGISTRY.get(name.trim().toLowerCase(Locale.ROOT));
        if (f == null) {
            throw new IllegalArgumentException("unknown variant '" + name + "'; known: " + String.join(", ", NAMES));
        }
        return f.apply(seed);
    }

    /** Parses a list of names. */
    public static List<Variant> parse(List<String> names, long seed) {
        List<Variant> out = new ArrayList<>();
        for (String n : names) {
            out.add(of(n, seed));
        }
        return out;
    }
}
