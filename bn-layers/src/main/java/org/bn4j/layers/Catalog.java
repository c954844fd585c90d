package org.bn4j.layers;

import org.bn4j.core.Statistic;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The library's named layer configurations, one list that the examples, the benchmarks and the tests all use: each
 * entry is a short name (as typed on the examples' command lines), a one-line description and a factory of fresh
 * configurations with the layer's defaults. Weight norm, which replaces a dense or convolution layer instead of
 * following one, is not in this list: see {@code WeightNormDense} and {@code WeightNormConv2D}.
 *
 * <pre>
 *   Layer norm = Catalog.get("gn").create();   // GroupNorm with 32 groups
 * </pre>
 */
public final class Catalog {

    /**
     * One named configuration.
     *
     * @param name        short name
     * @param description one line for summaries
     * @param factory     fresh configurations with this entry's options
     */
    public record Entry(String name, String description, Supplier<AbstractNormLayer> factory) {
        /** A fresh configuration. */
        public AbstractNormLayer create() {
            return factory.get();
        }
    }

    /** Samples per ghost batch of the {@code ghost} entry. */
    public static final int GHOST_BATCH = 32;
    /** Channel groups of the {@code gn} entry (Wu and He's default). */
    public static final int GROUPS = 32;

    private static final Map<String, Entry> ENTRIES = new LinkedHashMap<>();

    static {
        add("bn", "batch norm (BatchNorm)", () -> new BatchNorm.Builder().build());
        add("lp1", "L1 batch norm (LpBatchNorm p=1, Gaussian constant sqrt(pi/2))", () -> new LpBatchNorm.Builder().p(1).build());
        add("lpinf", "L-infinity batch norm (LpBatchNorm top-1, Hoffer et al.'s constant)",
                () -> new LpBatchNorm.Builder().topK(1).build());
        add("ghost", "ghost batch norm (GhostBatchNorm, ghost batches of " + GHOST_BATCH + ")",
                () -> new GhostBatchNorm.Builder().virtualBatchSize(GHOST_BATCH).build());
        add("noisy", "noisy batch norm (NoisyBatchNorm, Santurkar et al.'s noise)", () -> new NoisyBatchNorm.Builder().build());
        add("noise", "noise only (NoiseInjection, Santurkar et al.'s noise without batch norm)",
                () -> new NoiseInjection.Builder().build());
        add("renorm", "batch renormalization (BatchRenorm, the paper's schedule)", () -> new BatchRenorm.Builder().build());
        add("ln", "layer norm (LayerNorm)", () -> new LayerNorm.Builder().build());
        add("gn", "group norm (GroupNorm, " + GROUPS + " groups)", () -> new GroupNorm.Builder(GROUPS).build());
        add("in", "instance norm (InstanceNorm)", () -> new InstanceNorm.Builder().build());
        add("rms", "RMS norm (RMSNorm)", () -> new RMSNorm.Builder().build());
        add("ghost-lp1", "ghost L1 batch norm (BatchNorm with statistic lp(1) and ghost batches of " + GHOST_BATCH + ")",
                () -> new BatchNorm.Builder().statistic(Statistic.lp(1)).virtualBatchSize(GHOST_BATCH).build());
    }

    private Catalog() {
    }

    private static void add(String name, String description, Supplier<AbstractNormLayer> factory) {
        ENTRIES.put(name, new Entry(name, description, factory));
    }

    /** Every entry, in a fixed order. */
    public static List<Entry> all() {
        return List.copyOf(ENTRIES.values());
    }

    /** The names, in the order of {@link #all()}. */
    public static List<String> names() {
        return List.copyOf(ENTRIES.keySet());
    }

    /**
     * The entry with this name (case-insensitive).
     *
     * @throws IllegalArgumentException for an unknown name, listing the known ones
     */
    public static Entry get(String name) {
        Entry e = ENTRIES.get(name.trim().toLowerCase(Locale.ROOT));
        if (e == null) throw new IllegalArgumentException("unknown layer '" + name + "'; known: " + String.join(", ", names()));
        return e;
    }
}
