package org.bn4j.bench;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * What the fused executor's compiled loops pay for reading and writing ND4J's memory (direct buffers) through the
 * Vector API rather than Java arrays: the same two loops over [rows, 1024] float32, one thread, on direct
 * {@code ByteBuffer}s ({@code fromByteBuffer}/{@code intoByteBuffer}, as the generated loops do) and on
 * {@code float[]}s. {@code affine*}: y = 1.5·x + 0.25 (a phase that does not reduce); {@code colsum*}: per-column sums
 * in float64 (a column reduction, float32 vectors of as many lanes as float64 ones). {@code *Direct} takes the float32
 * vectors of the executor's loops (half the widest), {@code affineDirectWide} the widest (two methods, not one with the
 * species as an argument: the Vector API compiles to SIMD only where the species is a constant). 64 rows (256 KiB a tensor)
 * stay in the core's L2 cache, 4096 (16 MiB) do not.
 *
 * <pre>
 *   mvn -B -q -pl bn-bench -DskipTests -Pbench verify -Dbench.main=org.openjdk.jmh.Main -Dbench.args="VectorAccessBench"
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class VectorAccessBench {
    // the executor's species (org.bn4j.exec.VectorOps, package-private there): the widest float64 vector, and float32
    // vectors of as many lanes (half its width)
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));
    private static final VectorSpecies<Float> FW = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    private static final int COLS = 1024;

    @Param({"64", "256", "4096"})
    public int rows;

    private ByteBuffer bx;
    private ByteBuffer by;
    private float[] hx;
    private float[] hy;
    private final double[] acc = new double[COLS];

    @Setup
    public void setup() {
        int n = rows * COLS;
        bx = ByteBuffer.allocateDirect(n * 4).order(NO);
        by = ByteBuffer.allocateDirect(n * 4).order(NO);
        hx = new float[n];
        hy = new float[n];
        for (int i = 0; i < n; i++) {
            hx[i] = (float) Math.sin(i);
            bx.putFloat(i * 4, hx[i]);
        }
    }

    @Benchmark
    public ByteBuffer affineDirect() {
        for (int i = 0; i < rows; i++) {
            int e = i * COLS * 4;
            for (int j = 0; j < COLS; j += F.length()) {
                FloatVector.fromByteBuffer(F, bx, e + j * 4, NO).mul(1.5f).add(0.25f).intoByteBuffer(by, e + j * 4, NO);
            }
        }
        return by;
    }

    @Benchmark
    public ByteBuffer affineDirectWide() {
        for (int i = 0; i < rows; i++) {
            int e = i * COLS * 4;
            for (int j = 0; j < COLS; j += FW.length()) {
                FloatVector.fromByteBuffer(FW, bx, e + j * 4, NO).mul(1.5f).add(0.25f).intoByteBuffer(by, e + j * 4, NO);
            }
        }
        return by;
    }

    @Benchmark
    public float[] affineHeap() {
        for (int i = 0; i < rows; i++) {
            int e = i * COLS;
            for (int j = 0; j < COLS; j += F.length()) FloatVector.fromArray(F, hx, e + j).mul(1.5f).add(0.25f).intoArray(hy, e + j);
        }
        return hy;
    }

    @Benchmark
    public double[] colsumDirect() {
        for (int i = 0; i < rows; i++) {
            int e = i * COLS * 4;
            for (int j = 0; j < COLS; j += F.length()) {
                FloatVector x = FloatVector.fromByteBuffer(F, bx, e + j * 4, NO);
                DoubleVector.fromArray(D, acc, j).add((DoubleVector) x.convertShape(VectorOperators.F2D, D, 0)).intoArray(acc, j);
            }
        }
        return acc;
    }

    @Benchmark
    public double[] colsumHeap() {
        for (int i = 0; i < rows; i++) {
            int e = i * COLS;
            for (int j = 0; j < COLS; j += F.length()) {
                FloatVector x = FloatVector.fromArray(F, hx, e + j);
                DoubleVector.fromArray(D, acc, j).add((DoubleVector) x.convertShape(VectorOperators.F2D, D, 0)).intoArray(acc, j);
            }
        }
        return acc;
    }
}
