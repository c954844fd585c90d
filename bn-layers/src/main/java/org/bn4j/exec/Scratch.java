package org.bn4j.exec;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Buffers for the intermediates of graphs that never run at the same time (the forward, backward and inference
 * graphs of one layer and layout): each graph asks for its n-th buffer of a data type and length, and the graphs
 * share them, so the memory held is that of the largest graph, not the sum. Graphs sharing a scratch run one at a
 * time ({@link CompiledGraph} locks it).
 */
public final class Scratch {
    private final Map<String, List<INDArray>> buffers = new HashMap<>();

    /** The n-th buffer of this data type and length, allocated (detached, uninitialized) on first request. */
    synchronized INDArray buffer(DataType dataType, long length, int n) {
        List<INDArray> list = buffers.computeIfAbsent(dataType + ":" + length, k -> new ArrayList<>());
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            while (list.size() <= n) list.add(Nd4j.createUninitialized(dataType, length));
        }
        return list.get(n);
    }

    /** Closes every buffer (graphs using them must not run again). */
    public synchronized void close() {
        for (List<INDArray> l : buffers.values()) for (INDArray a : l) if (!a.wasClosed()) a.close();
        buffers.clear();
    }

    /** Bytes held. */
    synchronized long bytes() {
        long b = 0;
        for (List<INDArray> l : buffers.values()) for (INDArray a : l) b += a.length() * a.dataType().width();
        return b;
    }
}
