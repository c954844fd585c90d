package org.bn4j.exec;

import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A graph as the fusing executor sees it ({@link Planner} makes it): values in topological order, each an input, a
 * constant, an elementwise op, a reduction, a view of another value, or an output of an ND4J op that is not fused.
 * Every value has a static shape and a data type; elementwise operands broadcast in NumPy fashion.
 */
final class Program {

    enum Kind { INPUT, CONSTANT, ELEMENTWISE, REDUCE, VIEW, ND4J }

    /** Elementwise operations; unary ones take one operand, binary ones two, and some a scalar parameter. */
    enum Op {
        // unary
        IDENTITY(1), NEG(1), ABS(1), SQRT(1), RSQRT(1), SIGN(1), LOG(1), EXP(1), SQUARE(1), RECIPROCAL(1),
        /** {@code x > param ? 1 : 0} */
        STEP(1),
        /** {@code x ^ param} */
        POW(1),
        // binary
        ADD(2), SUB(2), MUL(2), DIV(2), MAX(2), MIN(2), GT(2), GTE(2), LT(2), LTE(2), EQ(2), NEQ(2);

        final int arity;

        Op(int arity) {
            this.arity = arity;
        }
    }

    enum Reduction { SUM, MAX, MIN, MEAN }

    /** One value of the program. */
    static final class Node {
        final int id;
        final String name;
        final Kind kind;
        final long[] shape;
        final DataType dataType;
        final Node[] in;
        /** ELEMENTWISE: the operation and its scalar parameter. */
        Op op;
        double param;
        /** REDUCE: the reduction and the reduced axes of the input (the output is keepDims). */
        Reduction reduction;
        boolean[] axes;
        /** CONSTANT: the value. */
        INDArray constant;
        /** ND4J: the op, which of its outputs this is, and its other outputs. */
        DifferentialFunction nd4jOp;
        int outIndex;
        boolean graphOutput;

        Node(int id, String name, Kind kind, long[] shape, DataType dataType, Node... in) {
            this.id = id;
            this.name = name;
            this.kind = kind;
            this.shape = shape;
            this.dataType = dataType;
            this.in = in;
        }

        long length() {
            return Program.length(shape);
        }

        /** The value a view looks at (itself for other kinds). */
        Node root() {
            Node n = this;
            while (n.kind == Kind.VIEW) n = n.in[0];
            return n;
        }

        @Override
        public String toString() {
            String what = switch (kind) {
                case ELEMENTWISE -> op.name().toLowerCase() + (op == Op.STEP || op == Op.POW ? "(" + param + ")" : "");
                case REDUCE -> reduction.name().toLowerCase() + Arrays.toString(axisList());
                case ND4J -> nd4jOp.opName() + (outIndex > 0 ? "#" + outIndex : "");
                default -> kind.name().toLowerCase();
            };
            return name + " = " + what + Arrays.toString(shape);
        }

        int[] axisList() {
            int c = 0;
            for (boolean a : axes) if (a) c++;
            int[] out = new int[c];
            for (int i = 0, j = 0; i < axes.length; i++) if (axes[i]) out[j++] = i;
            return out;
        }
    }

    final List<Node> nodes = new ArrayList<>();
    final Map<String, Node> byName = new LinkedHashMap<>();
    final List<Node> inputs = new ArrayList<>();
    final List<Node> outputs = new ArrayList<>();

    Node add(String name, Kind kind, long[] shape, DataType dt, Node... in) {
        Node n = new Node(nodes.size(), name, kind, shape, dt, in);
        nodes.add(n);
        byName.put(name, n);
        return n;
    }

    static long length(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** The NumPy broadcast of two shapes, or null if they do not broadcast. */
    static long[] broadcast(long[] a, long[] b) {
        int r = Math.max(a.length, b.length);
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            long x = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
            long y = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            if (x != y && x != 1 && y != 1) return null;
            out[i] = Math.max(x, y);
        }
        return out;
    }

    /** {@code shape} left-padded with ones to {@code rank}. */
    static long[] padded(long[] shape, int rank) {
        long[] out = new long[rank];
        Arrays.fill(out, 1);
        System.arraycopy(shape, 0, out, rank - shape.length, shape.length);
        return out;
    }

    /** True if {@code small} (padded to the rank of {@code space}) broadcasts into {@code space} unchanged. */
    static boolean fits(long[] small, long[] space) {
        if (small.length > space.length) return false;
        long[] p = padded(small, space.length);
        for (int i = 0; i < p.length; i++) if (p[i] != 1 && p[i] != space[i]) return false;
        return true;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Node n : nodes) sb.append(n).append('\n');
        return sb.toString();
    }
}
