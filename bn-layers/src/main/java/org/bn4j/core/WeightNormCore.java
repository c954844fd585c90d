package org.bn4j.core;



import org.bn4j.exec.CompiledGraph;
import org.bn4j.exec.GraphInputs;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

import java.util.ArrayList;
import java.util.List;

/**
 * The weight-normalization core: builds the forward, backward and initialization graphs of a weight-normalized
 * {@link LinearOp} (dense or convolution) for one input shape, as SameDiff graphs.
 *
 * <h2>Forward</h2>
 * Per output unit j (a column of a dense v [nIn, nOut]; an output channel of a convolution v [outC, inC, kH, kW]):
 * <pre>
 *   ‖v_j‖ = sqrt(Σ v_j²),   w_j = g_j · v_j / ‖v_j‖,   z = op(x, w) + b
 * </pre>
 * <h2>Backward (hand-written)</h2>
 * From ∂L/∂z (the layer's activation is applied outside the graph):
 * <pre>
 *   {∂L/∂x, ∇w} = op's backward (dense: dz wᵀ and xᵀ dz; convolution: ND4J's conv2d_bp)
 *   ∂L/∂b   = Σ ∂L/∂z over every axis of z but the unit axis
 *   ∇g_j    = (∇w_j · v_j) / ‖v_j‖
 *   ∇v_j    = (g_j / ‖v_j‖) (∇w_j − (∇g_j / ‖v_j‖) v_j)
 * </pre>
 * (Salimans and Kingma 2016, eq. 3.) {@code WeightNormCoreTest} checks this graph against SameDiff's automatic
 * differentiation of the forward graph.
 * <h2>Data-dependent initialization statistics</h2>
 * {@code t = op(x, v/‖v‖)} and its per-unit mean μ_t and biased variance σ_t² over every other axis of t.
 */
public final class WeightNormCore {
    public static final String X = "x", V = "v", G = "g", B = "b", DZ = "dz", Z = "z", DX = "dx", DV = "dv",
            DG = "dg", DB = "db", T_MEAN = "tMean", T_VAR = "tVar";

    private WeightNormCore() {
    }

    /** The training/inference forward and the backward graph of one layer on one input shape. */
    public record Graphs(CompiledGraph forward, CompiledGraph backward) implements AutoCloseable {
        /** Releases both graphs' intermediate buffers; they must not run afterwards. */
        @Override
        public void close() {
            forward.close();
            backward.close();
        }
    }

    /**
     * @param xShape the input shape
     * @param zShape the output shape for that input (the layer configuration computes it)
     */
    public static Graphs build(LinearOp op, long[] xShape, long[] zShape, boolean bias, DataType dt) {
        return new Graphs(forward(op, xShape, bias, dt), backward(op, xShape, zShape, bias, dt));
    }

    /** ‖v‖ per unit, shaped {@link LinearOp#unitShape()}. */
    private static SDVariable norm(SameDiff sd, LinearOp op, SDVariable v) {
        return sd.math.sqrt(sum(sd, v.mul(v), op.vShape(), true, op.normAxes()));
    }

    /**
     * Σ over {@code axes} of x (static shape {@code shape}). A sum over axes that all have size 1 is a reshape:
     * ND4J's reduce ops fail inside SameDiff when nothing is reduced (a dense layer with nIn = 1, a batch of 1).
     */
    static SDVariable sum(SameDiff sd, SDVariable x, long[] shape, boolean keepDims, int... axes) {
        boolean trivial = true;
        for (int a : axes) trivial &= shape[a] == 1;
        if (!trivial) return sd.sum(x, keepDims, axes);
        if (keepDims) return sd.identity(x);
        long[] out = new long[shape.length - axes.length];
        int j = 0;
        for (int i = 0; i < shape.length; i++) {
            boolean reduced = false;
            for (int a : axes) reduced |= a == i;
            if (!reduced) out[j++] = shape[i];
        }
        return sd.reshape(x, out);
    }

    private static long count(long[] shape, int... axes) {
        long m = 1;
        for (int a : axes) m *= shape[a];
        return m;
    }

    /** Forward: inputs x v g [b] (g shaped unitShape, b biasShape); output z = op(x, g·v/‖v‖) + b. */
    public static CompiledGraph forward(LinearOp op, long[] xShape, boolean bias, DataType dt) {
        GraphInputs in = new GraphInputs(dt);
        SameDiff sd = in.sd();
        SDVariable x = in.ph(X, xShape);
        SDVariable v = in.ph(V, op.vShape());
        SDVariable g = in.ph(G, op.unitShape());
        SDVariable b = bias ? in.ph(B, op.biasShape()) : null;
        SDVariable w = v.mul(g.div(norm(sd, op, v)));
        SDVariable z = op.forward(sd, x, w);
        if (b != null) z = z.add(b);
        z.rename(Z);
        return CompiledGraph.of(sd, in.names(), List.of(Z));
    }

    /** Backward: inputs x v g dz; outputs dx dv dg [db] (dg shaped unitShape, db [nOut]). */
    public static CompiledGraph backward(LinearOp op, long[] xShape, long[] zShape, boolean bias, DataType dt) {
        GraphInputs in = new GraphInputs(dt);
        SameDiff sd = in.sd();
        SDVariable x = in.ph(X, xShape);
        SDVariable v = in.ph(V, op.vShape());
        SDVariable g = in.ph(G, op.unitShape());
        SDVariable dz = in.ph(DZ, zShape);
        SDVariable norm = norm(sd, op, v);
        SDVariable scale = g.div(norm);
        SDVariable w = v.mul(scale);
        SDVariable[] dxdw = op.backward(sd, x, w, dz);
        SDVariable dw = dxdw[1];
        SDVariable dg = sum(sd, dw.mul(v), op.vShape(), true, op.normAxes()).div(norm);
        SDVariable dv = dw.sub(v.mul(dg.div(norm))).mul(scale);
        List<String> outs = new ArrayList<>(List.of(DX, DV, DG));
        sd.identity(dxdw[0]).rename(DX);
        dv.rename(DV);
        dg.rename(DG);
        if (bias) {
            sum(sd, dz, zShape, false, op.outputReduceAxes()).rename(DB);
            outs.add(DB);
        }
        return CompiledGraph.of(sd, in.names(), outs);
    }

    /**
     * Statistics for the data-dependent initialization: inputs x v; outputs tMean, tVar [nOut], the per-unit mean
     * and biased variance of t = op(x, v/‖v‖).
     */
    public static CompiledGraph initStatistics(LinearOp op, long[] xShape, long[] zShape, DataType dt) {
        GraphInputs in = new GraphInputs(dt);
        SameDiff sd = in.sd();
        SDVariable x = in.ph(X, xShape);
        SDVariable v = in.ph(V, op.vShape());
        SDVariable t = op.forward(sd, x, v.div(norm(sd, op, v)));
        int[] axes = op.outputReduceAxes();
        double m = count(zShape, axes);
        SDVariable mean = sum(sd, t, zShape, true, axes).div(m);
        SDVariable u = t.sub(mean);
        sd.reshape(mean, op.nOut()).rename(T_MEAN);
        sum(sd, u.mul(u), zShape, false, axes).div(m).rename(T_VAR);
        return CompiledGraph.of(sd, in.names(), List.of(T_MEAN, T_VAR));
    }
}
