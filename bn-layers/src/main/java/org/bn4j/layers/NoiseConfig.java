package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.ToString;
import org.bn4j.core.NoiseStream;
import org.bn4j.exec.Simd;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

/**
 * The activation noise of Santurkar, Tsipras, Ilyas, Madry (2018), Appendix A, Algorithm 1: at every
 * training step t, per unit (feature) j
 * <pre>
 *   μ_j ~ U(−nMu, nMu),   σ_j ~ U(1, nSigma)
 * </pre>
 * and per sample i (for CNN and RNN input every position counts as a sample) and unit j
 * <pre>
 *   m_ij ~ U(μ_j − rMu, μ_j + rMu),   s_ij ~ N(σ_j, rSigma²),   y_ij ← s_ij · y_ij + m_ij.
 * </pre>
 * Defaults are the paper's: nMu 0.5, nSigma 1.25, rMu 0.1, rSigma 0.1. The stream is reproducible: the noise of
 * one step is a function of {@code seed}, the layer's index and the step (iteration and epoch), so the same step
 * gives the same noise (as a gradient check needs) and a run can be repeated from its seed.
 * {@link #none()} (all zero spread, σ = 1) is the identity.
 */
@Getter
@EqualsAndHashCode
@ToString
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.ANY, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE)
public final class NoiseConfig implements Serializable {
    private double nMu;
    private double nSigma;
    private double rMu;
    private double rSigma;
    private long seed;

    /** For JSON. */
    private NoiseConfig() {
        this(0.5, 1.25, 0.1, 0.1, 0);
    }

    private NoiseConfig(double nMu, double nSigma, double rMu, double rSigma, long seed) {
        if (!(nMu >= 0) || !(nSigma >= 1) || !(rMu >= 0) || !(rSigma >= 0)) {
            throw new IllegalArgumentException("noise: expected nMu >= 0, nSigma >= 1, rMu >= 0, rSigma >= 0; got nMu="
                    + nMu + ", nSigma=" + nSigma + ", rMu=" + rMu + ", rSigma=" + rSigma);
        }
        this.nMu = nMu;
        this.nSigma = nSigma;
        this.rMu = rMu;
        this.rSigma = rSigma;
        this.seed = seed;
    }

    // JSON of format 1 named the fields after their getters (getNMu: "nmu"), and read them back as unknown properties,
    // losing non-default values; these read them.
    @JsonProperty("nmu")
    private void legacyNMu(double v) {
        nMu = v;
    }

    @JsonProperty("nsigma")
    private void legacyNSigma(double v) {
        nSigma = v;
    }

    @JsonProperty("rmu")
    private void legacyRMu(double v) {
        rMu = v;
    }

    @JsonProperty("rsigma")
    private void legacyRSigma(double v) {
        rSigma = v;
    }

    /** The paper's values (nMu 0.5, nSigma 1.25, rMu 0.1, rSigma 0.1), seed 0. */
    public static NoiseConfig santurkar() {
        return new NoiseConfig();
    }

    public static NoiseConfig of(double nMu, double nSigma, double rMu, double rSigma, long seed) {
        return new NoiseConfig(nMu, nSigma, rMu, rSigma, seed);
    }

    /** No noise at all: s = 1, m = 0. */
    public static NoiseConfig none() {
        return new NoiseConfig(0, 1, 0, 0, 0);
    }

    public NoiseConfig withSeed(long seed) {
        return new NoiseConfig(nMu, nSigma, rMu, rSigma, seed);
    }

    /** Elements per task of the parallel draw (the values do not depend on it, nor on the thread count). */
    private static final int CHUNK = 1 << 14;

    /** A thread's arrays for one task, kept: fresh ones cost more to clear than the draw itself. */
    private static final class Scratch {
        final double[] z = new double[CHUNK], u = new double[CHUNK];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * The noise {s, m} for a 4-D view [N, P, C, Q] (C the units).
     *
     * <p>Drawn on the JVM (ND4J's native Gaussian generator is several times slower than the whole batch-norm forward
     * on large inputs; docs/performance-profile.md): μ_j and σ_j, in that order, from {@code new SplittableRandom(root)}
     * ({@code nextDouble}), root = {@code mix(seed, stream)}; then element i (C order) from value i of the
     * {@link NoiseStream} with key {@code mix(root, 1)}: m_i = μ_j + rMu·(2u_i − 1), s_i = σ_j + rSigma·z_i, computed in
     * float64 and rounded once to the array's type, in parallel. The values depend only on the seed, the stream and the
     * shape (not on the threads, nor on whether the Vector API is present).
     *
     * @param stream identifies layer and step; mixed with the seed
     */
    public INDArray[] draw(long[] view, DataType dt, long stream) {
        INDArray s = Nd4j.createUninitialized(dt, view, 'c'), m = Nd4j.createUninitialized(dt, view, 'c');
        draw(stream, s, m);
        return new INDArray[]{s, m};
    }

    /** Fills {@code s} and {@code m} (C-ordered, same 4-D view shape [N, P, C, Q]) with the noise of a stream. */
    public void draw(long stream, INDArray s, INDArray m) {
        long[] view = s.shape();
        long root = mix(seed, stream), key = mix(root, 1);
        int units = Math.toIntExact(view[2]);
        long inner = view[3];
        long length = s.length();
        SplittableRandom unitRng = new SplittableRandom(root);
        double[] mu = new double[units], sigma = new double[units];
        for (int j = 0; j < units; j++) mu[j] = nMu * (2 * unitRng.nextDouble() - 1);
        for (int j = 0; j < units; j++) sigma[j] = 1 + (nSigma - 1) * unitRng.nextDouble();
        // float32 and float64 arrays are written directly, a chunk at a time; other types through a float64 copy
        boolean direct = s.dataType() == DataType.FLOAT || s.dataType() == DataType.DOUBLE;
        INDArray sd = direct ? s : Nd4j.createUninitialized(DataType.DOUBLE, view, 'c');
        INDArray md = direct ? m : Nd4j.createUninitialized(DataType.DOUBLE, view, 'c');
        boolean dbl = sd.dataType() == DataType.DOUBLE;
        ByteBuffer sBuf = sd.data().asNio().order(ByteOrder.nativeOrder()), mBuf = md.data().asNio().order(ByteOrder.nativeOrder());
        long chunks = (length + CHUNK - 1) / CHUNK;
        LongStream.range(0, chunks).parallel().forEach(k -> {
            int from = Math.toIntExact(k * CHUNK), n = (int) Math.min(CHUNK, length - from);
            Scratch sc = SCRATCH.get();
            double[] z = sc.z, u = sc.u;
            NoiseStream.fill(key, from, n, z, u);
            // runs of elements of one unit (Q > 1), or of consecutive units (Q = 1), each a loop without branches
            long q = from % inner;                   // position along Q, and the unit j of element `from`
            int j = (int) ((from / inner) % units);
            for (int i = 0; i < n; ) {
                if (inner == 1) {
                    int len = Math.min(n - i, units - j);
                    for (int t = 0; t < len; t++) {
                        z[i + t] = sigma[j + t] + rSigma * z[i + t];
                        u[i + t] = mu[j + t] + rMu * (2 * u[i + t] - 1);
                    }
                    i += len;
                    j = (j + len) % units;
                } else {
                    int len = (int) Math.min(n - i, inner - q);
                    double sj = sigma[j], mj = mu[j];
                    for (int t = i; t < i + len; t++) {
                        z[t] = sj + rSigma * z[t];
                        u[t] = mj + rMu * (2 * u[t] - 1);
                    }
                    i += len;
                    q += len;
                    if (q == inner) {
                        q = 0;
                        if (++j == units) j = 0;
                    }
                }
            }
            Simd.store(z, n, sBuf, !dbl, from);
            Simd.store(u, n, mBuf, !dbl, from);
        });
        if (!direct) {
            s.assign(sd);
            m.assign(md);
        }
    }

    /**
     * SplitMix64 of seed and stream.
     */
    private static long mix(long seed, long stream) {
        return NoiseStream.mix64((seed + 1) * 0x9E3779B97F4A7C15L + stream * 0xD1B54A32D192ED03L);
    }
}
