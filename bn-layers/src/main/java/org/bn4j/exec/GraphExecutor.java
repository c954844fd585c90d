package org.bn4j.exec;

import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BaseOp;
import org.nd4j.linalg.api.ops.BaseScalarOp;
import org.nd4j.linalg.api.ops.BaseTransformOp;
import org.nd4j.linalg.api.ops.CustomOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.Op;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.ReduceOp;
import org.nd4j.linalg.api.ops.ScalarOp;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.shape.Reshape;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.DivOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.RDivOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.RSubOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.SubOp;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs the ops of a SameDiff graph itself, in topological order, on arrays allocated once and reused across
 * calls, instead of a SameDiff session per call.
 *
 * <p>Every op of the graph is executed as it is defined (its own ND4J kernel through an {@link OpContext}, with
 * its own integer/float/boolean arguments); what differs from {@code SameDiff.output} is the bookkeeping, and two
 * rewrites into equal products:
 * <ul>
 *   <li>The plan (op order, shapes, one {@link OpContext} per op) is made on the first call, for the input shapes
 *       of that call; later calls must bring inputs of the same shapes (graphs with fixed placeholder shapes).</li>
 *   <li>Intermediate arrays are allocated once, outside any workspace, and shared between intermediates whose
 *       lifetimes do not overlap, and with the other graphs of the same {@link Scratch}. An elementwise op may
 *       write into the buffer of an input that is not used afterwards. A fresh native allocation per call would
 *       pay the operating system's first-touch page faults on every call (each new page is faulted in when first
 *       written); arrays kept between calls pay them once.</li>
 *   <li>{@code reshape} and {@code identity} are views (no copy) when the input is contiguous.</li>
 *   <li>A {@code sum} or {@code max} over given axes runs as {@link ReduceLowering}'s graph of faster ND4J ops
 *       (ones-vector matrix–vector products, maxima in blocks of rows), planned by a nested executor that writes
 *       into a view of the reduction's output.</li>
 *   <li>Two rewrites that compute the same values with a faster kernel: a matrix product with a [1,k] or [k,1]
 *       operand runs as a BLAS matrix–vector product ({@link #matrixVectorForm}), and {@code (a ⊙ s) ⊙ c} with a
 *       large {@code a} and small {@code s}, {@code c} runs as {@code a ⊙ (s ⊙ c)} ({@link #reassociate}).</li>
 *   <li>The graph's outputs are written either into arrays the caller supplies (for example DL4J workspace
 *       arrays) or into fresh arrays that the caller owns; they never alias the reused intermediates.</li>
 * </ul>
 * Not thread-safe: {@link CompiledGraph} serializes calls.
 */
final class GraphExecutor {

    private enum Kind { INPUT, CONSTANT, COMPUTED, VIEW }

    /** One variable of the graph: where its array comes from. */
    private static final class Slot {
        final String name;
        Kind kind;
        long[] shape;
        DataType dataType;
        /** For VIEW: the viewed slot and whether it is a reshape (else an alias). */
        Slot base;
        /** True if the array changes from call to call (inputs, graph outputs, views of them). */
        boolean dynamic;
        boolean graphOutput;
        /** The producing step, for COMPUTED slots. */
        Step producer;
        /** Index of the last step that reads this slot (directly or through a view). */
        int lastUse = -1;
        /** The current array: fixed for static slots, set per call for dynamic ones. */
        INDArray array;
        /** The buffer a static COMPUTED slot lives in. */
        Buffer buffer;

        Slot(String name) {
            this.name = name;
        }

        Slot root() {
            Slot s = this;
            while (s.kind == Kind.VIEW) s = s.base;
            return s;
        }
    }

    /** A reused native buffer for intermediates of one data type and length (from the {@link Scratch}). */
    private static final class Buffer {
        final DataType dataType;
        final long length;
        final INDArray flat;

        Buffer(DataType dataType, long length, INDArray flat) {
            this.dataType = dataType;
            this.length = length;
            this.flat = flat;
        }

        INDArray as(long[] shape) {
            return flat.reshape('c', shape);
        }
    }

    private static final class Step {
        int index;
        final DifferentialFunction op;
        final Slot[] in;
        final Slot[] out;
        OpContext context;
        /** A legacy reduction that ND4J runs as a copy (its "no-op" case, which ignores the op context). */
        boolean reduceAsCopy;
        /** A sum or maximum run as the faster graph of {@link ReduceLowering} (or null), and its output's shape. */
        GraphExecutor lowered;
        long[] loweredShape;
        boolean dynamic;
        final String label;
        /** Integer arguments for the kernel instead of the op's own, and shapes to view inputs and outputs as
         * when they are handed to the kernel (null: as they are). */
        long[] iArgs;
        long[][] inShapes;
        long[][] outShapes;

        Step(DifferentialFunction op, Slot[] in, Slot[] out, String label) {
            this.op = op;
            this.in = in;
            this.out = out;
            this.label = label;
        }

        boolean isView() {
            return out.length == 1 && out[0].kind == Kind.VIEW;
        }
    }

    private final SameDiff sd;
    private final List<String> inputNames;
    private final String[] outputNames;
    private final Scratch scratch;
    /** Whether sums and maxima run as {@link ReduceLowering}'s graphs (not inside those graphs themselves). */
    private final boolean lowerReductions;

    private final Map<String, Slot> slots = new LinkedHashMap<>();
    private final List<Step> steps = new ArrayList<>();
    private final List<Slot> inputSlots = new ArrayList<>();
    private final List<Slot> dynamicOutputSlots = new ArrayList<>();
    /** Untouched arrays that give shapes while planning, released when the plan is made. */
    private final List<INDArray> donors = new ArrayList<>();
    private boolean planned;

    GraphExecutor(SameDiff sd, List<String> inputNames, String[] outputNames, Scratch scratch) {
        this(sd, inputNames, outputNames, scratch, true);
    }

    private GraphExecutor(SameDiff sd, List<String> inputNames, String[] outputNames, Scratch scratch,
                          boolean lowerReductions) {
        this.sd = sd;
        this.inputNames = inputNames;
        this.outputNames = outputNames;
        this.scratch = scratch;
        this.lowerReductions = lowerReductions;
    }

    /** Labels of the executed steps, in order (for profiles). */
    List<String> stepLabels() {
        List<String> out = new ArrayList<>();
        for (Step s : steps) {
            out.add(s.label + (s.isView() ? " (view)" : s.reduceAsCopy ? " (copy)" : s.outShapes != null ? " (matrix-vector)"
                    : s.lowered != null ? " (as " + String.join("; ", s.lowered.stepLabels()) + ")" : ""));
        }
        return out;
    }

    /**
     * Runs the graph.
     *
     * @param in        every input by name
     * @param into      destinations for some outputs (each of the output's shape and data type); may be empty
     * @param stepNanos if not null, nanoseconds spent per step are added to it (index as {@link #stepLabels()})
     * @return every output by name: the destination array where one was given, else a fresh array
     */
    Map<String, INDArray> run(Map<String, INDArray> in, Map<String, INDArray> into, long[] stepNanos) {
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            if (!planned) {
                plan(in);
                planned = true;
            }
            checkDestinations(into);
            bindInputs(in);
            bindOutputs(into);
            for (Step s : steps) {
                long t0 = stepNanos == null ? 0 : System.nanoTime();
                execute(s);
                if (stepNanos != null) stepNanos[s.index] += System.nanoTime() - t0;
            }
            Map<String, INDArray> res = new HashMap<>();
            for (String name : outputNames) {
                Slot s = slots.get(name);
                INDArray dest = into.get(name);
                INDArray a = s.array;
                if (s.kind == Kind.COMPUTED && s.dynamic) {
                    res.put(name, a);   // written in place: the destination or a fresh array
                } else if (dest != null) {
                    res.put(name, dest.assign(a));
                } else {
                    res.put(name, a.dup('c'));
                }
            }
            return res;
        }
    }

    // ------------------------------------------------------------------ execution

    private void bindInputs(Map<String, INDArray> in) {
        for (Slot s : inputSlots) s.array = CompiledGraph.input(in, s.name, s.dataType, s.shape);
    }

    private void checkDestinations(Map<String, INDArray> into) {
        CompiledGraph.checkOutputNames(into, outputNames);
        for (Map.Entry<String, INDArray> e : into.entrySet()) {
            Slot s = slots.get(e.getKey());
            CompiledGraph.checkDestination(s.name, e.getValue(), s.dataType, s.shape);
        }
    }

    private void bindOutputs(Map<String, INDArray> into) {
        for (Slot s : dynamicOutputSlots) {
            INDArray dest = into.get(s.name);
            s.array = dest != null ? dest : Nd4j.createUninitialized(s.dataType, s.shape);
        }
    }

    private void execute(Step s) {
        if (s.isView()) {
            if (s.dynamic) s.out[0].array = view(s.out[0], s.in[0].array);
            return;
        }
        if (s.reduceAsCopy) {
            s.out[0].array.assign(s.in[0].array.reshape(s.out[0].shape));
            return;
        }
        if (s.lowered != null) {
            INDArray out = s.out[0].array, view = out.reshape('c', s.loweredShape);
            s.lowered.run(Map.of(ReduceLowering.IN, s.in[0].array), Map.of(ReduceLowering.OUT, view), null);
            if (view.data() != out.data()) out.assign(view.reshape(out.shape()));   // the reshape had to copy
            return;
        }
        OpContext oc = s.context;
        if (s.dynamic) {
            for (int i = 0; i < s.in.length; i++) if (s.in[i].dynamic) oc.setInputArray(i, bound(s.in[i].array, s.inShapes, i));
            for (int i = 0; i < s.out.length; i++) if (s.out[i].dynamic) oc.setOutputArray(i, bound(s.out[i].array, s.outShapes, i));
        }
        if (s.op instanceof CustomOp c) {
            Nd4j.getExecutioner().exec(c, oc);
        } else {
            Nd4j.getExecutioner().exec((Op) s.op, oc);
        }
    }

    private static INDArray view(Slot v, INDArray base) {
        return Arrays.equals(v.shape, base.shape()) ? base : base.reshape('c', v.shape);
    }

    // ------------------------------------------------------------------ planning

    private void plan(Map<String, INDArray> in) {
        slots.clear();
        steps.clear();
        inputSlots.clear();
        dynamicOutputSlots.clear();
        donors.clear();
        List<DifferentialFunction> ops = neededOps();
        Set<String> outs = new HashSet<>(Arrays.asList(outputNames));

        for (String name : inputNames) {
            INDArray a = in.get(name);
            if (a == null) throw new IllegalArgumentException("graph input '" + name + "' missing");
            Slot s = new Slot(name);
            s.kind = Kind.INPUT;
            s.shape = a.shape();
            s.dataType = a.dataType();
            s.dynamic = true;
            s.array = a;
            slots.put(name, s);
            inputSlots.add(s);
        }

        // pass 1: steps and shapes; computed slots get untouched shape-donor arrays
        Map<String, Integer> readers = new HashMap<>();
        for (DifferentialFunction op : ops) for (String a : op.argNames()) readers.merge(a, 1, Integer::sum);
        for (DifferentialFunction op : ops) {
            String[] argNames = op.argNames();
            Slot[] ins = new Slot[argNames.length];
            for (int i = 0; i < argNames.length; i++) ins[i] = slotFor(argNames[i]);
            String[] outNames = op.outputVariablesNames();
            Slot[] outSlots = new Slot[outNames.length];
            for (int i = 0; i < outNames.length; i++) {
                if (slots.containsKey(outNames[i])) throw new UnsupportedGraphException("variable " + outNames[i] + " computed twice");
                outSlots[i] = new Slot(outNames[i]);
                outSlots[i].graphOutput = outs.contains(outNames[i]);
                slots.put(outNames[i], outSlots[i]);
            }
            Step step = new Step(op, ins, outSlots, op.opName() + " -> " + String.join(",", outNames));
            List<LongShapeDescriptor> shapes = shapes(step);
            if (shapes.size() != outSlots.length) {
                throw new UnsupportedGraphException("op " + step.label + ": " + shapes.size() + " output shapes for "
                        + outSlots.length + " outputs");
            }
            boolean viewOp = op instanceof Identity || op instanceof Reshape;
            for (int i = 0; i < outSlots.length; i++) {
                Slot o = outSlots[i];
                o.shape = shapes.get(i).getShape();
                o.dataType = sd.getVariable(o.name).dataType();
                if (viewOp && !o.graphOutput && o.dataType == ins[0].dataType) {
                    o.kind = Kind.VIEW;
                    o.base = ins[0];
                    o.dynamic = ins[0].dynamic;
                } else {
                    o.kind = Kind.COMPUTED;
                    o.producer = step;
                    o.dynamic = o.graphOutput;
                    o.array = donor(o.dataType, o.shape);
                }
            }
            if (op instanceof ReduceOp && !(op instanceof CustomOp)) {
                INDArray x = shapeDonor(ins[0]);
                long outLen = length(outSlots[0].shape);
                step.reduceAsCopy = x.isVector() && x.length() == outLen && outLen > 1;
                if (!step.reduceAsCopy && lowerReductions && ReduceLowering.applies(op) && x.length() > outLen
                        && x.dataType().isFPType() && outSlots[0].dataType == x.dataType()) {
                    SameDiff g = ReduceLowering.graph(op, x.shape(), x.dataType());
                    step.lowered = new GraphExecutor(g, List.of(ReduceLowering.IN), new String[]{ReduceLowering.OUT},
                            new Scratch(), false);
                    step.lowered.run(Map.of(ReduceLowering.IN, x), Map.of(), null);   // plans it, for the output shape
                    step.loweredShape = step.lowered.slots.get(ReduceLowering.OUT).shape;
                }
            }
            matrixVectorForm(step);
            if (!reassociate(step, readers)) steps.add(step);
        }
        // lifetimes: the last step reading each slot, directly or through a view
        for (int i = 0; i < steps.size(); i++) {
            Step step = steps.get(i);
            step.index = i;
            for (Slot r : step.in) {
                r.lastUse = i;
                r.root().lastUse = i;
            }
        }

        // pass 2: buffers for the static intermediates, by lifetime; then one context per op
        allocate();
        for (Step s : steps) {
            if (s.isView()) {
                s.dynamic = s.out[0].dynamic;
                continue;
            }
            for (Slot o : s.out) if (o.dynamic) dynamicOutputSlots.add(o);
            s.dynamic = Arrays.stream(s.in).anyMatch(x -> x.dynamic) || Arrays.stream(s.out).anyMatch(x -> x.dynamic);
            if (!s.reduceAsCopy && s.lowered == null) s.context = context(s);
        }
        for (INDArray d : donors) if (!d.wasClosed()) d.close();
        donors.clear();
    }

    /** An array that only gives its shape to the shape functions while planning (never written or read). */
    private INDArray donor(DataType dataType, long[] shape) {
        INDArray a = Nd4j.createUninitialized(dataType, shape);
        donors.add(a);
        return a;
    }

    /**
     * A product {@code (a ⊙ s) ⊙ c} of a full-size {@code a} with two small factors, whose inner product nobody else
     * reads, is run as {@code a ⊙ (s ⊙ c)}: one pass over the full size instead of two (the same product, in
     * another order). Adds the rewritten steps and returns true, or returns false and leaves the step alone.
     */
    private boolean reassociate(Step b, Map<String, Integer> readers) {
        if (b.op.getClass() != MulOp.class || b.in.length != 2 || b.out.length != 1 || b.out[0].kind != Kind.COMPUTED) {
            return false;
        }
        for (int k = 0; k < 2; k++) {
            Slot a = b.in[k], c = b.in[1 - k];
            if (a.kind != Kind.COMPUTED || a.graphOutput || a.dynamic || readers.getOrDefault(a.name, 0) != 1) continue;
            Step p = a.producer;
            if (p == null || p.op.getClass() != MulOp.class || p.in.length != 2 || !steps.contains(p)) continue;
            long full = length(a.shape);
            if (!Arrays.equals(b.out[0].shape, a.shape) || 2 * length(c.shape) > full) continue;
            for (int j = 0; j < 2; j++) {
                Slot big = p.in[j], small = p.in[1 - j];
                if (!Arrays.equals(big.shape, a.shape) || 2 * length(small.shape) > full) continue;
                Slot t = new Slot(a.name + "'");
                Step ts = new Step(new MulOp(), new Slot[]{small, c}, new Slot[]{t}, "multiply -> " + t.name + " (reassociated)");
                long[] tShape = shapes(ts).get(0).getShape();
                if (2 * length(tShape) > full) continue;
                t.kind = Kind.COMPUTED;
                t.shape = tShape;
                t.dataType = a.dataType;
                t.producer = ts;
                t.array = donor(t.dataType, t.shape);
                steps.remove(p);
                slots.remove(a.name);
                slots.put(t.name, t);
                steps.add(ts);
                b.in[k] = big;
                b.in[1 - k] = t;
                steps.add(b);
                return true;
            }
        }
        return false;
    }

    /**
     * A matrix product with a row or column vector as a [1, k] or [k, 1] matrix ({@code ones[1,N] · x} and
     * {@code x · ones[K,1]}, how the core's reductions sum) goes through a general matrix product in ND4J, which is
     * several times slower than the same product with the vector as a rank-1 array, which ND4J hands to BLAS as a
     * matrix–vector product ({@code v · B} as {@code Bᵀ v}). Same arrays, viewed as rank 1.
     */
    private static void matrixVectorForm(Step s) {
        if (!(s.op instanceof Mmul mm) || s.in.length != 2 || s.out.length != 1 || s.out[0].kind != Kind.COMPUTED
                || s.out[0].dynamic) {
            return;
        }
        for (long f : mm.iArgs()) if (f != 0) return;
        double[] t = mm.tArgs();
        if (t.length != 0 && !(t.length == 2 && t[0] == 1.0 && t[1] == 0.0)) return;
        long[] a = s.in[0].shape, b = s.in[1].shape;
        if (a.length != 2 || b.length != 2) return;
        if (a[0] == 1 && a[1] > 1 && b[1] > 1) {            // [1,k] · [k,m] = ([k,m]ᵀ · v[k])ᵀ
            Slot v = s.in[0];
            s.in[0] = s.in[1];
            s.in[1] = v;
            s.inShapes = new long[][]{null, {a[1]}};
            s.iArgs = new long[]{1, 0, 0};
            s.outShapes = new long[][]{{b[1]}};
        } else if (b[1] == 1 && b[0] > 1 && a[0] > 1) {     // [r,k] · [k,1] = [r,k] · v[k]
            s.inShapes = new long[][]{null, {b[0]}};
            s.iArgs = new long[]{0, 0, 0};
            s.outShapes = new long[][]{{a[0]}};
        }
    }

    private static INDArray bound(INDArray a, long[][] shapes, int i) {
        return shapes == null || shapes[i] == null ? a : a.reshape('c', shapes[i]);
    }

    private Slot slotFor(String name) {
        Slot s = slots.get(name);
        if (s != null) return s;
        SDVariable v = sd.getVariable(name);
        if (v == null) throw new UnsupportedGraphException("unknown variable " + name);
        VariableType t = v.getVariableType();
        if (t == VariableType.CONSTANT || t == VariableType.VARIABLE) {
            INDArray a = v.getArr();
            if (a == null) throw new UnsupportedGraphException("no array for " + t + " " + name);
            s = new Slot(name);
            s.kind = Kind.CONSTANT;
            s.array = a;
            s.shape = a.shape();
            s.dataType = a.dataType();
            slots.put(name, s);
            return s;
        }
        throw new UnsupportedGraphException("variable " + name + " (" + t + ") is neither an input, a constant nor computed"
                + " before its use");
    }

    /** The ops needed for the outputs, in topological order; only ND4J ops this executor can run. */
    private List<DifferentialFunction> neededOps() {
        List<DifferentialFunction> order = Planner.neededOps(sd, inputNames, outputNames);
        for (DifferentialFunction op : order) {
            if (!(op instanceof CustomOp) && !(op instanceof BaseOp)) {
                throw new UnsupportedGraphException("op " + op.opName() + " (" + op.getClass().getSimpleName() + ")");
            }
            if (op instanceof BaseOp && op.argNames().length > (op instanceof BaseTransformOp ? 2 : 1)) {
                // a reduction's axis or a scalar op's scalar as a second input
                throw new UnsupportedGraphException("legacy op " + op.opName() + " with array arguments");
            }
        }
        return order;
    }

    /** Output shapes of a step, from a throw-away context holding its input arrays. */
    private static List<LongShapeDescriptor> shapes(Step s) {
        OpContext oc = Nd4j.getExecutioner().buildContext();
        INDArray[] arrays = new INDArray[s.in.length];
        for (int i = 0; i < arrays.length; i++) arrays[i] = shapeDonor(s.in[i]);
        if (s.op instanceof DynamicCustomOp c) {
            oc.setArgs(arrays, c.iArgs(), c.dArgs(), c.tArgs(), c.bArgs());
            return c.calculateOutputShape(oc);
        }
        if (s.op instanceof CustomOp) throw new UnsupportedGraphException("custom op " + s.label);
        for (int i = 0; i < arrays.length; i++) oc.setInputArray(i, arrays[i]);
        return ((BaseOp) s.op).calculateOutputShape(oc);
    }

    private static INDArray shapeDonor(Slot s) {
        if (s.kind == Kind.VIEW) return view(s, shapeDonor(s.base));
        return s.array;
    }

    private static OpContext context(Step s) {
        OpContext oc = Nd4j.getExecutioner().buildContext();
        if (s.op instanceof DynamicCustomOp c) {
            oc.setArgs(new INDArray[0], s.iArgs != null ? s.iArgs : c.iArgs(), c.dArgs(), c.tArgs(), c.bArgs());
        }
        for (int i = 0; i < s.in.length; i++) if (!s.in[i].dynamic) oc.setInputArray(i, bound(s.in[i].array, s.inShapes, i));
        for (int i = 0; i < s.out.length; i++) if (!s.out[i].dynamic) oc.setOutputArray(i, bound(s.out[i].array, s.outShapes, i));
        return oc;
    }

    /**
     * Buffers for static computed slots: a slot takes a free buffer of its data type and length, or the buffer of
     * an input of an elementwise op that dies at that op, or a new one; buffers are freed after their last use.
     */
    private void allocate() {
        Map<String, Deque<Buffer>> free = new HashMap<>();
        Map<String, Integer> created = new HashMap<>();
        for (Step s : steps) {
            if (!s.isView()) {
                for (Slot o : s.out) {
                    if (o.dynamic) {
                        o.array = null;
                        continue;
                    }
                    Buffer b = inPlaceCandidate(s, o);
                    if (b == null) {
                        String key = key(o.dataType, length(o.shape));
                        Deque<Buffer> q = free.get(key);
                        if (q != null && !q.isEmpty()) {
                            b = q.pop();
                        } else {
                            int n = created.merge(key, 1, Integer::sum) - 1;
                            b = new Buffer(o.dataType, length(o.shape), scratch.buffer(o.dataType, length(o.shape), n));
                        }
                    }
                    o.buffer = b;
                    o.array = b.as(o.shape);
                }
            } else if (!s.out[0].dynamic) {
                s.out[0].array = view(s.out[0], s.out[0].base.array);
            }
            // free the buffers whose last reader is this step, and outputs nobody reads
            Set<Buffer> released = new HashSet<>();
            for (Slot i : s.in) releaseIfDead(i.root(), s.index, released);
            for (Slot o : s.out) if (o.kind == Kind.COMPUTED) releaseIfDead(o, s.index, released);
            for (Buffer b : released) free.computeIfAbsent(key(b.dataType, b.length), k -> new ArrayDeque<>()).push(b);
        }
    }

    private void releaseIfDead(Slot root, int step, Set<Buffer> released) {
        if (root.kind != Kind.COMPUTED || root.dynamic || root.buffer == null) return;
        if (root.lastUse <= step && !anyLaterUserOfBuffer(root.buffer, step)) released.add(root.buffer);
    }

    /** True if a slot sharing this buffer is still read after the step. */
    private boolean anyLaterUserOfBuffer(Buffer b, int step) {
        for (Slot s : slots.values()) {
            if (s.kind == Kind.COMPUTED && s.buffer == b && s.lastUse > step) return true;
        }
        return false;
    }

    /**
     * Elementwise ops may write over an input that is not read afterwards; not broadcasting ones, which ND4J runs
     * several times slower in place (it copies).
     */
    private Buffer inPlaceCandidate(Step s, Slot o) {
        if (!elementwise(s.op) || s.out.length != 1) return null;
        for (Slot i : s.in) if (!Arrays.equals(i.shape, o.shape)) return null;
        for (Slot i : s.in) {
            Slot r = i.root();
            if (r.kind != Kind.COMPUTED || r.dynamic || r.buffer == null) continue;
            if (i != r && !Arrays.equals(i.shape, r.shape)) continue;
            if (r.lastUse != s.index || anyLaterUserOfBuffer(r.buffer, s.index)) continue;
            if (r.dataType != o.dataType || !Arrays.equals(i.shape, o.shape)) continue;
            return r.buffer;
        }
        return null;
    }

    private static boolean elementwise(DifferentialFunction op) {
        return op instanceof AddOp || op instanceof SubOp || op instanceof MulOp || op instanceof DivOp
                || op instanceof RSubOp || op instanceof RDivOp
                || op instanceof ScalarOp && op instanceof BaseScalarOp
                || op instanceof BaseTransformOp && op.argNames().length == 1;
    }

    private static String key(DataType dt, long length) {
        return dt + ":" + length;
    }

    private static long length(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }
}
