package org.bn4j.exec;

import org.bn4j.exec.Program.Kind;
import org.bn4j.exec.Program.Node;
import org.bn4j.exec.Program.Op;
import org.bn4j.exec.Program.Reduction;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BaseOp;
import org.nd4j.linalg.api.ops.BaseScalarOp;
import org.nd4j.linalg.api.ops.CustomOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.impl.reduce.floating.Mean;
import org.nd4j.linalg.api.ops.impl.reduce.same.Sum;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarAdd;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarDivision;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMax;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMin;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMultiplication;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarReverseDivision;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarReverseSubtraction;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarSubtraction;
import org.nd4j.linalg.api.ops.impl.scalar.Step;
import org.nd4j.linalg.api.ops.impl.shape.Reshape;
import org.nd4j.linalg.api.ops.impl.transforms.custom.EqualTo;
import org.nd4j.linalg.api.ops.impl.transforms.custom.GreaterThan;
import org.nd4j.linalg.api.ops.impl.transforms.custom.GreaterThanOrEqual;
import org.nd4j.linalg.api.ops.impl.transforms.custom.LessThan;
import org.nd4j.linalg.api.ops.impl.transforms.custom.LessThanOrEqual;
import org.nd4j.linalg.api.ops.impl.transforms.custom.NotEqualTo;
import org.nd4j.linalg.api.ops.impl.transforms.dtype.Cast;
import org.nd4j.linalg.api.ops.impl.transforms.floating.RSqrt;
import org.nd4j.linalg.api.ops.impl.transforms.floating.Sqrt;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.DivOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.RDivOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.RSubOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.SubOp;
import org.nd4j.linalg.api.ops.impl.transforms.same.Abs;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.nd4j.linalg.api.ops.impl.transforms.same.Negative;
import org.nd4j.linalg.api.ops.impl.transforms.same.Reciprocal;
import org.nd4j.linalg.api.ops.impl.transforms.same.Sign;
import org.nd4j.linalg.api.ops.impl.transforms.same.Square;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Log;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The planner: lifts the ops a SameDiff graph needs for its outputs into a {@link Program}, with static shapes from
 * the first call's inputs. It reads the ops themselves (which ND4J op, its axes, its scalar), never what built them:
 * elementwise ops (pairwise with broadcasting, with a scalar, unary transforms, comparisons, casts), the {@code sum},
 * {@code max}, {@code min} and {@code mean} reductions, and reshapes and identities as views; every other op (matrix
 * products, convolutions, top-k, permutes) becomes an ND4J node that runs as its own kernel. Elementwise ops whose
 * operands are all one-element constants are folded.
 */
final class Planner {

    private final SameDiff sd;
    private final Program p = new Program();

    private Planner(SameDiff sd) {
        this.sd = sd;
    }

    /** The program of a graph for inputs of the shapes and data types of {@code in}. */
    static Program plan(SameDiff sd, List<String> inputNames, String[] outputNames, Map<String, INDArray> in) {
        Planner pl = new Planner(sd);
        for (String name : inputNames) {
            INDArray a = in.get(name);
            if (a == null) throw new IllegalArgumentException("graph input '" + name + "' missing");
            pl.p.inputs.add(pl.p.add(name, Kind.INPUT, a.shape(), a.dataType()));
        }
        for (DifferentialFunction op : neededOps(sd, inputNames, outputNames)) pl.lift(op);
        for (String name : outputNames) {
            Node n = pl.node(name);
            n.graphOutput = true;
            pl.p.outputs.add(n);
        }
        return pl.p;
    }

    private Node node(String name) {
        Node n = p.byName.get(name);
        if (n != null) return n;
        SDVariable v = sd.getVariable(name);
        if (v == null) throw new UnsupportedGraphException("unknown variable " + name);
        if (v.getVariableType() == VariableType.CONSTANT || v.getVariableType() == VariableType.VARIABLE) {
            INDArray a = v.getArr();
            if (a == null) throw new UnsupportedGraphException("no array for " + v.getVariableType() + " " + name);
            n = p.add(name, Kind.CONSTANT, a.shape(), a.dataType());
            n.constant = a;
            return n;
        }
        throw new UnsupportedGraphException("variable " + name + " (" + v.getVariableType() + ") is neither an input, "
                + "a constant nor computed before its use");
    }

    private void lift(DifferentialFunction op) {
        String[] argNames = op.argNames();
        Node[] in = new Node[argNames.length];
        for (int i = 0; i < in.length; i++) in[i] = node(argNames[i]);
        String[] outs = op.outputVariablesNames();
        for (String o : outs) if (p.byName.containsKey(o)) throw new UnsupportedGraphException("variable " + o + " computed twice");
        String out = outs[0];
        DataType dt = sd.getVariable(out).dataType();

        if (outs.length == 1 && (op instanceof Identity && in.length == 1 || op instanceof Cast && in[0].dataType == dt)) {
            p.add(out, Kind.VIEW, in[0].shape, dt, in[0]);
            return;
        }
        if (outs.length == 1 && op instanceof Reshape && in[0].dataType == dt) {
            long[] shape = reshapeTarget((Reshape) op, in);
            if (shape != null) {
                p.add(out, Kind.VIEW, shape, dt, in[0]);
                return;
            }
        }
        if (outs.length == 1 && op instanceof Cast && isValue(dt) && isValue(in[0].dataType)) {
            elementwise(out, dt, Op.IDENTITY, 0, in[0]);
            return;
        }
        Op pairwise = pairwise(op);
        if (pairwise != null && in.length == 2) {
            boolean reversed = op instanceof RSubOp || op instanceof RDivOp;
            elementwise(out, dt, pairwise, 0, reversed ? in[1] : in[0], reversed ? in[0] : in[1]);
            return;
        }
        if (op instanceof BaseScalarOp s && in.length == 1) {
            Node scalar = op instanceof Step || op instanceof org.nd4j.linalg.api.ops.impl.scalar.Pow ? null
                    : scalarConstant(out, s.scalar().getDouble(0), dt);
            if (op instanceof Step) elementwise(out, dt, Op.STEP, s.scalar().getDouble(0), in[0]);
            else if (op instanceof org.nd4j.linalg.api.ops.impl.scalar.Pow) elementwise(out, dt, Op.POW, s.scalar().getDouble(0), in[0]);
            else if (op instanceof ScalarAdd) elementwise(out, dt, Op.ADD, 0, in[0], scalar);
            else if (op instanceof ScalarSubtraction) elementwise(out, dt, Op.SUB, 0, in[0], scalar);
            else if (op instanceof ScalarReverseSubtraction) elementwise(out, dt, Op.SUB, 0, scalar, in[0]);
            else if (op instanceof ScalarMultiplication) elementwise(out, dt, Op.MUL, 0, in[0], scalar);
            else if (op instanceof ScalarDivision) elementwise(out, dt, Op.DIV, 0, in[0], scalar);
            else if (op instanceof ScalarReverseDivision) elementwise(out, dt, Op.DIV, 0, scalar, in[0]);
            else if (op instanceof ScalarMax) elementwise(out, dt, Op.MAX, 0, in[0], scalar);
            else if (op instanceof ScalarMin) elementwise(out, dt, Op.MIN, 0, in[0], scalar);
            else nd4j(op, in, outs);
            return;
        }
        Op unary = unary(op);
        if (unary != null && in.length == 1 && outs.length == 1) {
            elementwise(out, dt, unary, 0, in[0]);
            return;
        }
        Reduction red = reduction(op);
        if (red != null && in.length == 1 && outs.length == 1 && isValue(in[0].dataType)) {
            long[] s = in[0].shape;
            boolean[] axes = new boolean[s.length];
            int[] dims = op.getDimensions();
            if (dims == null || dims.length == 0 || Arrays.stream(dims).anyMatch(d -> d == Integer.MAX_VALUE)) {
                Arrays.fill(axes, true);
            } else {
                for (int d : dims) axes[d < 0 ? d + s.length : d] = true;
            }
            long[] keep = s.clone();
            for (int i = 0; i < s.length; i++) if (axes[i]) keep[i] = 1;
            boolean keepDims = ((org.nd4j.linalg.api.ops.BaseReduceOp) op).isKeepDims();
            Node r = p.add(keepDims ? out : out + "'keepdims", Kind.REDUCE, keep, dt, in[0]);
            r.reduction = red;
            r.axes = axes;
            if (!keepDims) p.add(out, Kind.VIEW, dropAxes(keep, axes), dt, r);
            return;
        }
        nd4j(op, in, outs);
    }

    private static boolean isValue(DataType dt) {
        return dt == DataType.FLOAT || dt == DataType.DOUBLE || dt == DataType.BOOL;
    }

    private void elementwise(String name, DataType dt, Op op, double param, Node... in) {
        if (!isValue(dt)) throw new UnsupportedGraphException("elementwise " + op + " of type " + dt);
        long[] shape = in[0].shape;
        for (int i = 1; i < in.length; i++) {
            shape = Program.broadcast(shape, in[i].shape);
            if (shape == null) throw new UnsupportedGraphException(op + " -> " + name + ": shapes do not broadcast");
        }
        if (Arrays.stream(in).allMatch(n -> n.kind == Kind.CONSTANT && n.length() == 1)) {
            double a = in[0].constant.getDouble(0), b = in.length > 1 ? in[1].constant.getDouble(0) : 0;
            Node c = p.add(name, Kind.CONSTANT, shape, dt);
            c.constant = Nd4j.scalar(dt, ScalarOps.round(ScalarOps.apply(op, a, b, param), dt)).reshape(shape);
            return;
        }
        Node n = p.add(name, Kind.ELEMENTWISE, shape, dt, in);
        n.op = op;
        n.param = param;
    }

    private Node scalarConstant(String owner, double value, DataType dt) {
        Node c = p.add(owner + "'scalar", Kind.CONSTANT, new long[0], dt);
        c.constant = Nd4j.scalar(dt, value);
        return c;
    }

    /** Other ops: run by ND4J, one node per output, shapes from the op's own shape function. */
    private void nd4j(DifferentialFunction op, Node[] in, String[] outs) {
        if (!(op instanceof DynamicCustomOp) && !(op instanceof BaseOp && in.length == 1)) {
            throw new UnsupportedGraphException("op " + op.opName() + " (" + op.getClass().getSimpleName() + ")");
        }
        List<LongShapeDescriptor> shapes = shapes(op, in);
        if (shapes.size() != outs.length) {
            throw new UnsupportedGraphException("op " + op.opName() + ": " + shapes.size() + " shapes for " + outs.length + " outputs");
        }
        for (int i = 0; i < outs.length; i++) {
            Node n = p.add(outs[i], Kind.ND4J, shapes.get(i).getShape(), sd.getVariable(outs[i]).dataType(), in);
            n.nd4jOp = op;
            n.outIndex = i;
        }
    }

    /** Output shapes of an ND4J op, from a throw-away context holding arrays of its inputs' shapes. */
    private static List<LongShapeDescriptor> shapes(DifferentialFunction op, Node[] in) {
        OpContext oc = Nd4j.getExecutioner().buildContext();
        List<INDArray> donors = new ArrayList<>();
        INDArray[] arrays = new INDArray[in.length];
        for (int i = 0; i < in.length; i++) {
            if (in[i].kind == Kind.CONSTANT) {
                arrays[i] = in[i].constant;
            } else {
                arrays[i] = Nd4j.createUninitialized(in[i].dataType, in[i].shape);
                donors.add(arrays[i]);
            }
        }
        try {
            if (op instanceof DynamicCustomOp c) {
                oc.setArgs(arrays, c.iArgs(), c.dArgs(), c.tArgs(), c.bArgs());
                return c.calculateOutputShape(oc);
            }
            for (int i = 0; i < arrays.length; i++) oc.setInputArray(i, arrays[i]);
            return ((BaseOp) op).calculateOutputShape(oc);
        } finally {
            for (INDArray d : donors) d.close();
        }
    }

    /** The target shape of a C-order reshape (its integer arguments or a constant shape input), or null. */
    private static long[] reshapeTarget(Reshape op, Node[] in) {
        long[] args;
        if (in.length == 2 && in[1].kind == Kind.CONSTANT) {
            args = in[1].constant.toLongVector();
        } else if (in.length == 1) {
            long[] ia = op.iArgs();
            if (ia.length == 0) return null;
            if (ia[0] == Reshape.F_ORDER) return null;
            args = ia[0] == Reshape.C_ORDER ? Arrays.copyOfRange(ia, 1, ia.length) : ia;
        } else {
            return null;
        }
        long known = 1;
        int unknown = -1;
        for (int i = 0; i < args.length; i++) {
            if (args[i] == -1) unknown = i;
            else known *= args[i];
        }
        long[] shape = args.clone();
        if (unknown >= 0) shape[unknown] = known == 0 ? 0 : in[0].length() / known;
        return Program.length(shape) == in[0].length() ? shape : null;
    }

    private static long[] dropAxes(long[] shape, boolean[] axes) {
        long[] out = new long[shape.length];
        int j = 0;
        for (int i = 0; i < shape.length; i++) if (!axes[i]) out[j++] = shape[i];
        return Arrays.copyOf(out, j);
    }

    private static Op pairwise(DifferentialFunction op) {
        if (op instanceof AddOp) return Op.ADD;
        if (op instanceof SubOp || op instanceof RSubOp) return Op.SUB;
        if (op instanceof MulOp) return Op.MUL;
        if (op instanceof DivOp || op instanceof RDivOp) return Op.DIV;
        if (op instanceof org.nd4j.linalg.api.ops.impl.transforms.custom.Max) return Op.MAX;
        if (op instanceof org.nd4j.linalg.api.ops.impl.transforms.custom.Min) return Op.MIN;
        if (op instanceof GreaterThan) return Op.GT;
        if (op instanceof GreaterThanOrEqual) return Op.GTE;
        if (op instanceof LessThan) return Op.LT;
        if (op instanceof LessThanOrEqual) return Op.LTE;
        if (op instanceof EqualTo) return Op.EQ;
        if (op instanceof NotEqualTo) return Op.NEQ;
        return null;
    }

    private static Op unary(DifferentialFunction op) {
        if (op instanceof CustomOp) return null;
        if (op instanceof Negative) return Op.NEG;
        if (op instanceof Abs) return Op.ABS;
        if (op instanceof Sqrt) return Op.SQRT;
        if (op instanceof RSqrt) return Op.RSQRT;
        if (op instanceof Sign) return Op.SIGN;
        if (op instanceof Log) return Op.LOG;
        if (op instanceof Exp) return Op.EXP;
        if (op instanceof Square) return Op.SQUARE;
        if (op instanceof Reciprocal) return Op.RECIPROCAL;
        return null;
    }

    private static Reduction reduction(DifferentialFunction op) {
        if (op instanceof CustomOp) return null;
        if (op instanceof Sum) return Reduction.SUM;
        if (op instanceof org.nd4j.linalg.api.ops.impl.reduce.same.Max) return Reduction.MAX;
        if (op instanceof org.nd4j.linalg.api.ops.impl.reduce.same.Min) return Reduction.MIN;
        if (op instanceof Mean) return Reduction.MEAN;
        return null;
    }

    // ------------------------------------------------------------------ graph order (shared with GraphExecutor)

    /** The ops needed for the outputs, in topological order. */
    static List<DifferentialFunction> neededOps(SameDiff sd, Collection<String> inputNames, String[] outputNames) {
        Set<String> inputs = new HashSet<>(inputNames);
        List<DifferentialFunction> order = new ArrayList<>();
        Set<String> done = new HashSet<>();
        Set<String> visiting = new HashSet<>();
        Deque<Object[]> stack = new ArrayDeque<>();
        for (String outName : outputNames) {
            DifferentialFunction root = producer(sd, outName, inputs);
            if (root != null) stack.push(new Object[]{root, false});
            while (!stack.isEmpty()) {
                Object[] e = stack.pop();
                DifferentialFunction op = (DifferentialFunction) e[0];
                String id = op.getOwnName();
                if (done.contains(id)) continue;
                if ((Boolean) e[1]) {
                    visiting.remove(id);
                    done.add(id);
                    order.add(op);
                    continue;
                }
                if (!visiting.add(id)) throw new UnsupportedGraphException("cycle at " + id);
                stack.push(new Object[]{op, true});
                for (String a : op.argNames()) {
                    DifferentialFunction p = producer(sd, a, inputs);
                    if (p != null && !done.contains(p.getOwnName())) stack.push(new Object[]{p, false});
                }
            }
        }
        return order;
    }

    private static DifferentialFunction producer(SameDiff sd, String varName, Set<String> inputs) {
        if (inputs.contains(varName)) return null;
        SDVariable v = sd.getVariable(varName);
        if (v == null) throw new UnsupportedGraphException("unknown variable " + varName);
        if (v.getVariableType() != VariableType.ARRAY) return null;
        DifferentialFunction op = sd.getVariableOutputOp(varName);
        if (op == null) throw new UnsupportedGraphException("no op computes " + varName);
        return op;
    }
}
