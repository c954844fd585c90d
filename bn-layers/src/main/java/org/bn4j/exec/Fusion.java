package org.bn4j.exec;

import org.bn4j.exec.Program.Kind;
import org.bn4j.exec.Program.Node;
import org.nd4j.autodiff.functions.DifferentialFunction;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fusion: partitions a {@link Program} into stages run in order, fused kernels and ND4J ops.
 *
 * <p>A <b>kernel</b> works on one iteration space (a shape). Its <i>tile</i> values have that shape and are computed
 * piece by piece, never stored unless something outside the kernel reads them; its reductions take tile values (or
 * inputs of the space's shape) to keepDims results; its <i>small</i> values are elementwise ops of a smaller shape
 * that broadcasts into the space and reads the kernel's reductions (the mean from a sum, a scale from a variance).
 * A value that depends on a reduction of the same kernel is available one <i>phase</i> later: a kernel is a sequence
 * of phases, each a sweep over its iteration space that computes the tile values it needs again from the inputs.
 *
 * <p>The space is split into <b>blocks</b> along one axis (the block axis). When no reduction whose result the kernel
 * itself reads spans the block axis, every such reduction is complete within a block and the block runs all its
 * phases before the next block starts: a block small enough to stay in cache is read from memory once, however many
 * phases it has (layer norm: a block of rows; NCHW batch norm: a block of channels, each a set of contiguous
 * H·W runs; [N,C] batch norm: a block of columns holding all rows, if a block keeps runs of at least
 * {@link #MIN_RUN} elements). Otherwise the kernel streams: each phase sweeps the whole space, and the reductions of
 * a phase are combined across threads before the next. Reductions whose results are read only by later stages may
 * span the block axis; they are combined at the end.
 *
 * <p>Ops that are not fused (matrix products, convolutions, top-k) are ND4J stages; the tile values they read are
 * stored by their kernel, and what they produce is read from memory by later kernels.
 */
final class Fusion {
    /** Elements of one tile (a piece of a block evaluated op by op in cache). */
    static final int TILE = 1024;
    /** Bytes of the inputs of one block that should stay in cache across its phases. */
    static final long BLOCK_BYTES = 4L << 20;
    /**
     * The shortest contiguous run (elements) a block may give along the last axis when blocked along it, unless the
     * system property {@value #MIN_RUN_PROPERTY} says otherwise (read when a graph is planned); a kernel whose blocks
     * would be narrower streams instead. Blocks of shorter runs cut each row into pieces that threads work on side by
     * side, and the compiled loops ran slower on them than streaming ones on the whole rows, even where the blocks
     * stayed in cache ({@code ExecutorSetting minRun ...} in bn-bench measures it).
     */
    static final long MIN_RUN = 2048;
    static final String MIN_RUN_PROPERTY = "bn4j.exec.minRun";

    abstract static sealed class Stage permits Kernel, Nd4jStage {
        final int index;
        final Set<Stage> deps = new LinkedHashSet<>();

        Stage(int index) {
            this.index = index;
        }
    }

    /** A fused kernel over one iteration space. */
    static final class Kernel extends Stage {
        final long[] space;
        final List<Node> members = new ArrayList<>();
        final Map<Node, Integer> level = new IdentityHashMap<>();
        /** The phase in which each reduction accumulates. */
        final Map<Node, Integer> reducePhase = new IdentityHashMap<>();
        /** Reductions read inside the kernel (complete within a block when blocked). */
        final Set<Node> consumed = new HashSet<>();
        /** Tile values written to memory (read by later stages or graph outputs), each in the phase of its level. */
        final Set<Node> stores = new LinkedHashSet<>();
        /** Small values and reductions copied to ND4J arrays after the kernel. */
        final Set<Node> exports = new LinkedHashSet<>();
        int blockAxis = -1;
        boolean blocked;
        int phases;
        long blockWidth;

        Kernel(int index, long[] space) {
            super(index);
            this.space = space;
        }

        boolean isTile(Node n) {
            return n.kind == Kind.ELEMENTWISE && Arrays.equals(n.shape, space);
        }

        @Override
        public String toString() {
            return "kernel " + index + " " + Arrays.toString(space) + (blocked ? " blocked" : " streaming") + " on axis "
                    + blockAxis + ", " + phases + " phase(s), " + members.size() + " ops";
        }
    }

    /** An op run by ND4J (all its outputs). */
    static final class Nd4jStage extends Stage {
        final DifferentialFunction op;
        final Node[] in;
        final List<Node> out = new ArrayList<>();

        Nd4jStage(int index, DifferentialFunction op, Node[] in) {
            super(index);
            this.op = op;
            this.in = in;
        }

        @Override
        public String toString() {
            return "nd4j " + op.opName();
        }
    }

    final Program program;
    final List<Stage> stages = new ArrayList<>();
    final Map<Node, Stage> stageOf = new IdentityHashMap<>();
    /** Values that must be in ND4J memory: stored tiles, exported small values, ND4J outputs, inputs, constants. */
    final Set<Node> inMemory = new HashSet<>();
    private final Map<String, Kernel> current = new HashMap<>();
    private final Map<DifferentialFunction, Nd4jStage> nd4jStages = new IdentityHashMap<>();
    private int created;

    private Fusion(Program program) {
        this.program = program;
    }

    /** The stages of a program, planned for {@code threads} threads. */
    static Fusion of(Program program, int threads) {
        Fusion f = new Fusion(program);
        for (Node n : program.nodes) f.assign(n);
        for (Node o : program.outputs) f.needInMemory(o.root());
        f.order();
        for (Stage s : f.stages) if (s instanceof Kernel k) f.schedule(k, threads);
        return f;
    }

    // ------------------------------------------------------------------ assignment

    private void assign(Node n) {
        switch (n.kind) {
            case INPUT, CONSTANT -> inMemory.add(n);
            case VIEW -> { }
            case ND4J -> {
                Nd4jStage st = nd4jStages.get(n.nd4jOp);
                if (st == null) {
                    st = new Nd4jStage(created++, n.nd4jOp, n.in);
                    nd4jStages.put(n.nd4jOp, st);
                    stages.add(st);
                    for (Node i : n.in) {
                        Stage s = stageOf.get(i.root());
                        if (s != null) st.deps.add(s);
                        needInMemory(i.root());
                    }
                }
                st.out.add(n);
                stageOf.put(n, st);
                inMemory.add(n);
            }
            case REDUCE -> place(n, n.in[0].shape);
            case ELEMENTWISE -> {
                Kernel k = smallHost(n);
                if (k != null && canJoin(k, n)) join(k, n);
                else place(n, n.shape);
            }
        }
    }

    /** The latest kernel whose reductions or small values {@code n} reads, if n is smaller than its space. */
    private Kernel smallHost(Node n) {
        Kernel best = null;
        for (Node i : n.in) {
            Node r = i.root();
            if (stageOf.get(r) instanceof Kernel k && !k.isTile(r) && !Arrays.equals(n.shape, k.space)
                    && Program.fits(n.shape, k.space) && (best == null || k.index > best.index)) {
                best = k;
            }
        }
        return best;
    }

    private void place(Node n, long[] space) {
        String key = Arrays.toString(space);
        Kernel k = current.get(key);
        if (k == null || !canJoin(k, n)) {
            k = new Kernel(created++, space);
            current.put(key, k);
            stages.add(k);
            if (!canJoin(k, n)) throw new UnsupportedGraphException("cannot place " + n + " in a kernel of its own");
        }
        join(k, n);
    }

    private boolean canJoin(Kernel k, Node n) {
        for (Node i : n.in) {
            if (!Program.fits(i.shape, k.space)) return false;
            Node r = i.root();
            Stage s = stageOf.get(r);
            if (s == k) {
                // a reshaped view of the kernel's own values has another index mapping
                if (i != r && !Arrays.equals(i.shape, r.shape)) return false;
            } else if (s != null && dependsOn(s, k)) {
                return false;
            }
        }
        return true;
    }

    private void join(Kernel k, Node n) {
        k.members.add(n);
        stageOf.put(n, k);
        for (Node i : n.in) {
            Node r = i.root();
            Stage s = stageOf.get(r);
            if (s == null || s == k) continue;
            k.deps.add(s);
            // tile values of another kernel, and values this kernel loads as full-size operands, come from memory
            if (s instanceof Kernel other && (other.isTile(r) || Arrays.equals(i.shape, k.space))) needInMemory(r);
        }
    }

    /** Makes a value readable from ND4J memory after its stage. */
    private void needInMemory(Node r) {
        if (inMemory.contains(r)) return;
        Stage s = stageOf.get(r);
        if (s instanceof Kernel k) {
            if (k.isTile(r)) k.stores.add(r);
            else k.exports.add(r);
        }
        inMemory.add(r);
    }

    private static boolean dependsOn(Stage s, Stage target) {
        Deque<Stage> todo = new ArrayDeque<>(s.deps);
        Set<Stage> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            Stage x = todo.pop();
            if (x == target) return true;
            if (seen.add(x)) todo.addAll(x.deps);
        }
        return false;
    }

    /** Stages in an order that respects their dependencies (creation order where free). */
    private void order() {
        List<Stage> out = new ArrayList<>();
        Set<Stage> done = new HashSet<>();
        while (out.size() < stages.size()) {
            boolean progress = false;
            for (Stage s : stages) {
                if (!done.contains(s) && done.containsAll(s.deps)) {
                    out.add(s);
                    done.add(s);
                    progress = true;
                    break;
                }
            }
            if (!progress) throw new UnsupportedGraphException("stages depend on each other in a cycle");
        }
        stages.clear();
        stages.addAll(out);
    }

    // ------------------------------------------------------------------ phases and blocks

    private int levelOf(Kernel k, Node operand) {
        Node r = operand.root();
        return stageOf.get(r) == k ? k.level.get(r) : 0;
    }

    private void schedule(Kernel k, int threads) {
        int phases = 0;
        for (Node n : k.members) {
            int l = 0;
            for (Node i : n.in) {
                l = Math.max(l, levelOf(k, i));
                Node r = i.root();
                if (stageOf.get(r) == k && r.kind == Kind.REDUCE) k.consumed.add(r);
            }
            if (n.kind == Kind.REDUCE) {
                k.reducePhase.put(n, l);
                phases = Math.max(phases, l + 1);
                l++;
            }
            k.level.put(n, l);
        }
        for (Node s : k.stores) phases = Math.max(phases, k.level.get(s) + 1);
        k.phases = phases;

        int rank = k.space.length;
        int first = -1;
        for (int a = 0; a < rank && first < 0; a++) if (k.space[a] > 1) first = a;
        int b = -1;
        for (int a = 0; a < rank && b < 0; a++) {
            if (k.space[a] <= 1) continue;
            boolean ok = true;
            for (Node r : k.consumed) ok &= !r.axes[a];
            if (ok) b = a;
        }
        // a small value of a blocked kernel is computed block by block, so it must run along the block axis
        for (Node n : k.members) {
            if (b >= 0 && n.kind == Kind.ELEMENTWISE && !k.isTile(n)
                    && Program.padded(n.shape, rank)[b] != k.space[b]) {
                b = -1;
            }
        }
        long minRun = Long.getLong(MIN_RUN_PROPERTY, MIN_RUN);
        if (b == rank - 1 && b != first && !k.consumed.isEmpty() && blockWidth(k, b, threads) < minRun) b = -1;
        k.blocked = b >= 0 || k.consumed.isEmpty();
        k.blockAxis = b >= 0 ? b : first;
        if (k.blockAxis < 0) {
            k.blockWidth = 1;
            return;
        }
        // streaming: a thread's share of the axis; blocked: what stays in cache, a thread's share at most
        k.blockWidth = k.blocked ? blockWidth(k, k.blockAxis, threads) : (k.space[k.blockAxis] + threads - 1) / threads;
    }

    /** The width of a kernel's blocks along axis b: its inputs' part in {@link #BLOCK_BYTES}, a thread's share at most. */
    private long blockWidth(Kernel k, int b, int threads) {
        long extent = k.space[b];
        long perThread = (extent + threads - 1) / threads;
        long unit = Program.length(k.space) / extent;
        long w = Math.max(1, BLOCK_BYTES / Math.max(1, unit * inputBytes(k)));
        return Math.max(1, Math.min(w, perThread));
    }

    /** Bytes per element of the space-shaped values a kernel reads from memory. */
    private long inputBytes(Kernel k) {
        long b = 0;
        for (Node r : fullInputs(k)) b += r.dataType.width();
        return b;
    }

    /** The space-shaped values a kernel reads from memory (inputs, constants, other stages' values). */
    Set<Node> fullInputs(Kernel k) {
        Set<Node> out = new LinkedHashSet<>();
        for (Node n : k.members) {
            for (Node i : n.in) {
                Node r = i.root();
                if (stageOf.get(r) != k && Arrays.equals(i.shape, k.space)) out.add(i);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ traffic

    /**
     * Full-size passes over memory of one run: reads and writes of arrays as large as the largest value of the
     * program. A kernel reads each such input once if it is blocked with blocks that stay in cache ({@link
     * #BLOCK_BYTES}), else once per phase that reads it; it writes each stored value once. An ND4J stage reads its
     * inputs and writes its outputs.
     */
    double passes() {
        long full = 0;
        for (Node n : program.nodes) full = Math.max(full, n.length());
        double passes = 0;
        for (Stage s : stages) {
            if (s instanceof Kernel k) {
                long unit = Program.length(k.space) / Math.max(1, k.blockAxis < 0 ? 1 : k.space[k.blockAxis]);
                boolean cached = k.blocked && unit * k.blockWidth * inputBytes(k) <= 2 * BLOCK_BYTES;
                for (Node in : fullInputs(k)) {
                    if (in.length() != full) continue;
                    passes += cached ? 1 : phasesReading(k, in).size();
                }
                for (Node st : k.stores) if (st.length() == full) passes++;
            } else {
                Nd4jStage st = (Nd4jStage) s;
                for (Node i : st.in) if (i.length() == full) passes++;
                for (Node o : st.out) if (o.length() == full) passes++;
            }
        }
        return passes;
    }

    /** The phases in which a kernel loads {@code input}: those of the tile values and reductions that read it. */
    Set<Integer> phasesReading(Kernel k, Node input) {
        Set<Integer> phases = new HashSet<>();
        for (int p = 0; p < k.phases; p++) {
            for (Node n : tilesOfPhase(k, p)) {
                for (Node i : n.in) if (i == input) phases.add(p);
            }
        }
        return phases;
    }

    /**
     * The tile values and reductions evaluated in phase p, in program order: the reductions of phase p, the stores
     * of level p, and the tile values they read, computed again in this phase.
     */
    List<Node> tilesOfPhase(Kernel k, int p) {
        Set<Node> needed = new HashSet<>();
        Deque<Node> todo = new ArrayDeque<>();
        for (Node n : k.members) {
            if (n.kind == Kind.REDUCE && k.reducePhase.get(n) == p) todo.push(n);
        }
        for (Node s : k.stores) if (k.level.get(s) == p) todo.push(s);
        while (!todo.isEmpty()) {
            Node n = todo.pop();
            if (!needed.add(n)) continue;
            for (Node i : n.in) {
                Node r = i.root();
                if (stageOf.get(r) == k && k.isTile(r)) todo.push(r);
            }
        }
        List<Node> out = new ArrayList<>();
        for (Node n : k.members) if (needed.contains(n)) out.add(n);
        return out;
    }

    /** Small values of the kernel computed after phase p − 1 (level p ≥ 1), in program order. */
    List<Node> smallOfLevel(Kernel k, int p) {
        List<Node> out = new ArrayList<>();
        for (Node n : k.members) if (n.kind == Kind.ELEMENTWISE && !k.isTile(n) && k.level.get(n) == p) out.add(n);
        return out;
    }

    /** Reductions of phase p. */
    List<Node> reductionsOfPhase(Kernel k, int p) {
        List<Node> out = new ArrayList<>();
        for (Node n : k.members) if (n.kind == Kind.REDUCE && k.reducePhase.get(n) == p) out.add(n);
        return out;
    }

    /** True if a reduction of a blocked kernel is complete within a block (it does not span the block axis). */
    static boolean blockLocal(Kernel k, Node reduction) {
        return k.blocked && k.blockAxis >= 0 && !reduction.axes[k.blockAxis];
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Stage s : stages) sb.append(s).append('\n');
        return sb.toString();
    }
}
