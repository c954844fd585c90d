package org.bn4j.exec;

import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A SameDiff graph built once, with fixed placeholder and output names, and run by an executor planned on the first
 * call for that call's input shapes. The graph stays the definition of what is computed; the executors run it:
 * <ul>
 *   <li><b>unfused</b> ({@link Path#UNFUSED}, the default): the graph's ND4J ops one by one on reused arrays
 *       ({@link GraphExecutor}).</li>
 *   <li><b>fused</b> ({@link Path#FUSED}): the graph compiled into kernels that make one pass over memory per phase,
 *       block by block or streaming, each phase one generated loop with the Vector API (see the package's
 *       {@code FusedExecutor} and {@code TileCompiler}); its kernels run on {@code -Dbn4j.exec.threads} threads
 *       (default: {@code OMP_NUM_THREADS} if set, else the number of processors). A kernel of per-column statistics
 *       ([N,C] batch norm) is blocked by columns only if each thread's block keeps rows of at least
 *       {@code -Dbn4j.exec.minRun} elements (default 2048; read when a graph is planned), else it streams over whole
 *       rows. Within a call, the threads beside the caller's wait for the next part of a kernel spinning for
 *       {@code -Dbn4j.exec.spinMicros} microseconds (default 100; 0 parks at once; read at each wait), then park;
 *       when the call is done they park at once.
 *       It needs the JVM started with
 *       {@code --add-modules jdk.incubator.vector} and is chosen with {@code -Dbn4j.exec=fused}; it is not the
 *       default yet: it stays opt-in while it is measured against the unfused executor on more machines (see the
 *       project's docs/performance-profile.md).</li>
 *   <li><b>SameDiff</b> ({@link Path#SAMEDIFF}): {@code SameDiff.output}, a session per call; the reference.</li>
 * </ul>
 * {@code -Dbn4j.exec=fused|unfused|samediff} chooses the path for every graph (read at each call);
 * {@link #withPath} for the graphs run on one thread. Fused without the Vector API runs unfused (said once at INFO);
 * with neither set, the first graph says once at INFO that it runs unfused and how to choose the fused executor.
 * A graph that the fused executor cannot plan runs unfused, and one the unfused executor cannot plan runs through
 * SameDiff; each such fallback is logged once as a warning. With {@code -Dbn4j.exec.strict=true} (the project's tests)
 * a fallback throws {@link IllegalStateException} instead.
 *
 * <p>Outputs are detached from any DL4J workspace and owned by the caller, or written into arrays the caller
 * supplies ({@link #run(Map, Map)}). Calls are serialized, also with the graphs sharing the same intermediate
 * buffers (for example the forward, backward and inference graphs of one layer).
 */
public final class CompiledGraph {
    private static final Logger log = LoggerFactory.getLogger(CompiledGraph.class);
    private static final AtomicBoolean TOLD_SIMD = new AtomicBoolean();
    private static final AtomicBoolean TOLD_DEFAULT = new AtomicBoolean();
    private static final ThreadLocal<Path> PATH = new ThreadLocal<>();

    /** The executors a graph can run through. */
    public enum Path { FUSED, UNFUSED, SAMEDIFF }

    private final SameDiff sd;
    private final List<String> inputs;
    private final String[] outputs;
    private final Scratch scratch;
    private final int threads;
    private FusedExecutor fused;
    private GraphExecutor unfused;
    private boolean fusedFailed;
    private boolean unfusedFailed;

    /** A graph with intermediates in {@code scratch}, which graphs that never run at the same time may share. */
    public CompiledGraph(SameDiff sd, List<String> inputs, List<String> outputs, Scratch scratch) {
        this(sd, inputs, outputs, scratch, defaultThreads());
    }

    CompiledGraph(SameDiff sd, List<String> inputs, List<String> outputs, Scratch scratch, int threads) {
        this.sd = sd;
        this.inputs = List.copyOf(inputs);
        this.outputs = outputs.toArray(new String[0]);
        this.scratch = scratch;
        this.threads = threads;
    }

    /** Releases the intermediate buffers of this graph's scratch (shared with other graphs too); it must not run afterwards. */
    public void close() {
        scratch.close();
    }

    /** A graph with its own intermediate buffers. */
    public static CompiledGraph of(SameDiff sd, List<String> inputs, List<String> outputs) {
        return new CompiledGraph(sd, inputs, outputs, new Scratch());
    }

    /**
     * The path graphs take on this thread now: the one {@link #withPath} set, else {@code -Dbn4j.exec}, else unfused
     * (fused without the Vector API means unfused).
     */
    public static Path defaultPath() {
        Path path = PATH.get();
        if (path == null) {
            String p = System.getProperty("bn4j.exec");
            path = p != null ? Path.valueOf(p.trim().toUpperCase(java.util.Locale.ROOT)) : Path.UNFUSED;
            if (p == null && !TOLD_DEFAULT.get() && TOLD_DEFAULT.compareAndSet(false, true)) {   // no CAS per call
                log.info("bn4j: running the unfused executor (the default); the fused one, faster at large shapes, is "
                        + "chosen with -Dbn4j.exec=fused and needs the JVM started with --add-modules jdk.incubator.vector");
            }
        }
        if (path == Path.FUSED && !Simd.available()) {
            if (TOLD_SIMD.compareAndSet(false, true)) {
                log.info("bn4j: the fused executor needs the Vector API; start the JVM with --add-modules "
                        + "jdk.incubator.vector to use it (running the unfused executor)");
            }
            return Path.UNFUSED;
        }
        return path;
    }

    /** Runs {@code body} with every graph run on this thread taking {@code path} (for tests and benchmarks). */
    public static <T> T withPath(Path path, java.util.function.Supplier<T> body) {
        Path prev = PATH.get();
        PATH.set(path);
        try {
            return body.get();
        } finally {
            PATH.set(prev);
        }
    }

    private static boolean strict() {
        return Boolean.getBoolean("bn4j.exec.strict");
    }

    static int defaultThreads() {
        Integer t = Integer.getInteger("bn4j.exec.threads");
        if (t != null) return Math.max(1, t);
        try {
            String omp = System.getenv("OMP_NUM_THREADS");
            if (omp != null) return Math.max(1, Integer.parseInt(omp.trim()));
        } catch (NumberFormatException ignored) {
            // fall through
        }
        return Runtime.getRuntime().availableProcessors();
    }

    /** The graph itself, for inspection, SameDiff's own differentiation in tests, or export. */
    public SameDiff sameDiff() {
        return sd;
    }

    public List<String> inputNames() {
        return inputs;
    }

    public List<String> outputNames() {
        return List.of(outputs);
    }

    /** Runs the graph; {@code in} must hold every input name. The outputs are fresh arrays. */
    public Map<String, INDArray> run(Map<String, INDArray> in) {
        return run(in, Map.of());
    }

    /**
     * Runs the graph, writing the outputs named in {@code into} into those arrays (each of the output's shape and
     * data type, else {@link IllegalArgumentException}, as for a name that is not an output); the other outputs are
     * fresh arrays. The executors are planned for the inputs of the first call: inputs of another shape or type later
     * are an {@link IllegalArgumentException} naming the input. The returned map holds
     * every output, the given arrays among them. The destinations must not overlap the inputs.
     */
    public Map<String, INDArray> run(Map<String, INDArray> in, Map<String, INDArray> into) {
        synchronized (scratch) {
            Path path = defaultPath();
            if (path == Path.SAMEDIFF) return runSameDiff(in, into);
            if (path == Path.FUSED && !fusedFailed) {
                try {
                    return fused().run(in, into);
                } catch (UnsupportedGraphException e) {
                    fusedFailed = true;
                    fallback("fused executor", "unfused executor", e);
                }
            }
            if (!unfusedFailed) {
                try {
                    return unfused().run(in, into, null);
                } catch (UnsupportedGraphException e) {
                    unfusedFailed = true;
                    fallback("unfused executor", "SameDiff.output", e);
                }
            }
            return runSameDiff(in, into);
        }
    }

    private void fallback(String from, String to, UnsupportedGraphException e) {
        String msg = "bn4j: a graph with outputs " + Arrays.toString(outputs) + " cannot be planned by the " + from
                + " and runs through the " + to + ": " + e.getMessage();
        if (strict()) throw new IllegalStateException(msg + " (strict mode, -Dbn4j.exec.strict=true)", e);
        log.warn(msg);
    }

    /**
     * Runs the graph through one executor, without fallback (for tests and the bench): {@link Path#FUSED} throws
     * {@link IllegalStateException} if the Vector API is not present or the graph cannot be fused.
     */
    public Map<String, INDArray> run(Path path, Map<String, INDArray> in) {
        synchronized (scratch) {
            try {
                return switch (path) {
                    case FUSED -> {
                        if (!Simd.available()) throw new IllegalStateException("the fused executor needs --add-modules jdk.incubator.vector");
                        yield fused().run(in, Map.of());
                    }
                    case UNFUSED -> unfused().run(in, Map.of(), null);
                    case SAMEDIFF -> runSameDiff(in, Map.of());
                };
            } catch (UnsupportedGraphException e) {
                throw new IllegalStateException("the " + path + " executor cannot plan this graph: " + e.getMessage(), e);
            }
        }
    }

    /**
     * Full-size passes over memory of the fused plan (planned for inputs like {@code in} if not yet): reads and writes
     * of arrays as large as the graph's largest value, as {@code FusedExecutor}'s plan makes them.
     */
    public double fusedPasses(Map<String, INDArray> in) {
        synchronized (scratch) {
            fused().plan(in);
            return fused.fusion().passes();
        }
    }

    /** The fused plan's stages, one per line (planned for inputs like {@code in} if not yet). */
    public String fusedPlan(Map<String, INDArray> in) {
        synchronized (scratch) {
            fused().plan(in);
            return fused.fusion().toString();
        }
    }

    FusedExecutor fused() {
        if (fused == null) fused = new FusedExecutor(sd, inputs, outputs, scratch, threads);
        return fused;
    }

    private GraphExecutor unfused() {
        if (unfused == null) unfused = new GraphExecutor(sd, inputs, outputs, scratch);
        return unfused;
    }

    /**
     * Runs the graph once more through the unfused executor, adding the nanoseconds spent in each of its steps to
     * {@code stepNanos} (indexed as {@link #stepLabels()}); for profiles.
     */
    public Map<String, INDArray> runProfiled(Map<String, INDArray> in, Map<String, INDArray> into, long[] stepNanos) {
        synchronized (scratch) {
            return unfused().run(in, into, stepNanos);
        }
    }

    /** The unfused executor's steps (after a first run through it), or an empty list. */
    public List<String> stepLabels() {
        synchronized (scratch) {
            return unfused == null ? List.of() : unfused.stepLabels();
        }
    }

    /** Bytes of intermediate buffers held for this graph (shared with the graphs of the same scratch). */
    public long scratchBytes() {
        return scratch.bytes();
    }

    /** The same graph through {@code SameDiff.output} (a session per call); the reference for tests. */
    public Map<String, INDArray> runSameDiff(Map<String, INDArray> in) {
        return runSameDiff(in, Map.of());
    }

    private Map<String, INDArray> runSameDiff(Map<String, INDArray> in, Map<String, INDArray> into) {
        Map<String, INDArray> ph = new HashMap<>();
        for (String name : inputs) ph.put(name, input(in, name));
        checkOutputNames(into, outputs);
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            Map<String, INDArray> out = sd.output(ph, outputs);
            Map<String, INDArray> res = new HashMap<>();
            for (Map.Entry<String, INDArray> e : out.entrySet()) {
                INDArray a = e.getValue();
                a = a.isAttached() ? a.detach() : a;
                INDArray dest = into.get(e.getKey());
                if (dest != null) {
                    checkDestination(e.getKey(), dest, a.dataType(), a.shape());
                    a = dest.assign(a);
                }
                res.put(e.getKey(), a);
            }
            return res;
        }
    }

    /** The array given for a graph input, which must be there. */
    static INDArray input(Map<String, INDArray> in, String name) {
        INDArray a = in.get(name);
        if (a == null) throw new IllegalArgumentException("graph input '" + name + "' missing (given: " + in.keySet() + ")");
        return a;
    }

    /** A graph input of an executor's plan: the type and shape of the inputs the graph was planned for (its first call). */
    static INDArray input(Map<String, INDArray> in, String name, DataType type, long[] shape) {
        INDArray a = input(in, name);
        check("graph input '" + name + "' (the graph was planned for its first call's inputs)", a, type, shape);
        return a;
    }

    /** Every name of {@code into} must be an output of the graph. */
    static void checkOutputNames(Map<String, INDArray> into, String[] outputs) {
        for (String name : into.keySet()) {
            if (!Arrays.asList(outputs).contains(name)) {
                throw new IllegalArgumentException("'" + name + "' is not an output of the graph " + Arrays.toString(outputs));
            }
        }
    }

    /** The array given for an output must be of the output's type and shape. */
    static void checkDestination(String name, INDArray dest, DataType type, long[] shape) {
        check("destination for output '" + name + "'", dest, type, shape);
    }

    private static void check(String what, INDArray a, DataType type, long[] shape) {
        if (!Arrays.equals(a.shape(), shape) || a.dataType() != type) {
            throw new IllegalArgumentException(what + ": expected " + type + Arrays.toString(shape) + ", got " + a.dataType()
                    + Arrays.toString(a.shape()));
        }
    }
}
