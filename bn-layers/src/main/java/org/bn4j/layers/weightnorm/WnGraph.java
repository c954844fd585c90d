package org.bn4j.layers.weightnorm;

import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A SameDiff graph of the weight-norm core, built once, with fixed placeholder and output names, executed
 * outside any DL4J workspace (its outputs are detached arrays that the caller owns).
 *
 * <p>The same idea as {@code org.bn4j.core.CompiledGraph}, whose constructor is package-private to the core.
 */
public final class WnGraph {
    private final SameDiff sd;
    private final List<String> inputs;
    private final String[] outputs;

    WnGraph(SameDiff sd, List<String> inputs, List<String> outputs) {
        this.sd = sd;
        this.inputs = List.copyOf(inputs);
        this.outputs = outputs.toArray(new String[0]);
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

    /** Runs the graph; {@code in} must hold every input name (extra entries are ignored). */
    public Map<String, INDArray> run(Map<String, INDArray> in) {
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
                res.put(e.getKey(), a.isAttached() ? a.detach() : a);
            }
            return res;
        }
    }
}
