package org.bn4j.core;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import static org.bn4j.core.NoiseStream.*;

/**
 * {@link NoiseStream}'s values a vector of lanes at a time, with the Vector API: the same operations in the same order
 * as {@link NoiseStream#scalar}, so the same bits. Loaded only when the module is present.
 */
final class NoiseStreamVector {
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Long> L = LongVector.SPECIES_PREFERRED;
    private static final int LANES = D.length();
    /** Lane i: i·γ, the step of the counter from lane to lane. */
    private static final LongVector LANE_GAMMA;
    private static final DoubleVector ONE_D = DoubleVector.broadcast(D, 1);

    static {
        long[] g = new long[L.length()];
        for (int i = 0; i < g.length; i++) g[i] = i * GAMMA;
        LANE_GAMMA = LongVector.fromArray(L, g, 0);
    }

    private NoiseStreamVector() {
    }

    /**
     * Elements from {@code from} (a multiple of {@link NoiseStream#BLOCK}) on, whole blocks of at most n elements, into
     * z and u from index d; returns how many it wrote (0 where the lanes do not divide a block's 8 pairs).
     *
     * <p>One method with every vector operation in it, on purpose: JDK 17's C2 compiles the Vector API into SIMD
     * instructions only where it sees each vector's exact class, and a vector passed to a method it did not inline is
     * boxed (several times slower than the scalar code).
     */
    static int fill(long key, long from, int n, double[] z, double[] u, int d) {
        if (L.length() != LANES || (BLOCK / 2) % LANES != 0) return 0;
        int blocks = n / BLOCK;
        // the counter of a block's first long is 24b; a lane's long is mix64(key + (c + 1)·γ)
        for (int i = 0; i < blocks; i++) {
            long c0 = (from / BLOCK + i) * LONGS;
            int o = d + i * BLOCK;
            for (int k = 0; k < LONGS; k += LANES) {
                LongVector h = LongVector.broadcast(L, key + (c0 + k + 1) * GAMMA).add(LANE_GAMMA);
                h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 30)).mul(0xbf58476d1ce4e5b9L);
                h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 27)).mul(0x94d049bb133111ebL);
                h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 31));
                if (k < BLOCK / 2) {
                    // two uniforms, NoiseStream.open32 of the high and the low 32 bits
                    h.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.LSHL, 20).or(HALF_BIT | ONE)
                            .reinterpretAsDoubles().sub(1).intoArray(u, o + k);
                    h.lanewise(VectorOperators.LSHL, 32).lanewise(VectorOperators.LSHR, 12).or(HALF_BIT | ONE)
                            .reinterpretAsDoubles().sub(1).intoArray(u, o + BLOCK / 2 + k);
                    continue;
                }
                int p = k - BLOCK / 2;
                // radius √(−2 ln u1), the logarithm as NoiseStream.log computes it
                DoubleVector u1 = h.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.LSHL, 20).or(HALF_BIT | ONE)
                        .reinterpretAsDoubles().sub(1);
                LongVector bits = u1.reinterpretAsLongs(), mant = bits.and(0x000fffffffffffffL);
                LongVector up = mant.add(0x00095f6400000000L).and(0x0010000000000000L);
                DoubleVector m = mant.or(up.lanewise(VectorOperators.XOR, ONE)).reinterpretAsDoubles();
                DoubleVector dk = bits.lanewise(VectorOperators.LSHR, 52).add(up.lanewise(VectorOperators.LSHR, 52))
                        .or(0x4330000000000000L).reinterpretAsDoubles().sub(0x1.0p52 + 1023);
                DoubleVector f = m.sub(1), s = f.div(f.add(2)), zz = s.mul(s), w = zz.mul(zz);
                DoubleVector t1 = w.mul(w.mul(w.mul(LG6).add(LG4)).add(LG2));
                DoubleVector t2 = zz.mul(w.mul(w.mul(w.mul(LG7).add(LG5)).add(LG3)).add(LG1));
                DoubleVector r = t2.add(t1), hfsq = f.mul(0.5).mul(f);
                DoubleVector log = dk.mul(LN2_HI).sub(hfsq.sub(s.mul(hfsq.add(r)).add(dk.mul(LN2_LO))).sub(f));
                DoubleVector rad = log.mul(-2).lanewise(VectorOperators.SQRT);
                // the angle, reduced as in NoiseStream.scalar
                LongVector low = h.and(0x3fffffffL);
                LongVector upper = low.lanewise(VectorOperators.LSHR, 29).and(1L).neg();
                LongVector rr = low.lanewise(VectorOperators.XOR, upper.and(low.lanewise(VectorOperators.XOR, low.neg().add(1L << 30))));
                DoubleVector a = rr.lanewise(VectorOperators.LSHL, 22).or(ONE).reinterpretAsDoubles().sub(1).mul(PIO2);
                DoubleVector a2 = a.mul(a), v = a2.mul(a);
                DoubleVector sr = a2.mul(a2.mul(a2.mul(a2.mul(S6).add(S5)).add(S4)).add(S3)).add(S2);
                LongVector ks = a.add(v.mul(a2.mul(sr).add(S1))).reinterpretAsLongs();
                DoubleVector cr = a2.mul(a2.mul(a2.mul(a2.mul(a2.mul(a2.mul(C6).add(C5)).add(C4)).add(C3)).add(C2)).add(C1));
                LongVector kc = ONE_D.sub(a2.mul(0.5).sub(a2.mul(cr))).reinterpretAsLongs();
                LongVector swap = kc.lanewise(VectorOperators.XOR, ks).and(h.lanewise(VectorOperators.LSHR, 29)
                        .lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 30)).and(1L).neg());
                LongVector q = h.lanewise(VectorOperators.LSHR, 30).and(3L);
                rad.mul(kc.lanewise(VectorOperators.XOR, swap)
                                .lanewise(VectorOperators.XOR, q.add(1L).and(2L).lanewise(VectorOperators.LSHL, 62))
                                .reinterpretAsDoubles())
                        .intoArray(z, o + p);
                rad.mul(ks.lanewise(VectorOperators.XOR, swap)
                                .lanewise(VectorOperators.XOR, q.and(2L).lanewise(VectorOperators.LSHL, 62))
                                .reinterpretAsDoubles())
                        .intoArray(z, o + BLOCK / 2 + p);
            }
        }
        return blocks * BLOCK;
    }
}
