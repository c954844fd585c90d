package org.nd4j.nativeblas;

/**
 * Answers DL4J 1.0.0-M2.1's oneDNN helper check. {@code BaseMKLDNNHelper.mklDnnEnabled()} looks up this class and its
 * method {@code isUseMKLDNN()}, which ND4J 1.0.0-M2.1 renamed ({@code
 * org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment#isUseONEDNN}); without an answer no convolution or
 * pooling layer ever gets its oneDNN helper, and a VGG-mini training step takes 6–11× longer. This stand-in forwards
 * to ND4J's real environment. It only matters when the helpers are switched on
 * ({@link org.bn4j.examples.util.OneDnnHelpers}); see the user guide's page cnn-speed.md.
 */
public class Nd4jCpu {

    /** The part of the old native environment that DL4J's check calls. */
    public static class Environment {
        private static final Environment INSTANCE = new Environment();

        public static Environment getInstance() {
            return INSTANCE;
        }

        /** Whether ND4J's native build uses oneDNN (false for a build without it, or when it cannot be asked). */
        public boolean isUseMKLDNN() {
            try {
                Class<?> c = Class.forName("org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment");
                Object env = c.getMethod("getInstance").invoke(null);
                return (Boolean) c.getMethod("isUseONEDNN").invoke(env);
            } catch (ReflectiveOperationException e) {
                return false;
            }
        }
    }
}
