package org.bn4j.bench;

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
import org.openjdk.jmh.infra.BenchmarkParams;

import java.util.concurrent.TimeUnit;

/**
 * Forward ({@link #fwd}) and forward+backward ({@link #fwdbwd}) of one {@link Case} per JMH parameter
 * value. JMH runs every (method, case) pair in its own forked JVM; before warm-up each fork measures the
 * peak memory of one call ({@link MemoryProbe}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class NormBench {

    /** {@code layer|engine|shape}, see {@link Cases}; BenchMain passes the full list. */
    @Param({"bn|dl4j|256x1024", "bn|pytorch|256x1024"})
    public String id;

    private Kernel kernel;

    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) {
        Case c = Cases.get(id);
        String pass = params.getBenchmark().endsWith(".fwdbwd") ? "fwdbwd" : "fwd";
        kernel = c.create();
        MemoryProbe.probe(c, pass, kernel);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        kernel.close();
    }

    @Benchmark
    public Object fwd() {
        return kernel.fwd();
    }

    @Benchmark
    public Object fwdbwd() {
        return kernel.fwdbwd();
    }
}
