package org.bn4j.exec;

import java.nio.ByteBuffer;

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

    /**
     * dst[0..n) = elements [e, e + n) of a native-order buffer of float32 ({@code f32}) or float64 values: a vector of
     * lanes at a time when the Vector API is present.
     */
    public static void load(ByteBuffer src, boolean f32, long e, double[] dst, int n) {
        if (AVAILABLE) {
            VectorOps.load(src, f32, e, dst, 0, n);
        } else if (f32) {
            for (int i = 0; i < n; i++) dst[i] = src.getFloat(Math.toIntExact(4 * (e + i)));
        } else {
            for (int i = 0; i < n; i++) dst[i] = src.getDouble(Math.toIntExact(8 * (e + i)));
        }
    }

    /**
     * Elements [e, e + n) of a native-order buffer of float32 ({@code f32}) or float64 values = src[0..n), each rounded
     * once: a vector of lanes at a time when the Vector API is present.
     */
    public static void store(double[] src, int n, ByteBuffer dst, boolean f32, long e) {
        if (AVAILABLE) {
            VectorOps.store(src, 0, dst, f32, e, n);
        } else if (f32) {
            for (int i = 0; i < n; i++) dst.putFloat(Math.toIntExact(4 * (e + i)), (float) src[i]);
        } else {
            for (int i = 0; i < n; i++) dst.putDouble(Math.toIntExact(8 * (e + i)), src[i]);
        }
    }
}
