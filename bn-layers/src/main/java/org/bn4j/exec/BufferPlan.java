package org.bn4j.exec;

import org.bn4j.exec.Fusion.Kernel;
import org.bn4j.exec.Fusion.Nd4jStage;
import org.bn4j.exec.Fusion.Stage;
import org.bn4j.exec.Program.Kind;
import org.bn4j.exec.Program.Node;
import org.nd4j.linalg.api.buffer.DataType;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The buffer plan: which buffer of the {@link Scratch} holds each value a fused plan keeps in ND4J memory (tile values
 * stored by a kernel, small values exported to ND4J ops, outputs of ND4J ops). A value lives from its stage to the last
 * stage that reads it; buffers of the same data type and length are reused once free. Graph outputs get no buffer
 * when they can be written straight into the caller's array ({@link #direct}).
 */
final class BufferPlan {
    /** The n-th scratch buffer of the value's data type and length, per value. */
    final Map<Node, Integer> slot = new IdentityHashMap<>();
    /** Graph outputs written straight into the caller's destination (or a fresh array). */
    final Map<Node, Node> direct = new IdentityHashMap<>();

    static BufferPlan of(Fusion f) {
        BufferPlan bp = new BufferPlan();
        List<Stage> stages = f.stages;
        Map<Node, Integer> lastUse = new IdentityHashMap<>();
        for (int i = 0; i < stages.size(); i++) {
            for (Node n : readsOf(stages.get(i))) lastUse.put(n.root(), i);
        }
        for (Node o : f.program.outputs) {
            Node r = o.root();
            lastUse.put(r, stages.size());
            // a stored tile that is itself an output goes straight to the destination
            if (r == o && f.stageOf.get(r) instanceof Kernel k && k.stores.contains(r) && !bp.direct.containsKey(r)) {
                bp.direct.put(r, o);
            }
        }
        Map<String, Deque<Integer>> free = new HashMap<>();
        Map<String, Integer> created = new HashMap<>();
        for (int i = 0; i < stages.size(); i++) {
            Stage s = stages.get(i);
            for (Node n : written(s)) {
                if (bp.direct.containsKey(n)) continue;
                String key = key(n.dataType, n.length());
                Deque<Integer> q = free.get(key);
                int b = q != null && !q.isEmpty() ? q.pop() : created.merge(key, 1, Integer::sum) - 1;
                bp.slot.put(n, b);
            }
            for (Map.Entry<Node, Integer> e : bp.slot.entrySet()) {
                Node n = e.getKey();
                if (lastUse.getOrDefault(n, -1) == i || lastUse.getOrDefault(n, -1) < i && written(s).contains(n)) {
                    free.computeIfAbsent(key(n.dataType, n.length()), k -> new ArrayDeque<>()).push(e.getValue());
                }
            }
        }
        return bp;
    }

    /** Values a stage writes to ND4J memory. */
    static List<Node> written(Stage s) {
        if (s instanceof Nd4jStage st) return st.out;
        Kernel k = (Kernel) s;
        List<Node> out = new java.util.ArrayList<>(k.stores);
        out.addAll(k.exports);
        return out;
    }

    /** Values a stage reads (operands of its members, inputs of its op). */
    private static List<Node> readsOf(Stage s) {
        List<Node> out = new java.util.ArrayList<>();
        if (s instanceof Nd4jStage st) {
            out.addAll(List.of(st.in));
        } else {
            for (Node n : ((Kernel) s).members) out.addAll(List.of(n.in));
        }
        out.removeIf(n -> n.root().kind == Kind.INPUT || n.root().kind == Kind.CONSTANT);
        return out;
    }

    private static String key(DataType dt, long length) {
        return dt + ":" + length;
    }
}
