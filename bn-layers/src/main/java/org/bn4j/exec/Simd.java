package org.bn4j.exec;

/**
 * Whether the Vector API ({@code jdk.incubator.vector}) is present: the JVM was started with
 * {@code --add-modules jdk.incubator.vector}. Checked without loading any class of the module, so the library loads
 * and runs without it. Public for the library's other users of the Vector API (the noise stream of
 * {@code org.bn4j.core.NoiseStream}).
 */
public final class Simd {
    private static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private Simd() {
    }

    public static boolean available() {
        return AVAILABLE;
    }
}
