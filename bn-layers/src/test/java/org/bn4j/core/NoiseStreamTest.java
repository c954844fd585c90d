package org.bn4j.core;

import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.distribution.UniformRealDistribution;
import org.apache.commons.math3.stat.correlation.PearsonsCorrelation;
import org.apache.commons.math3.stat.inference.KolmogorovSmirnovTest;
import org.bn4j.exec.Simd;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** {@link NoiseStream}: the documented stream, the same bits with and without the Vector API, and the laws. */
class NoiseStreamTest {

    private static double[][] fill(long key, long from, int n) {
        double[] z = new double[n], u = new double[n];
        NoiseStream.fill(key, from, n, z, u);
        return new double[][]{z, u};
    }

    /** Parts of the stream that start and end inside blocks, through {@code fill} (vectors) and the scalar code. */
    @Test
    void vectorAndScalarGiveTheSameBits() {
        assertTrue(Simd.available(), "this test runs with --add-modules jdk.incubator.vector (else it compares the scalar code with itself)");
        long[] froms = {0, 5, 16, 1_000_003, (1L << 40) + 9};
        int[] ns = {0, 1, 15, 16, 17, 1000, 40_000};
        for (long key : new long[]{0, -7, 0x1234_5678_9abcL}) {
            for (long from : froms) {
                for (int n : ns) {
                    double[][] v = fill(key, from, n);
                    double[] z = new double[n], u = new double[n];
                    NoiseStream.scalar(key, from, n, z, u, 0);
                    String what = "key " + key + ", elements [" + from + ", " + (from + n) + ")";
                    assertTrue(Arrays.equals(z, v[0]), what + ": z");
                    assertTrue(Arrays.equals(u, v[1]), what + ": u");
                }
            }
        }
    }

    /** A part of the stream is the same values wherever it is cut: any element from any start. */
    @Test
    void valuesDoNotDependOnTheCut() {
        double[][] whole = fill(3, 0, 5000);
        for (int from : new int[]{1, 7, 16, 333, 4990}) {
            double[][] part = fill(3, from, 5000 - from);
            assertArrayEquals(Arrays.copyOfRange(whole[0], from, 5000), part[0], 0, "z from " + from);
            assertArrayEquals(Arrays.copyOfRange(whole[1], from, 5000), part[1], 0, "u from " + from);
        }
    }

    /**
     * The stream as the javadoc defines it, rebuilt from {@code SplittableRandom.nextLong()} and {@link StrictMath}: the
     * uniforms exactly, the normals within 1.5·10^-15·max(1, √(−2 ln u1)) (the reference's own angle 2π·u2 is rounded
     * to 4.4·10^-16, which the radius multiplies).
     */
    @Test
    void streamIsTheDocumentedOne() {
        long key = 99;
        int blocks = 20_000, n = 16 * blocks;
        double[][] got = fill(key, 0, n);
        SplittableRandom r = new SplittableRandom(key);
        double worst = 0;
        for (int b = 0; b < blocks; b++) {
            long[] l = new long[16];
            for (int c = 0; c < 16; c++) l[c] = r.nextLong();
            for (int k = 0; k < 16; k++) {
                int i = 16 * b + k, p = k % 8;
                long w = k < 8 ? l[p] >>> 32 : l[p] & 0xffffffffL;
                assertEquals((w + 0.5) * 0x1.0p-32, got[1][i], 0, "u of element " + i);
                long pair = l[8 + p];
                double u1 = ((pair >>> 32) + 0.5) * 0x1.0p-32, u2 = (pair & 0xffffffffL) * 0x1.0p-32;
                double rad = StrictMath.sqrt(-2 * StrictMath.log(u1)), angle = 2 * StrictMath.PI * u2;
                double z = rad * (k < 8 ? StrictMath.cos(angle) : StrictMath.sin(angle));
                worst = Math.max(worst, Math.abs(got[0][i] - z) / Math.max(1, rad));
            }
        }
        assertTrue(worst <= 1.5e-15, "largest error of z against the definition: " + worst);
    }

    /** fdlibm's polynomials as evaluated here: within 1 ulp of StrictMath's (fdlibm's own) functions. */
    @Test
    void logSinCosWithinOneUlp() {
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 200_000; i++) {
            double x = i < 100 ? NoiseStream.open32((1L << 32) - 1 - i) : NoiseStream.open32(r.nextLong() >>> 32);
            assertEquals(StrictMath.log(x), NoiseStream.log(x), Math.ulp(StrictMath.log(x)), "log " + x);
            double a = r.nextDouble() * Math.PI / 4;
            assertEquals(StrictMath.sin(a), NoiseStream.sinKernel(a), Math.ulp(StrictMath.sin(a)), "sin " + a);
            assertEquals(StrictMath.cos(a), NoiseStream.cosKernel(a), Math.ulp(StrictMath.cos(a)), "cos " + a);
        }
        assertEquals(StrictMath.log(0x1.0p-33), NoiseStream.log(NoiseStream.open32(0)), 1e-15, "the smallest u1");
    }

    /**
     * The laws, over 2^20 values: z standard normal, u uniform on (0, 1) (Kolmogorov–Smirnov distance under the 0.1%
     * critical value 1.95/√n), the two normals of a pair and neighbouring uniforms uncorrelated.
     */
    @Test
    void normalAndUniformLaws() {
        int n = 1 << 20;
        double[][] v = fill(2026, 12345, n);
        KolmogorovSmirnovTest ks = new KolmogorovSmirnovTest();
        double critical = 1.95 / Math.sqrt(n);
        double dz = ks.kolmogorovSmirnovStatistic(new NormalDistribution(null, 0, 1), v[0]);
        double du = ks.kolmogorovSmirnovStatistic(new UniformRealDistribution(null, 0, 1), v[1]);
        assertTrue(dz < critical, "z: KS distance " + dz + " against " + critical);
        assertTrue(du < critical, "u: KS distance " + du + " against " + critical);
        // element 16b + p and 16b + 8 + p: the cosine and the sine of one pair; u: the high and low halves of one long
        int pairs = n / 16 * 8;
        double[] zc = new double[pairs], zs = new double[pairs], uh = new double[pairs], ul = new double[pairs];
        int first = (16 - 12345 % 16) % 16;   // the first element of a whole block
        int m = 0;
        for (int b = first; b + 16 <= n; b += 16) {
            for (int p = 0; p < 8; p++, m++) {
                zc[m] = v[0][b + p];
                zs[m] = v[0][b + 8 + p];
                uh[m] = v[1][b + p];
                ul[m] = v[1][b + 8 + p];
            }
        }
        PearsonsCorrelation corr = new PearsonsCorrelation();
        double limit = 4 / Math.sqrt(m);
        double cz = corr.correlation(Arrays.copyOf(zc, m), Arrays.copyOf(zs, m));
        double cu = corr.correlation(Arrays.copyOf(uh, m), Arrays.copyOf(ul, m));
        assertTrue(Math.abs(cz) < limit, "correlation of a pair's normals " + cz);
        assertTrue(Math.abs(cu) < limit, "correlation of a long's two uniforms " + cu);
        assertTrue(Arrays.stream(v[0]).allMatch(z -> Math.abs(z) <= 6.77), "|z| within the documented bound");
        assertTrue(Arrays.stream(v[1]).allMatch(u -> u > 0 && u < 1), "u in (0, 1)");
    }

    @Test
    void badLengthIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NoiseStream.fill(1, 0, 10, new double[5], new double[10]));
        assertTrue(e.getMessage().contains("noise stream") && e.getMessage().contains("n=10"), e.getMessage());
    }
}
