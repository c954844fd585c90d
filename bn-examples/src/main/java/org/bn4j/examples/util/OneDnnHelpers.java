package org.bn4j.examples.util;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * DL4J's oneDNN layer helpers for the experiments' networks. DL4J 1.0.0-M2.1 creates a helper (oneDNN convolution,
 * pooling, batch norm) for a layer only when the system property {@value #PROPERTY} is {@code false} (its default is
 * {@code true}) and its support check passes; the check asks a class that ND4J M2.1 no longer has, which this module
 * supplies ({@link org.nd4j.nativeblas.Nd4jCpu}). With both, a standard VGG-mini training step takes about 0.2–0.3 s
 * instead of about 2 s on one core, and its float32 gradients are nearer float64 (docs/cnn-speed.md).
 *
 * <p>{@link #enableUnlessSet()} switches them on for networks built afterwards unless the property was given on the
 * command line: {@code -D}{@value #PROPERTY}{@code =true} keeps DL4J's default (built-in) path.
 */
public final class OneDnnHelpers {

    /** DL4J's switch: {@code true} (DL4J's default) means no layer helpers. */
    public static final String PROPERTY = "org.eclipse.deeplearning4j.helpers.disable";

    private OneDnnHelpers() {
    }

    /** Sets {@value #PROPERTY} to {@code false} unless it is set already. */
    public static void enableUnlessSet() {
        if (System.getProperty(PROPERTY) == null) {
            System.setProperty(PROPERTY, "false");
        }
    }

    /** How many of the network's convolution layers hold a helper, e.g. "oneDNN helpers in 4 of 4 convolution layers". */
    public static String describe(MultiLayerNetwork net) {
        int conv = 0;
        int helped = 0;
        for (Layer l : net.getLayers()) {
            if (l instanceof org.deeplearning4j.nn.layers.convolution.ConvolutionLayer) {
                conv++;
                helped += l.getHelper() != null ? 1 : 0;
            }
        }
        return "DL4J layer helpers in " + helped + " of " + conv + " convolution layers (" + PROPERTY + "="
                + System.getProperty(PROPERTY, "(unset)") + ")";
    }
}
