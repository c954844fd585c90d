package org.bn4j.exec;

import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A SameDiff graph built once, with fixed placeholder and output names, and run by a {@link GraphExecutor}: the
 * graph's own ops in topological order on arrays reused across calls (planned on the first call for its input
 * shapes). Graphs the executor does not support run through {@code SameDiff.output}.
 *
 * <p>Outputs are detached from any DL4J workspace and owned by the caller, or written into arrays the caller
 * supplies ({@link #run(Map, Map)}). Calls are serialized, also with the graphs sharing the same intermediate
 * buffers (for example the forward, backward and inference graphs of one layer).
 */
public final class CompiledGraph {
    private static final Logger log = LoggerFactory.getLogger(CompiledGraph.class);

    private final SameDiff sd;
    private final List<String> inputs;
    private final String[] outputs;
    private final Scratch scratch;
    private GraphExecutor executor;

    /** A graph with intermediates in {@code scratch}, which graphs that never run at the same time may share. */
    public CompiledGraph(SameDiff sd, List<String> inputs, List<String> outputs, Scratch scratch) {
        this.sd = sd;
        this.inputs = List.copyOf(inputs);
        this.outputs = outputs.toArray(new String[0]);
        this.scratch = scratch;
        this.executor = new GraphExecutor(sd, this.inputs, this.outputs, scratch);
    }

    /** A graph with its own intermediate buffers. */
    public static CompiledGraph of(SameDiff sd, List<String> inputs, List<String> outputs) {
        return new CompiledGraph(sd, inputs, outputs, new Scratch());
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
     * data type, else {@link IllegalArgumentException}); the other outputs are fresh arrays. The returned map holds
     * every output, the given arrays among them. The destinations must not overlap the inputs.
     */
    public Map<String, INDArray> run(Map<String, INDArray> in, Map<String, INDArray> into) {
        synchronized (scratch) {
            if (executor != null) {
                try {
                    return executor.run(in, into, null);
                } catch (GraphExecutor.UnsupportedGraphException e) {
                    log.debug("graph run through SameDiff.output: {}", e.getMessage());
                    executor = null;
                }
            }
            return runSameDiff(in, into);
        }
    }

    /**
     * Runs the graph once more, adding the nanoseconds spent in each executor step to {@code stepNanos} (indexed as
     * {@link #stepLabels()}); for profiles.
     */
    public Map<String, INDArray> runProfiled(Map<String, INDArray> in, Map<String, INDArray> into, long[] stepNanos) {
        synchronized (scratch) {
            if (executor == null) throw new IllegalStateException("graph is not run by the executor");
            return executor.run(in, into, stepNanos);
        }
    }

    /** The executor's steps (after a first run), or an empty list if the graph runs through SameDiff. */
    public List<String> stepLabels() {
        synchronized (scratch) {
            return executor == null ? List.of() : executor.stepLabels();
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
        for (String name : inputs) {
            INDArray a = in.get(name);
            if (a == null) throw new IllegalArgumentException("graph input '" + name + "' missing");
            ph.put(name, a);
        }
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            Map<String, INDArray> out = sd.output(ph, outputs);
            Map<String, INDArray> res = new HashMap<>();
            for (Map.Entry<String, INDArray> e : out.entrySet()) {
                INDArray a = e.getValue();
                a = a.isAttached() ? a.detach() : a;
                INDArray dest = into.get(e.getKey());
                if (dest != null) {
                    if (!Arrays.equals(dest.shape(), a.shape()) || dest.dataType() != a.dataType()) {
                        throw new IllegalArgumentException("destination for '" + e.getKey() + "' must be "
                                + a.dataType() + Arrays.toString(a.shape()) + ", got " + dest.dataType()
                                + Arrays.toString(dest.shape()));
                    }
                    a = dest.assign(a);
                }
                res.put(e.getKey(), a);
            }
            return res;
        }
    }
}
