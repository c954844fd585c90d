package org.bn4j.bench;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The memory-copy ceiling: copying one float32 tensor of the shape into another preallocated one
 * (reads N·4 bytes, writes N·4 bytes). Methods: {@code nd4j_assign} — ND4J {@code y.assign(x)} (its
 * OpenMP threads); {@code arraycopy} — {@link System#arraycopy} of a Java {@code float[]}, one thread;
 * {@code arraycopy_2t} — the same split in two halves on two Java threads.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class CopyBench {

    @Param({"4096x1024"})
    public String shape;

    @Param({"nd4j_assign", "arraycopy", "arraycopy_2t"})
    public String method;

    private INDArray x;
    private INDArray y;
    private float[] a;
    private float[] b;
    private ExecutorService pool;

    @Setup(Level.Trial)
    public void setup() {
        Shape s = Shape.parse(shape);
        switch (method) {
            case "nd4j_assign":
                x = Nd4j.rand(DataType.FLOAT, s.dims());
                y = Nd4j.zeros(DataType.FLOAT, s.dims());
                break;
            case "arraycopy_2t":
                pool = Executors.newFixedThreadPool(1);
                // fall through
            case "arraycopy":
                a = new float[Math.toIntExact(s.elements())];
                b = new float[a.length];
                for (int i = 0; i < a.length; i++) {
                    a[i] = i;
                }
                break;
            default:
                throw new IllegalArgumentException(method);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }

    @Benchmark
    public Object copy() throws Exception {
        switch (method) {
            case "nd4j_assign":
                return y.assign(x);
            case "arraycopy":
                System.arraycopy(a, 0, b, 0, a.length);
                return b;
            default:
                int half = a.length / 2;
                Future<?> f = pool.submit(() -> System.arraycopy(a, half, b, half, a.length - half));
                System.arraycopy(a, 0, b, 0, half);
                f.get();
                return b;
        }
    }
}
