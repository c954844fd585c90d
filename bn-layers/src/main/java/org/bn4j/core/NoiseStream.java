package org.bn4j.core;

import org.bn4j.exec.Simd;

/**
 * A counter-based stream of standard normal and uniform values, for the noise of the noisy layers: value i of a stream
 * is a function of the stream's key and i alone, so any part of it can be computed on its own, by any thread, with or
 * without the Vector API, and gives the same bits.
 *
 * <p>The stream is made of the {@code long}s L[c] of {@code new SplittableRandom(key)} (its {@code nextLong()}s:
 * SplittableRandom's mix of key + (c + 1)·γ), 16 for each block of 16 elements. For element i, block b = ⌊i/16⌋,
 * lane k = i mod 16, p = k mod 8, and hi(L), lo(L) the high and low 32 bits of L:
 * <pre>
 *   u_i = (hi(L[16b + p]) + 1/2) · 2^-32  if k &lt; 8,   (lo(L[16b + p]) + 1/2) · 2^-32  if k ≥ 8      uniform on (0, 1)
 *   with L = L[16b + 8 + p]:  u1 = (hi(L) + 1/2) · 2^-32,   u2 = lo(L) · 2^-32                       (Box–Muller)
 *   z_i = √(−2 ln u1) · cos(2π u2)  if k &lt; 8,   √(−2 ln u1) · sin(2π u2)  if k ≥ 8                 standard normal
 * </pre>
 * so the 16 elements of a block share 8 Box–Muller pairs (the cosine to the first 8, the sine to the last 8). The
 * logarithm, sine and cosine are fdlibm's polynomials evaluated with additions, multiplications and one division (no
 * fused multiply-add), within 1 ulp of {@link StrictMath}'s; the same operations in the same order in both
 * implementations make the two agree bit for bit. |z| is at most √(66 ln 2) ≈ 6.76 (u1 ≥
 * 2^-33), a tail of probability 1.4·10^-11 left out.
 *
 * <p>With the Vector API ({@code --add-modules jdk.incubator.vector}) the values are computed a vector of lanes at a time;
 * without it, one at a time.
 */
public final class NoiseStream {
    /** Elements per block: they share the Box–Muller pairs of one block. */
    static final int BLOCK = 16;
    /** Longs of the stream per block: two uniforms and one Box–Muller pair for each two elements. */
    static final int LONGS = 16;
    /** SplittableRandom's default increment. */
    static final long GAMMA = 0x9E3779B97F4A7C15L;

    private NoiseStream() {
    }

    /**
     * Fills z[0..n) and u[0..n) with the standard normal and uniform values of elements [from, from + n) of the stream.
     */
    public static void fill(long key, long from, int n, double[] z, double[] u) {
        if (n < 0 || n > z.length || n > u.length) {
            throw new IllegalArgumentException("noise stream: expected 0 <= n <= the arrays' lengths; got n=" + n
                    + ", lengths " + z.length + " and " + u.length);
        }
        int i = 0;
        if (Simd.available()) {
            // whole blocks with the Vector API, the ends through the scalar code
            int head = (int) Math.min(n, Math.floorMod(-from, (long) BLOCK));
            scalar(key, from, head, z, u, 0);
            i = head + NoiseStreamVector.fill(key, from + head, n - head, z, u, head);
        }
        scalar(key, from + i, n - i, z, u, i);
    }

    /**
     * The scalar implementation, for elements [from, from + n) into z and u from index d; visible for tests. A whole
     * block at a time: its 16 longs, its 16 uniforms, its 8 pairs.
     */
    static void scalar(long key, long from, int n, double[] z, double[] u, int d) {
        long end = from + n;
        long[] h = new long[LONGS];
        double[] bu = new double[BLOCK], bz = new double[BLOCK];
        for (long b = Math.floorDiv(from, BLOCK); b * BLOCK < end; b++) {
            for (int c = 0; c < LONGS; c++) h[c] = longAt(key, b * LONGS + c);
            for (int p = 0; p < BLOCK / 2; p++) {
                bu[p] = open32(h[p] >>> 32);
                bu[p + BLOCK / 2] = open32(h[p] & 0xffffffffL);
            }
            for (int p = 0; p < BLOCK / 2; p++) {
                long pair = h[BLOCK / 2 + p];
                double rad = Math.sqrt(-2 * log(open32(pair >>> 32)));
                // cos and sin of 2π u2: the quadrant q from u2's top two bits, the 30 bits below reduced to [0, π/4]
                // (in the quadrant's upper half, π/2 minus the angle, sine and cosine trading places); selections and
                // signs by bit operations, as the vector code does them
                long r = pair & 0x3fffffffL, upper = -((r >>> 29) & 1);
                double a = (Double.longBitsToDouble(ONE | ((r ^ (upper & (r ^ ((1L << 30) - r)))) << 22)) - 1) * PIO2;
                long kc = Double.doubleToRawLongBits(cosKernel(a)), ks = Double.doubleToRawLongBits(sinKernel(a));
                long swap = (kc ^ ks) & -(((pair >>> 29) ^ (pair >>> 30)) & 1), q = (pair >>> 30) & 3;
                bz[p] = rad * Double.longBitsToDouble(kc ^ swap ^ (((q + 1) & 2) << 62));
                bz[p + BLOCK / 2] = rad * Double.longBitsToDouble(ks ^ swap ^ ((q & 2) << 62));
            }
            long lo = Math.max(from, b * BLOCK), hi = Math.min(end, (b + 1) * BLOCK);
            int k0 = (int) (lo - b * BLOCK), len = (int) (hi - lo), at = (int) (d + lo - from);
            System.arraycopy(bu, k0, u, at, len);
            System.arraycopy(bz, k0, z, at, len);
        }
    }

    /** Long c of {@code new SplittableRandom(key)}: its mix64 of key + (c + 1)·γ. */
    static long longAt(long key, long c) {
        return mix64(key + (c + 1) * GAMMA);
    }

    /** SplittableRandom's (and SplitMix64's) finalizer: Stafford's variant 13. */
    public static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** The bits of 1.0, and the mantissa bit of 2^-33 once 32 bits are shifted into a mantissa's top. */
    static final long ONE = 0x3ff0000000000000L, HALF_BIT = 1L << 19;

    /** (w + 1/2)·2^-32 for a 32-bit w, in (0, 1): 1.0 with w and a 1 below it as the mantissa's top, less 1 (exact). */
    static double open32(long w) {
        return Double.longBitsToDouble(ONE | (w << 20) | HALF_BIT) - 1;
    }

    static final double PIO2 = 1.57079632679489655800e+00;

    // fdlibm's e_log.c
    static final double LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10,
            LG1 = 6.666666666666735130e-01, LG2 = 3.999999999940941908e-01, LG3 = 2.857142874366239149e-01,
            LG4 = 2.222219843214978396e-01, LG5 = 1.818357216161805012e-01, LG6 = 1.531383769920937332e-01,
            LG7 = 1.479819860511658591e-01;

    /**
     * ln x for a normal x &gt; 0, fdlibm's: x = 2^k · m with m in [0.707, 1.414) (fdlibm's integer test on the mantissa),
     * ln m from its polynomial in s = (m−1)/(m+1). The exponent becomes a double through 2^52 + k (exact).
     */
    static double log(double x) {
        long bits = Double.doubleToRawLongBits(x), mant = bits & 0x000fffffffffffffL;
        long i = (mant + 0x00095f6400000000L) & 0x0010000000000000L;
        double m = Double.longBitsToDouble(mant | (i ^ ONE));
        double dk = Double.longBitsToDouble(0x4330000000000000L | ((bits >>> 52) + (i >>> 52))) - (0x1.0p52 + 1023);
        double f = m - 1, s = f / (2 + f), z = s * s, w = z * z;
        double t1 = w * (LG2 + w * (LG4 + w * LG6)), t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7))), r = t2 + t1;
        double hfsq = 0.5 * f * f;
        return dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f);
    }

    // fdlibm's k_sin.c and k_cos.c, for |x| <= π/4 with no tail
    static final double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
            S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06, S5 = -2.50507602534068634195e-08,
            S6 = 1.58969099521155010221e-10;
    static final double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
            C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07, C5 = 2.08757232129817482790e-09,
            C6 = -1.13596475577881948265e-11;

    static double sinKernel(double x) {
        double z = x * x, v = z * x, r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
        return x + v * (S1 + z * r);
    }

    static double cosKernel(double x) {
        double z = x * x, r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
        return 1 - (0.5 * z - z * r);
    }
}
