package org.bn4j.convert;

import org.bn4j.layers.AbstractNormLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.BiPredicate;

/**
 * Which normalization layers of a network {@link NormConverter} replaces. The candidates are DL4J's
 * {@link BatchNormalization} and every bn4j normalization layer ({@link AbstractNormLayer} and its subclasses),
 * also inside DL4J's {@code FrozenLayer} and {@code FrozenLayerWithBackprop}; other layers are never replaced.
 *
 * <pre>{@code
 * NormSelector.all()                                  // every normalization layer
 * NormSelector.ofType(BatchNormalization.class)       // DL4J's batch norm only
 * NormSelector.named("bn1", "bn2")                    // by layer (vertex) name
 * NormSelector.ofType(BatchNorm.class).and(NormSelector.named("stem-batch1").negate())
 * }</pre>
 *
 * A selector that matches no layer of a network is an error ({@link NormConverter} says which selector and which
 * normalization layers the network has), and so is a name that is not in the network or is not a normalization layer.
 */
public final class NormSelector {

    private final String description;
    private final BiPredicate<String, Layer> test;
    /** Names that must exist in the network and be normalization layers, or empty. */
    private final Set<String> requiredNames;

    private NormSelector(String description, BiPredicate<String, Layer> test, Set<String> requiredNames) {
        this.description = description;
        this.test = test;
        this.requiredNames = requiredNames;
    }

    /** True for the layers a selector can pick: DL4J's BatchNormalization and every bn4j normalization layer. */
    public static boolean isNormLayer(Layer layer) {
        return layer instanceof BatchNormalization || layer instanceof AbstractNormLayer;
    }

    /** Every normalization layer: DL4J's {@code BatchNormalization} and every bn4j layer. */
    public static NormSelector all() {
        return new NormSelector("all normalization layers", (name, layer) -> true, Set.of());
    }

    /**
     * The normalization layers that are instances of one of the given classes (subclasses included), e.g.
     * {@code BatchNormalization.class}, {@code BatchNorm.class} or {@code AbstractNormLayer.class}.
     *
     * @throws IllegalArgumentException for a class that is not a normalization layer a selector can pick
     */
    @SafeVarargs
    public static NormSelector ofType(Class<? extends Layer>... types) {
        if (types.length == 0) throw new IllegalArgumentException("NormSelector.ofType: give at least one layer class");
        for (Class<? extends Layer> t : types) {
            if (!BatchNormalization.class.isAssignableFrom(t) && !AbstractNormLayer.class.isAssignableFrom(t)) {
                throw new IllegalArgumentException("NormSelector.ofType: " + t.getName() + " is not a normalization layer"
                        + " the converter can replace; expected DL4J's BatchNormalization or a bn4j layer (a subclass of "
                        + AbstractNormLayer.class.getName() + ")");
            }
        }
        List<Class<? extends Layer>> list = List.of(types);
        return new NormSelector("layers of type " + list.stream().map(Class::getSimpleName).toList(),
                (name, layer) -> list.stream().anyMatch(t -> t.isInstance(layer)), Set.of());
    }

    /**
     * The layers with these names (the layer name in a MultiLayerNetwork, the vertex name in a ComputationGraph).
     * Every name must be a normalization layer of the network.
     */
    public static NormSelector named(String... names) {
        if (names.length == 0) throw new IllegalArgumentException("NormSelector.named: give at least one layer name");
        Set<String> set = Set.copyOf(Arrays.asList(names));
        return new NormSelector("layers named " + Arrays.toString(names), (name, layer) -> set.contains(name), set);
    }

    /** The layers both selectors pick. */
    public NormSelector and(NormSelector other) {
        return new NormSelector("(" + description + ") and (" + other.description + ")",
                test.and(other.test), union(other));
    }

    /** The layers either selector picks. */
    public NormSelector or(NormSelector other) {
        return new NormSelector("(" + description + ") or (" + other.description + ")", test.or(other.test), union(other));
    }

    /** The normalization layers this selector does not pick (names given to {@link #named} must still exist). */
    public NormSelector negate() {
        return new NormSelector("not (" + description + ")", test.negate(), requiredNames);
    }

    private Set<String> union(NormSelector other) {
        java.util.HashSet<String> s = new java.util.HashSet<>(requiredNames);
        s.addAll(other.requiredNames);
        return Set.copyOf(s);
    }

    /** True if this selector picks the layer {@code layer} (unwrapped from a frozen wrapper) named {@code name}. */
    public boolean matches(String name, Layer layer) {
        return isNormLayer(layer) && test.test(name, layer);
    }

    /** Names that must be normalization layers of the network. */
    Set<String> requiredNames() {
        return requiredNames;
    }

    @Override
    public String toString() {
        return description;
    }
}
