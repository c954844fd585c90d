package org.bn4j.diagnostics;

import java.util.Objects;

/**
 * Where an activation probe looks: the output of a named layer, or its input (the output of the one layer or
 * vertex that feeds it, or the network input). Watching the input of the activation layers of a network compares
 * networks with and without a normalization layer in front of them, whatever that layer is called.
 *
 * @param layer the layer's name ({@code Layer.Builder.name}, or the vertex name in a ComputationGraph)
 * @param input true for the layer's input, false for its output
 */
public record Site(String layer, boolean input) {

    public Site {
        Objects.requireNonNull(layer, "layer");
    }

    /** The output of layer {@code layer}. */
    public static Site output(String layer) {
        return new Site(layer, false);
    }

    /** The input of layer {@code layer}. */
    public static Site input(String layer) {
        return new Site(layer, true);
    }

    /** {@code layer} for an output, {@code layer:in} for an input (the name used in CSV files). */
    @Override
    public String toString() {
        return input ? layer + ":in" : layer;
    }
}
