package org.bn4j.exec;

import org.bn4j.exec.Fusion.Kernel;
import org.bn4j.exec.Fusion.Nd4jStage;
import org.bn4j.exec.Fusion.Stage;
import org.bn4j.exec.Program.Kind;
import org.bn4j.exec.Program.Node;
import org.bn4j.exec.Program.Op;
import org.bn4j.exec.Program.Reduction;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.CustomOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The runner of the fusing executor: plans a graph on its first call ({@link Planner}, {@link Fusion},
 * {@link BufferPlan}), compiles each kernel phase into a loop ({@link TileCompiler}) and runs its stages on every
 * call. A kernel runs block by block on the configured threads; within a block, each phase goes over the block's
 * rows, a few tens of thousands of elements a call of its compiled loop, which loads, computes, stores and reduces
 * vector by vector in registers, in the graph's type (float32 sums in float64). A phase that cannot be compiled (values
 * of more than one type, no compiler in the runtime, {@code -Dbn4j.exec.codegen=false}) is interpreted instead: tiles
 * of {@link Fusion#TILE} elements, op by op on double-precision tiles with the Vector API ({@link VectorOps}), a
 * float32 tile value that a comparison or a step tests rounded first, so that the test sees the value the graph's type
 * holds. Reductions accumulate in double precision either way and are rounded once to their type. Small operands are
 * read from memory and exported values written to it through the arrays' direct buffers. ND4J stages run their op on
 * preallocated arrays. Not thread-safe: {@link CompiledGraph} serializes calls.
 */
final class FusedExecutor {
    /** Elements per thread below which a kernel runs on the calling thread alone. */
    private static final long MIN_PARALLEL = 1 << 15;
    /** Elements (at least one row) a call of a compiled loop takes. */
    private static final long LOOP_CALL = 1 << 15;

    private final SameDiff sd;
    private final List<String> inputNames;
    private final String[] outputNames;
    private final Scratch scratch;
    private final int threads;

    private Program program;
    private Fusion fusion;
    private BufferPlan buffers;
    private List<Runnable> stageRuns;
    /** Per node id: the ND4J array holding the value this call (inputs, constants, buffers, destinations). */
    private INDArray[] mem;
    /** Per node id: the value as doubles (reductions, small values, and small operands read from memory). */
    private double[][] small;
    /** Per node id: the direct buffer of its memory this call. */
    private ByteBuffer[] nio;
    /** Per node id: float32 copies of the small values that compiled float32 loops read. */
    private float[][] smallF;

    FusedExecutor(SameDiff sd, List<String> inputNames, String[] outputNames, Scratch scratch, int threads) {
        this.sd = sd;
        this.inputNames = inputNames;
        this.outputNames = outputNames;
        this.scratch = scratch;
        this.threads = Math.max(1, threads);
    }

    /** The plan's stages (after the first call), for tests and profiles. */
    Fusion fusion() {
        return fusion;
    }

    /** The compiled loops of the plan's phases, in plan order. */
    List<TileCompiler.Loop> loops() {
        List<TileCompiler.Loop> out = new ArrayList<>();
        for (Runnable r : stageRuns) {
            if (!(r instanceof KernelRun kr)) continue;
            for (Phase ph : kr.phases) if (ph.loop != null) out.add(ph.loop);
        }
        return out;
    }

    /** The number of the plan's kernel phases that run compiled loops, and of all its kernel phases. */
    int[] compiledPhases() {
        int compiled = 0, all = 0;
        for (Runnable r : stageRuns) {
            if (!(r instanceof KernelRun kr)) continue;
            for (Phase ph : kr.phases) {
                all++;
                if (ph.loop != null) compiled++;
            }
        }
        return new int[]{compiled, all};
    }

    /** Plans the graph for inputs like {@code in} if not planned yet. */
    void plan(Map<String, INDArray> in) {
        if (program != null) return;
        Program p = Planner.plan(sd, inputNames, outputNames, in);
        Fusion f = Fusion.of(p, threads);
        for (Node n : f.inMemory) {
            if (n.dataType != DataType.FLOAT && n.dataType != DataType.DOUBLE && n.kind != Kind.ND4J && n.kind != Kind.CONSTANT
                    && n.kind != Kind.INPUT) {
                throw new UnsupportedGraphException(n + " of type " + n.dataType + " would be kept in memory");
            }
        }
        buffers = BufferPlan.of(f);
        mem = new INDArray[p.nodes.size()];
        small = new double[p.nodes.size()][];
        nio = new ByteBuffer[p.nodes.size()];
        for (Node n : p.nodes) if (n.kind == Kind.CONSTANT) mem[n.id] = n.constant;
        List<Runnable> runs = new ArrayList<>();
        for (Stage s : f.stages) {
            for (Node n : BufferPlan.written(s)) {
                Integer b = buffers.slot.get(n);
                if (b != null) mem[n.id] = scratch.buffer(n.dataType, n.length(), b).reshape('c', n.shape);
            }
            runs.add(s instanceof Kernel k ? new KernelRun(f, k) : new Nd4jRun((Nd4jStage) s));
        }
        List<Phase> all = new ArrayList<>();
        for (Runnable r : runs) if (r instanceof KernelRun kr) all.addAll(Arrays.asList(kr.phases));
        TileCompiler.Loop[] loops = TileCompiler.compile(all);
        smallF = new float[p.nodes.size()][];
        for (int i = 0; i < loops.length; i++) {
            all.get(i).loop = loops[i];
            if (loops[i] == null || !loops[i].f32()) continue;
            for (Operand o : loops[i].small()) {
                Node r = o.node.root();
                smallF[r.id] = new float[Math.toIntExact(r.length())];
            }
        }
        program = p;
        fusion = f;
        stageRuns = runs;
    }

    Map<String, INDArray> run(Map<String, INDArray> in, Map<String, INDArray> into) {
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            plan(in);
            for (Node n : program.inputs) {
                mem[n.id] = contiguous(CompiledGraph.input(in, n.name, n.dataType, n.shape));
                small[n.id] = null;
            }
            CompiledGraph.checkOutputNames(into, outputNames);
            for (Map.Entry<String, INDArray> e : into.entrySet()) {
                Node o = program.byName.get(e.getKey());
                CompiledGraph.checkDestination(o.name, e.getValue(), o.dataType, o.shape);
            }
            for (Node r : buffers.direct.keySet()) {
                INDArray d = into.get(r.name);
                mem[r.id] = d != null && isContiguous(d) ? d : Nd4j.createUninitialized(r.dataType, r.shape);
            }
            for (Node n : program.nodes) if (n.kind != Kind.INPUT && n.kind != Kind.CONSTANT) small[n.id] = null;
            Arrays.fill(nio, null);
            for (Runnable r : stageRuns) r.run();
            // what follows the graph (the layer's other work, ND4J's threads) needs the cores more than the team
            Team.rest();
            Map<String, INDArray> res = new HashMap<>();
            for (Node o : program.outputs) {
                if (res.containsKey(o.name)) continue;
                INDArray dest = into.get(o.name);
                if (buffers.direct.containsKey(o) && mem[o.id] == dest) {   // written in place
                    res.put(o.name, dest);
                    continue;
                }
                Node r = o.root();
                double[] computed = small[r.id];
                boolean real = r.dataType == DataType.FLOAT || r.dataType == DataType.DOUBLE;
                if (dest != null && computed != null && isContiguous(dest) && computed.length == dest.length()
                        && (dest.dataType() == DataType.FLOAT || dest.dataType() == DataType.DOUBLE)) {
                    // a small value straight into its destination: no ND4J op
                    write(computed, dest, dest.data().asNio().order(java.nio.ByteOrder.nativeOrder()));
                    res.put(o.name, dest);
                    continue;
                }
                if (dest == null && computed != null && real && o.shape.length > 0 && !buffers.direct.containsKey(o)) {
                    // a value at hand as doubles (a small one, or one exported to memory): a new array, no ND4J op
                    res.put(o.name, Nd4j.create(computed, o.shape, r.dataType));
                    continue;
                }
                INDArray value = value(o);
                if (dest != null) {
                    res.put(o.name, dest.assign(value));
                } else {
                    res.put(o.name, buffers.direct.containsKey(o) || !inMemory(r) ? value : value.dup('c'));
                }
            }
            return res;
        }
    }

    /** True if a root value is in memory this call (else it is a small value, computed as doubles). */
    private boolean inMemory(Node r) {
        return mem[r.id] != null && (fusion.inMemory.contains(r) || r.kind == Kind.INPUT || r.kind == Kind.CONSTANT);
    }

    /** The value of a node as an ND4J array of its shape (a view of memory, or made from its doubles). */
    private INDArray value(Node n) {
        Node r = n.root();
        INDArray a = inMemory(r) ? mem[r.id] : Nd4j.createFromArray(small[r.id]).castTo(r.dataType);
        return Arrays.equals(a.shape(), n.shape) ? a : a.reshape('c', n.shape);   // a view costs a native shape buffer
    }

    private static boolean isContiguous(INDArray a) {
        if (a.ordering() != 'c' && a.rank() > 1) return false;
        long expect = 1;
        for (int i = a.rank() - 1; i >= 0; i--) {
            if (a.size(i) > 1 && a.stride(i) != expect) return false;
            expect *= a.size(i);
        }
        return true;
    }

    private static INDArray contiguous(INDArray a) {
        return isContiguous(a) ? a : a.dup('c');
    }

    /**
     * The direct buffer of a value's memory this call, in native byte order (made once per call: each view costs a
     * native call).
     */
    private ByteBuffer nio(Node r) {
        ByteBuffer b = nio[r.id];
        if (b == null) {
            synchronized (nio) {
                b = nio[r.id];
                if (b == null) nio[r.id] = b = mem[r.id].data().asNio().order(java.nio.ByteOrder.nativeOrder());
            }
        }
        return b;
    }

    /** A value as doubles, flat in C order: computed ones as they are, others read from memory (once per call). */
    private double[] doubles(Node operand) {
        Node r = operand.root();
        double[] d = small[r.id];
        if (d == null) {
            INDArray a = mem[r.id];
            DataType t = a.dataType();
            if ((t == DataType.FLOAT || t == DataType.DOUBLE) && isContiguous(a)) {
                // read straight from memory: ND4J ops cost microseconds each, which small shapes notice
                d = new double[Math.toIntExact(a.length())];
                VectorOps.load(nio(r), t == DataType.FLOAT, a.offset(), d, 0, d.length);
            } else {
                d = a.dup('c').castTo(DataType.DOUBLE).data().asDouble();
            }
            small[r.id] = d;
        }
        return d;
    }

    /** Writes a value computed as doubles to its memory (float32 or float64, contiguous: planned so). */
    private void export(Node e) {
        write(small[e.id], mem[e.id], nio(e));
    }

    /** Writes doubles into a contiguous float32 or float64 array through its direct buffer b. */
    private static void write(double[] d, INDArray a, ByteBuffer b) {
        VectorOps.store(d, 0, b, a.dataType() == DataType.FLOAT, a.offset(), d.length);
    }

    // ------------------------------------------------------------------ ND4J stages

    private final class Nd4jRun implements Runnable {
        final Nd4jStage st;
        OpContext oc;

        Nd4jRun(Nd4jStage st) {
            this.st = st;
        }

        @Override
        public void run() {
            if (oc == null) oc = Nd4j.getExecutioner().buildContext();
            INDArray[] ins = new INDArray[st.in.length];
            for (int i = 0; i < ins.length; i++) ins[i] = memoryOf(st.in[i]);
            if (st.op instanceof DynamicCustomOp c) {
                oc.setArgs(ins, c.iArgs(), c.dArgs(), c.tArgs(), c.bArgs());
            } else {
                for (int i = 0; i < ins.length; i++) oc.setInputArray(i, ins[i]);
            }
            for (Node o : st.out) oc.setOutputArray(o.outIndex, mem[o.id]);
            if (st.op instanceof CustomOp c) {
                Nd4j.getExecutioner().exec(c, oc);
            } else {
                Nd4j.getExecutioner().exec((org.nd4j.linalg.api.ops.Op) st.op, oc);
            }
        }

        private INDArray memoryOf(Node operand) {
            Node r = operand.root();
            INDArray a = mem[r.id];
            return a.reshape('c', operand.shape);
        }
    }

    // ------------------------------------------------------------------ kernels

    /** How a tile op reads one operand. */
    enum Source { TILE, MEMORY, SMALL }

    static final class Operand {
        final Node node;
        final Source source;
        /** TILE: the slot of the tile buffer; MEMORY: the slot its loaded tile goes to. */
        int slot;
        /** SMALL: the operand's strides over the space (0 along broadcast axes), and its offset at each row. */
        long[] strides;
        long[] rowOff;

        Operand(Node node, Source source) {
            this.node = node;
            this.source = source;
        }
    }

    /** One tile op of a phase: its operands and where its result goes. */
    static final class TileOp {
        final Node node;
        final Operand[] in;
        int slot;
        boolean store;
        /** Round the result to float32 (a float32 value that a comparison or a step tests). */
        boolean round;

        TileOp(Node node, Operand[] in) {
            this.node = node;
            this.in = in;
        }
    }

    static final class Phase {
        final List<Operand> loads = new ArrayList<>();
        /** The phase's compiled loop, or null: interpreted. */
        TileCompiler.Loop loop;
        final List<TileOp> ops = new ArrayList<>();
        final List<Node> reductions = new ArrayList<>();
        final List<Node> smallAfter = new ArrayList<>();
        int slots;
    }

    private final class KernelRun implements Runnable {
        final Fusion f;
        final Kernel k;
        final int rank;
        final long rows;
        final long cols;
        final Phase[] phases;
        final List<Node> reductions = new ArrayList<>();
        /** Blocks as [lo, hi) along the block axis. */
        final long[][] blocks;
        final Map<String, long[]> rowOffsets = new HashMap<>();
        final long[][] reduceRowOff;
        /** The roots of the kernel's small inputs from outside it, read at the start of every call, each once. */
        final Set<Node> outsideSmall = new LinkedHashSet<>();

        KernelRun(Fusion f, Kernel k) {
            this.f = f;
            this.k = k;
            long[] space = k.space.length == 0 ? new long[]{1} : k.space;
            rank = space.length;
            cols = space[rank - 1];
            rows = Program.length(space) / Math.max(1, cols);
            for (Node n : k.members) if (n.kind == Kind.REDUCE) reductions.add(n);
            reduceRowOff = new long[reductions.size()][];
            for (int j = 0; j < reduceRowOff.length; j++) reduceRowOff[j] = rowOffsets(broadcastStrides(reductions.get(j).shape, space));
            phases = new Phase[Math.max(k.phases, 1)];
            for (int p = 0; p < phases.length; p++) phases[p] = phase(p, space);
            long extent = k.blockAxis < 0 ? 1 : k.space[k.blockAxis];
            List<long[]> bl = new ArrayList<>();
            for (long lo = 0; lo < extent; lo += k.blockWidth) bl.add(new long[]{lo, Math.min(extent, lo + k.blockWidth)});
            blocks = bl.toArray(long[][]::new);
            for (Node n : k.members) {
                for (Node i : n.in) if (f.stageOf.get(i.root()) != k && !Arrays.equals(i.shape, k.space)) outsideSmall.add(i.root());
            }
        }

        private Phase phase(int p, long[] space) {
            Phase ph = new Phase();
            List<Node> nodes = f.tilesOfPhase(k, p);
            // where each tile value or loaded operand lives, and the last op of the phase that reads it
            Map<Node, Operand> loaded = new IdentityHashMap<>();
            Map<Node, Integer> slotOf = new IdentityHashMap<>();
            Map<Node, Integer> last = new IdentityHashMap<>();
            List<Integer> free = new ArrayList<>();
            for (int i = 0; i < nodes.size(); i++) {
                for (Node in : nodes.get(i).in) {
                    Node key = isOwnTile(in) ? in.root() : in;
                    last.put(key, i);
                    if (!isOwnTile(in) && Arrays.equals(in.shape, k.space) && !loaded.containsKey(in)) {
                        // loads happen at the start of a tile: their slots are taken before any op's
                        Operand o = new Operand(in, Source.MEMORY);
                        o.slot = take(free, ph);
                        loaded.put(in, o);
                        slotOf.put(in, o.slot);
                        ph.loads.add(o);
                    }
                }
            }
            for (int i = 0; i < nodes.size(); i++) {
                Node n = nodes.get(i);
                Operand[] ops = new Operand[n.in.length];
                for (int j = 0; j < ops.length; j++) {
                    Node in = n.in[j];
                    if (isOwnTile(in)) {
                        ops[j] = new Operand(in.root(), Source.TILE);
                        ops[j].slot = slotOf.get(in.root());
                    } else if (loaded.containsKey(in)) {
                        ops[j] = loaded.get(in);
                    } else {
                        ops[j] = new Operand(in, Source.SMALL);
                        ops[j].strides = broadcastStrides(in.shape, space);
                        ops[j].rowOff = rowOffsets(ops[j].strides);
                    }
                }
                // values read for the last time here free their slots (an op may write over its own operand)
                for (Node in : n.in) {
                    Node key = isOwnTile(in) ? in.root() : in;
                    Integer s = slotOf.get(key);
                    if (s != null && last.get(key) == i && !free.contains(s)) free.add(s);
                }
                if (n.kind == Kind.REDUCE) {
                    ph.reductions.add(n);
                    ph.ops.add(new TileOp(n, ops));
                } else {
                    TileOp t = new TileOp(n, ops);
                    t.store = k.stores.contains(n) && k.level.get(n) == p;
                    t.round = n.dataType == DataType.FLOAT && testedByThreshold(n);
                    t.slot = take(free, ph);
                    slotOf.put(n, t.slot);
                    if (!last.containsKey(n)) free.add(t.slot);
                    ph.ops.add(t);
                }
            }
            ph.smallAfter.addAll(f.smallOfLevel(k, p + 1));
            return ph;
        }

        /** True if a comparison or a step reads the value: it must see the value its type holds. */
        private boolean testedByThreshold(Node n) {
            for (Node m : k.members) {
                if (m.kind != Kind.ELEMENTWISE) continue;
                boolean test = m.op == Op.STEP || m.op.ordinal() >= Op.GT.ordinal();
                for (Node i : m.in) if (test && i.root() == n) return true;
            }
            return false;
        }

        private boolean isOwnTile(Node operand) {
            Node r = operand.root();
            return f.stageOf.get(r) == k && k.isTile(r);
        }

        private int take(List<Integer> free, Phase ph) {
            if (!free.isEmpty()) return free.remove(free.size() - 1);
            return ph.slots++;
        }

        @Override
        public void run() {
            // small operands from outside the kernel, read into doubles here (before any worker thread reads them)
            for (Node r : outsideSmall) {
                doubles(r);
                mirror(r, null);   // float32 copy for compiled loops, once a call (not per block)
            }
            for (Node r : reductions) {
                double[] a = new double[Math.toIntExact(r.length())];
                Arrays.fill(a, identity(r.reduction));
                small[r.id] = a;
            }
            for (Node n : k.members) {
                if (n.kind == Kind.ELEMENTWISE && !k.isTile(n)) small[n.id] = new double[Math.toIntExact(n.length())];
            }
            // small kernels run on the calling thread: handing work to another costs more than it saves
            int t = (int) Math.max(1, Math.min(Math.min(threads, blocks.length), Program.length(k.space) / MIN_PARALLEL));
            if (k.blocked) {
                double[][][] partial = parallel(t, reductions, (tid, acc) -> {
                    for (int b = tid * blocks.length / t; b < (tid + 1) * blocks.length / t; b++) {
                        for (int p = 0; p < phases.length; p++) {
                            sweep(phases[p], blocks[b], acc);
                            for (Node r : phases[p].reductions) if (Fusion.blockLocal(k, r)) finish(r, blocks[b]);
                            for (Node s : phases[p].smallAfter) computeSmall(s, blocks[b]);
                        }
                    }
                });
                for (Node r : reductions) {
                    if (!Fusion.blockLocal(k, r)) {
                        merge(r, partial);
                        finish(r, null);
                    }
                }
            } else {
                for (Phase ph : phases) {
                    double[][][] partial = parallel(t, ph.reductions, (tid, acc) -> {
                        for (int b = tid * blocks.length / t; b < (tid + 1) * blocks.length / t; b++) sweep(ph, blocks[b], acc);
                    });
                    for (Node r : ph.reductions) {
                        merge(r, partial);
                        finish(r, null);
                    }
                    for (Node s : ph.smallAfter) computeSmall(s, null);
                }
            }
            for (Node e : k.exports) export(e);
        }

        /**
         * Runs {@code body(thread, partials)} on t threads (thread 0 the caller, the others the {@link Team}'s);
         * returns each thread's partial accumulators of the given reductions (indexed like {@link #reductions}; each
         * thread makes its own).
         */
        private double[][][] parallel(int t, List<Node> swept, ThreadBody body) {
            double[][][] partial = new double[t][][];
            Team.of(threads).run(t, i -> {
                double[][] acc = new double[reductions.size()][];
                for (Node r : swept) {
                    if (Fusion.blockLocal(k, r)) continue;
                    double[] a = new double[Math.toIntExact(r.length())];
                    Arrays.fill(a, identity(r.reduction));
                    acc[reductions.indexOf(r)] = a;
                }
                partial[i] = acc;
                body.run(i, acc);
            });
            return partial;
        }

        private void merge(Node r, double[][][] partial) {
            int j = reductions.indexOf(r);
            double[] out = small[r.id];
            for (double[][] p : partial) {
                double[] a = p[j];
                for (int i = 0; i < out.length; i++) out[i] = VectorOps.combine(r.reduction, out[i], a[i]);
            }
        }

        /** Mean division and float32 rounding of a reduction, over a block's part (null: all of it). */
        private void finish(Node r, long[] block) {
            double[] a = small[r.id];
            long count = 1;
            for (int i = 0; i < r.axes.length; i++) if (r.axes[i]) count *= r.in[0].shape[i];
            double div = r.reduction == Reduction.MEAN ? count : 1;
            forEachRun(r.shape, block, (from, to) -> {
                for (int i = from; i < to; i++) a[i] = ScalarOps.round(a[i] / div, r.dataType);
            });
        }

        private void computeSmall(Node n, long[] block) {
            double[] out = small[n.id];
            long[] shape = Program.padded(n.shape, rank);
            double[] a = doubles(n.in[0]);
            double[] b = n.in.length > 1 ? doubles(n.in[1]) : null;
            // operands of the output's shape or of one element index directly; others through broadcast strides
            int ka = kindOf(n.in[0], shape), kb = b == null ? SCALAR : kindOf(n.in[1], shape);
            if (ka != BROADCAST && kb != BROADCAST) {
                forEachRun(n.shape, block, (from, to) -> span(n, a, ka == SAME ? from : 0, ka == SAME, b,
                        kb == SAME ? from : 0, kb == SAME, out, from, to - from));
                return;
            }
            long[] sa = broadcastStrides(n.in[0].shape, shape);
            long[] sb = b != null ? broadcastStrides(n.in[1].shape, shape) : null;
            long[] st = cStrides(shape);
            int last = shape.length - 1;
            long width = shape[last];
            // along the last axis an operand's stride is 1 or 0 (broadcast): one span per stretch of a row
            forEachRun(n.shape, block, (from, to) -> {
                for (int i = from; i < to; ) {
                    long oa = 0, ob = 0, rem = i;
                    for (int d = 0; d < shape.length; d++) {
                        long idx = rem / st[d];
                        rem -= idx * st[d];
                        oa += idx * sa[d];
                        if (sb != null) ob += idx * sb[d];
                    }
                    int len = (int) Math.min(to - i, width - i % width);
                    span(n, a, (int) oa, sa[last] != 0, b, (int) ob, sb != null && sb[last] != 0, out, i, len);
                    i += len;
                }
            });
        }

        /**
         * out[o, o+len) = op(a, b) of a small value's node, rounded to its type: a and b read from ao and bo, advancing
         * with the output where they vary, one value otherwise (b null for a unary op).
         */
        private static void span(Node n, double[] a, int ao, boolean aVaries, double[] b, int bo, boolean bVaries,
                                 double[] out, int o, int len) {
            if (b == null) {
                if (aVaries) VectorOps.unary(n.op, n.param, a, ao, out, o, len);
                else Arrays.fill(out, o, o + len, ScalarOps.apply(n.op, a[ao], 0, n.param));
            } else if (aVaries && bVaries) {
                VectorOps.binary(n.op, a, ao, b, bo, out, o, len);
            } else if (aVaries) {
                VectorOps.binaryScalar(n.op, a, ao, b[bo], false, out, o, len);
            } else if (bVaries) {
                VectorOps.binaryScalar(n.op, b, bo, a[ao], true, out, o, len);
            } else {
                Arrays.fill(out, o, o + len, ScalarOps.apply(n.op, a[ao], b[bo], n.param));
            }
            if (n.dataType == DataType.FLOAT) VectorOps.roundToFloat(out, o, len);
        }

        private static final int SAME = 0, SCALAR = 1, BROADCAST = 2;

        private int kindOf(Node operand, long[] shape) {
            if (operand.length() == 1) return SCALAR;
            return Arrays.equals(Program.padded(operand.shape, shape.length), shape) ? SAME : BROADCAST;
        }

        /**
         * Calls {@code body} with the runs [from, to) of flat indexes of a keepDims-shaped value that lie within a
         * block (null: the whole value, one run).
         */
        private void forEachRun(long[] shape0, long[] block, RunBody body) {
            long[] shape = Program.padded(shape0, rank);
            int len = Math.toIntExact(Program.length(shape));
            int b = k.blockAxis;
            if (block == null || b < 0 || shape[b] == 1) {
                body.run(0, len);
                return;
            }
            long inner = 1;
            for (int d = b + 1; d < rank; d++) inner *= shape[d];
            long outer = len / (inner * shape[b]);
            for (long o = 0; o < outer; o++) {
                long base = o * shape[b] * inner;
                body.run((int) (base + block[0] * inner), (int) (base + block[1] * inner));
            }
        }

        /** One phase over one block, tile by tile. */
        private void sweep(Phase ph, long[] block, double[][] acc) {
            Object[] args = ph.loop == null ? null : arguments(ph.loop, block, acc);
            double[][] tiles = args != null ? null : TILES.get().buffers(ph.slots);
            int b = k.blockAxis;
            long c0 = 0, c1 = cols;
            long r0 = 0, r1 = rows, midLo = 0, midHi = 1, inner = rows, prefix = 1;
            if (b == rank - 1 && b >= 0) {
                c0 = block[0];
                c1 = block[1];
            } else if (b >= 0) {
                long ext = k.space[b];
                inner = 1;
                for (int d = b + 1; d < rank - 1; d++) inner *= k.space[d];
                prefix = rows / (inner * ext);
                midLo = block[0];
                midHi = block[1];
            }
            int tc = (int) Math.min(c1 - c0, Fusion.TILE);
            // a compiled loop keeps no tile: it takes many rows a call, so that calls cost nothing beside the work
            int tr = (int) Math.max(1, (args != null ? LOOP_CALL : Fusion.TILE) / tc);
            long visited = b >= 0 && b < rank - 1 ? prefix * (midHi - midLo) * inner : r1 - r0;
            long[] rowIdx = new long[(int) Math.min(tr, visited)];
            int n = 0;
            for (long p = 0; p < prefix; p++) {
                for (long m = midLo; m < midHi; m++) {
                    long start = b >= 0 && b < rank - 1 ? (p * k.space[b] + m) * inner : r0;
                    long end = b >= 0 && b < rank - 1 ? start + inner : r1;
                    for (long o = start; o < end; o++) {
                        rowIdx[n++] = o;
                        if (n == tr) {
                            tiles(ph, rowIdx, n, c0, c1, tc, tiles, acc, args);
                            n = 0;
                        }
                    }
                }
            }
            if (n > 0) tiles(ph, rowIdx, n, c0, c1, tc, tiles, acc, args);
        }

        /** The tiles of a set of rows: the columns [c0, c1) in pieces of tc (compiled: one call, all columns). */
        private void tiles(Phase ph, long[] rowIdx, int nr, long c0, long c1, int tc, double[][] tiles, double[][] acc,
                           Object[] args) {
            if (args != null) {
                try {
                    ph.loop.handle().invokeExact(rowIdx, nr, c0, (int) (c1 - c0), cols, (ByteBuffer[]) args[0],
                            (long[]) args[1], (Object[]) args[2], (long[][]) args[3], (double[][]) args[4], (long[][]) args[5]);
                } catch (RuntimeException | Error e) {
                    throw e;
                } catch (Throwable e) {
                    throw new IllegalStateException(e);
                }
                return;
            }
            for (long c = c0; c < c1; c += tc) {
                int w = (int) Math.min(tc, c1 - c);
                tile(ph, rowIdx, nr, c, w, tiles, acc);
            }
        }

        /**
         * The arguments of a compiled loop for one block: memory operands with their element offsets, small operands
         * (float32 copies of the block's part for float32 loops) with their row offsets, reductions' accumulators with
         * theirs.
         */
        private Object[] arguments(TileCompiler.Loop loop, long[] block, double[][] acc) {
            ByteBuffer[] m = new ByteBuffer[loop.memory().size()];
            long[] base = new long[m.length];
            for (int i = 0; i < m.length; i++) {
                Node r = loop.memory().get(i).root();
                m[i] = nio(r);
                base[i] = mem[r.id].offset();
            }
            Object[] s = new Object[loop.small().size()];
            long[][] so = new long[s.length][];
            for (int i = 0; i < s.length; i++) {
                Operand o = loop.small().get(i);
                Node r = o.node.root();
                double[] d = doubles(o.node);
                so[i] = o.rowOff;
                if (!loop.f32()) {
                    s[i] = d;
                    continue;
                }
                // values of this kernel are computed block by block (those from outside were copied in run())
                if (f.stageOf.get(r) == k) mirror(r, o.node == r ? block : null);
                s[i] = smallF[r.id];
            }
            double[][] red = new double[loop.reductions().size()][];
            long[][] ro = new long[red.length][];
            for (int i = 0; i < red.length; i++) {
                Node r = loop.reductions().get(i);
                int j = reductions.indexOf(r);
                red[i] = Fusion.blockLocal(k, r) ? small[r.id] : acc[j];
                ro[i] = reduceRowOff[j];
            }
            return new Object[]{m, base, s, so, red, ro};
        }

        /** Copies a small value (its part in a block; null: all of it) to its float32 copy, if it has one. */
        private void mirror(Node r, long[] block) {
            float[] f = smallF[r.id];
            if (f == null) return;
            double[] d = small[r.id];
            forEachRun(r.shape, block, (from, to) -> {
                for (int j = from; j < to; j++) f[j] = (float) d[j];
            });
        }

        private void tile(Phase ph, long[] rowIdx, int nr, long c, int w, double[][] tiles, double[][] acc) {
            int len = nr * w;
            for (Operand o : ph.loads) {
                INDArray a = mem[o.node.root().id];
                ByteBuffer bb = nio(o.node.root());
                boolean f32 = a.dataType() == DataType.FLOAT;
                long base = a.offset();
                double[] t = tiles[o.slot];
                for (int i = 0; i < nr; i++) VectorOps.load(bb, f32, base + rowIdx[i] * cols + c, t, i * w, w);
            }
            for (TileOp op : ph.ops) {
                Node n = op.node;
                if (n.kind == Kind.REDUCE) {
                    reduce(n, tiles[op.in[0].slot], rowIdx, nr, c, w, acc);
                    continue;
                }
                double[] out = tiles[op.slot];
                boolean perRow = false;
                for (Operand o : op.in) perRow |= o.source == Source.SMALL && !constant(o, rowIdx, nr);
                if (perRow) {
                    for (int i = 0; i < nr; i++) evaluate(n, op.in, tiles, rowIdx[i], c, out, i * w, w);
                } else {
                    evaluate(n, op.in, tiles, rowIdx[0], c, out, 0, len);
                }
                if (op.round) VectorOps.roundToFloat(out, 0, len);
                if (op.store) {
                    INDArray m = mem[n.id];
                    ByteBuffer bb = nio(n);
                    boolean f32 = m.dataType() == DataType.FLOAT;
                    long base = m.offset();
                    for (int i = 0; i < nr; i++) VectorOps.store(out, i * w, bb, f32, base + rowIdx[i] * cols + c, w);
                }
            }
        }

        /** Adds a tile of a reduction's input to its accumulator (the result for block-local ones, else a partial). */
        private void reduce(Node r, double[] in, long[] rowIdx, int nr, long c, int w, double[][] acc) {
            int j = reductions.indexOf(r);
            double[] target = Fusion.blockLocal(k, r) ? small[r.id] : acc[j];
            long[] off = reduceRowOff[j];
            boolean lastReduced = r.axes.length == 0 || r.axes[r.axes.length - 1];
            boolean sum = r.reduction == Reduction.SUM || r.reduction == Reduction.MEAN;
            for (int i = 0; i < nr; i++) {
                int at = (int) off[(int) rowIdx[i]];
                if (lastReduced) {
                    target[at] = sum ? target[at] + VectorOps.sum(in, i * w, w)
                            : VectorOps.extremum(r.reduction == Reduction.MAX, in, i * w, w, target[at]);
                } else {
                    VectorOps.accumulate(r.reduction, target, at + (int) c, in, i * w, w);
                }
            }
        }

        /**
         * One op over {@code n} elements of a tile from {@code o} on (one row, or the whole tile when every small
         * operand is constant over it): tile operands at the same place, small ones as the row's slice or a scalar.
         */
        private void evaluate(Node node, Operand[] in, double[][] tiles, long row, long c, double[] out, int o, int n) {
            double[] a = null, b = null;
            int ao = o, bo = o;
            double sa = 0, sb = 0;
            for (int j = 0; j < in.length; j++) {
                Operand x = in[j];
                double[] arr = null;
                int off = o;
                double s = 0;
                if (x.source != Source.SMALL) {
                    arr = tiles[x.slot];
                } else {
                    double[] d = doubles(x.node);
                    long at = x.rowOff[(int) row];
                    if (x.strides[x.strides.length - 1] == 0) {
                        s = d[(int) at];
                    } else {
                        arr = d;
                        off = (int) (at + c);
                    }
                }
                if (j == 0) {
                    a = arr;
                    ao = off;
                    sa = s;
                } else {
                    b = arr;
                    bo = off;
                    sb = s;
                }
            }
            Op op = node.op;
            if (in.length == 1) {
                if (a == null) Arrays.fill(out, o, o + n, ScalarOps.apply(op, sa, 0, node.param));
                else VectorOps.unary(op, node.param, a, ao, out, o, n);
            } else if (a == null && b == null) {
                Arrays.fill(out, o, o + n, ScalarOps.apply(op, sa, sb, 0));
            } else if (b == null) {
                VectorOps.binaryScalar(op, a, ao, sb, false, out, o, n);
            } else if (a == null) {
                VectorOps.binaryScalar(op, b, bo, sa, true, out, o, n);
            } else {
                VectorOps.binary(op, a, ao, b, bo, out, o, n);
            }
        }

        /** True if a small operand has one value over the tile's rows and columns. */
        private boolean constant(Operand o, long[] rowIdx, int nr) {
            if (o.strides[o.strides.length - 1] != 0) return false;
            long[] off = o.rowOff;
            long first = off[(int) rowIdx[0]];
            for (int i = 1; i < nr; i++) if (off[(int) rowIdx[i]] != first) return false;
            return true;
        }

        /** Per row of the space, the offset of a broadcast operand (strides over the space) at column 0. */
        private long[] rowOffsets(long[] strides) {
            return rowOffsets.computeIfAbsent(Arrays.toString(strides), key -> {
                long[] space = k.space.length == 0 ? new long[]{1} : k.space;
                long[] off = new long[Math.toIntExact(rows)];
                long[] cst = cStrides(space);
                for (int o = 0; o < rows; o++) {
                    long rem = (long) o * cols, at = 0;
                    for (int d = 0; d < rank - 1; d++) {
                        long idx = rem / cst[d];
                        rem -= idx * cst[d];
                        at += idx * strides[d];
                    }
                    off[o] = at;
                }
                return off;
            });
        }
    }

    private interface ThreadBody {
        void run(int thread, double[][] partials);
    }

    private interface RunBody {
        void run(int from, int to);
    }

    private static double identity(Reduction r) {
        return switch (r) {
            case SUM, MEAN -> 0;
            case MAX -> Double.NEGATIVE_INFINITY;
            case MIN -> Double.POSITIVE_INFINITY;
        };
    }

    /** Strides of a shape broadcast into a space (0 along axes where the shape has 1; rank padded). */
    static long[] broadcastStrides(long[] shape, long[] space) {
        int r = Math.max(1, space.length);
        long[] p = Program.padded(shape, r);
        long[] st = cStrides(p);
        for (int i = 0; i < r; i++) if (p[i] == 1) st[i] = 0;
        return st;
    }

    static long[] cStrides(long[] shape) {
        long[] st = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            st[i] = s;
            s *= shape[i];
        }
        return st;
    }

    /** Per-thread tile buffers, kept between calls. */
    private static final ThreadLocal<TileBuffers> TILES = ThreadLocal.withInitial(TileBuffers::new);

    private static final class TileBuffers {
        double[][] b = new double[0][];

        double[][] buffers(int n) {
            if (b.length < n) {
                double[][] nb = Arrays.copyOf(b, n);
                for (int i = b.length; i < n; i++) nb[i] = new double[Fusion.TILE];
                b = nb;
            }
            return b;
        }
    }
}
