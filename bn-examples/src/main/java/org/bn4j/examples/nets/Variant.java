package org.bn4j.examples.nets;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongFunction;
import java.util.function.Supplier;

import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.BatchRenorm;
import org.bn4j.layers.Catalog;
import org.bn4j.layers.LpBatchNorm;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

/**
 * One way of normalizing a network, as the network factories ({@link Mlp}, {@link VggMini}, {@link DeepLinear})
 * take it: a normalization layer placed after every hidden linear/convolution layer (or none), the hidden
 * activation and the weight initialization. Every variant of an experiment goes through the same factory, so
 * the networks differ only in what this record says.
 *
 * <p>The bn4j layers come from the library's {@link Catalog}, by the same names (bn, lp1, lpinf, ghost, noisy, noise,
 * renorm, ln, gn, in, rms, ghost-lp1, and whatever the catalog adds); the noise of the noisy entries is seeded with the
 * experiment's seed. Five entries exist only here: {@code none} (no normalization), {@code selu} (SELU without
 * normalization), {@code dl4j-bn} (DL4J's own {@code BatchNormalization}, a reference), {@code lp2} ({@code LpBatchNorm}
 * with p = 2, batch norm's function computed by the Lp code) and {@code wn} (weight norm, which replaces the dense or
 * convolution layer instead of following it).
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

    /** Ghost batch size of the {@code ghost} and {@code ghost-lp1} variants (the catalog's). */
    public static final int GHOST_BATCH = Catalog.GHOST_BATCH;

    private static final Map<String, LongFunction<Variant>> REGISTRY = new LinkedHashMap<>();

    static {
        REGISTRY.put("none", s -> plain("none", "no normalization (layers with bias)", null));
        REGISTRY.put("selu", s -> new Variant("selu", "no normalization, SELU activation, LeCun normal init "
                + "(self-normalizing baseline)", null, Activation.SELU, WeightInit.LECUN_NORMAL, true, false));
        for (Catalog.Entry e : Catalog.all()) {
            REGISTRY.put(e.name(), s -> fromCatalog(e, s));
            if (e.name().equals("bn")) {
                REGISTRY.put("dl4j-bn", s -> plain("dl4j-bn", "DL4J's built-in BatchNormalization (reference)",
                        () -> new BatchNormalization.Builder().decay(0.9).eps(1e-5).build()));
            }
            if (e.name().equals("lp1")) {
                REGISTRY.put("lp2", s -> plain("lp2", "L2 batch norm (LpBatchNorm p=2; equals batch norm by definition)",
                        () -> new LpBatchNorm.Builder().p(2).build()));
            }
        }
        REGISTRY.put("wn", s -> new Variant("wn", "weight norm (WeightNormDense / WeightNormConv2D, data-dependent init)",
                null, Activation.RELU, WeightInit.XAVIER_UNIFORM, false, true));
    }

    /** Names understood by {@link #of}: the five examples-only entries and every {@link Catalog} name. */
    public static final List<String> NAMES = List.copyOf(REGISTRY.keySet());

    private static Variant plain(String name, String describe, Supplier<Layer> norm) {
        return new Variant(name, describe, norm, Activation.RELU, WeightInit.XAVIER_UNIFORM, false, false);
    }

    private static Variant fromCatalog(Catalog.Entry e, long seed) {
        AbstractNormLayer sample = e.create();
        String describe = e.description();
        if (sample.getNoise() != null) {
            describe += ", noise seed " + seed;
        }
        if (sample instanceof BatchRenorm r) {
            describe += "; r = 1, d = 0 (batch norm) for the first " + r.getWarmupSteps() + " steps";
        }
        return plain(e.name(), describe, () -> withNoiseSeed(e.create(), seed));
    }

    /**
     * The layer with its noise (if it has any) seeded with {@code seed}, through the layer's JSON form (the catalog
     * makes its layers with the default seed 0; the layers have no setter).
     */
    static Layer withNoiseSeed(AbstractNormLayer layer, long seed) {
        if (layer.getNoise() == null) {
            return layer;
        }
        try {
            ObjectMapper m = NeuralNetConfiguration.mapper();
            ObjectNode json = (ObjectNode) m.readTree(m.writeValueAsString(layer));
            ((ObjectNode) json.get("noise")).put("seed", seed);
            AbstractNormLayer seeded = (AbstractNormLayer) m.treeToValue(json, Layer.class);
            if (!seeded.getNoise().equals(layer.getNoise().withSeed(seed))) {
                throw new IllegalStateException("the noise of " + layer.getClass().getSimpleName() + " did not take the seed "
                        + seed + ": " + seeded.getNoise());
            }
            return seeded;
        } catch (java.io.IOException ex) {
            throw new IllegalStateException("cannot seed the noise of " + layer.getClass().getSimpleName(), ex);
        }
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
