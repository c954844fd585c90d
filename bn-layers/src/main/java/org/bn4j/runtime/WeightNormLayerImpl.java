package org.bn4j.runtime;

import org.bn4j.core.LinearOp;
import org.bn4j.core.WeightNormCore;
import org.bn4j.layers.weightnorm.AbstractWeightNormLayer;
import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.bn4j.core.WeightNormCore.*;
import static org.bn4j.runtime.WeightNormParamInitializer.INIT_DONE;

/**
 * Runtime of the weight-normalized layers: checks the input, runs the core's SameDiff graphs (built once per input
 * shape and cached), applies the activation (DL4J's {@code IActivation}, outside the graph, as DL4J's own layers
 * do), and runs the data-dependent initialization once when configured.
 *
 * <p>Precision: the graphs compute in the network's type for float64 and float32 networks, and in float32 for float16
 * and bfloat16 networks (v, g and b are cast to float32; ‖v‖² of a float16 v overflows once ‖v‖ > 256). The output
 * and the input gradient come back in the input's floating-point type, the parameter gradients in the network's.
 * Other network types are refused with an error naming the layer. User guide: {@code docs/guarantees.md}.
 */
public class WeightNormLayerImpl extends BaseLayer<AbstractWeightNormLayer> {
    private final GraphCache<List<Long>, Graphs> graphs = new GraphCache<>(GraphCache.CAPACITY);

    /** The input (after dropout) and pre-activation of the last forward pass, for backprop. */
    private INDArray forwardInput;
    private INDArray forwardZ;

    public WeightNormLayerImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    @Override
    public Type type() {
        return layerConf().runtimeType();
    }

    @Override
    public boolean isPretrainLayer() {
        return false;
    }

    @Override
    public boolean hasBias() {
        return layerConf().hasBias();
    }

    /** The type the graphs compute in: the network's, float32 for float16 and bfloat16 networks. */
    private DataType computeType() {
        return NormLayerImpl.computeType(dataType, layerConf().describe() + " " + layerId());
    }

    /** The type of the output and the input gradient: the input's if it is floating-point, else the network's. */
    private DataType outputType() {
        return input.dataType().isFPType() ? input.dataType() : dataType;
    }

    /** True once the data-dependent initialization has run (always true without {@code dataInit}). */
    public boolean isInitialized() {
        INDArray flag = getParam(INIT_DONE);
        return flag == null || flag.getDouble(0) > 0.5;
    }

    @Override
    protected INDArray preOutput(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        applyDropOutIfNecessary(training, workspaceMgr);
        AbstractWeightNormLayer c = layerConf();
        INDArray x = input.castTo(computeType());
        long[] zShape = c.outputShape(x, layerId());
        if (training && !isInitialized()) dataDependentInit(x, zShape);
        INDArray z = graphs(x.shape(), zShape).forward().run(inputs(x)).get(Z);
        forwardInput = input;
        forwardZ = z;
        return z;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        INDArray z = preOutput(training, workspaceMgr);
        DataType out = outputType();
        INDArray a;
        if (out == z.dataType()) {
            // a copy of z where DL4J wants the activations (detached when scoped out), activated in place as DL4J does
            a = layerConf().getActivationFn().getActivation(workspaceMgr.dup(ArrayType.ACTIVATIONS, z), training);
        } else {
            // activated in the compute type, then rounded once to the input's type where DL4J wants the activations
            INDArray act = layerConf().getActivationFn().getActivation(detachedDup(z), training);
            a = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, out, z.shape(), 'c');
            a.assign(act);
        }
        if (maskArray != null) applyMask(a);
        return a;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        AbstractWeightNormLayer c = layerConf();
        DataType cdt = computeType();
        INDArray x = input.castTo(cdt);
        long[] zShape = c.outputShape(x, layerId());
        if (!Arrays.equals(epsilon.shape(), zShape)) {
            throw new DL4JInvalidInputException(c.describe() + " " + layerId() + ": expected an output gradient of shape "
                    + Arrays.toString(zShape) + ", got " + Arrays.toString(epsilon.shape()));
        }
        Graphs gr = graphs(x.shape(), zShape);
        INDArray z = forwardZ != null && forwardInput == input ? forwardZ : gr.forward().run(inputs(x)).get(Z);
        INDArray dz = c.getActivationFn().backprop(z.dup(), epsilon.castTo(cdt)).getFirst();
        if (maskArray != null) applyMask(dz);

        Map<String, INDArray> in = inputs(x);
        in.put(DZ, dz);
        Map<String, INDArray> res = gr.backward().run(in);

        Gradient g = new DefaultGradient(gradientsFlattened);
        put(g, WeightNormParamInitializer.V, res.get(DV));
        put(g, WeightNormParamInitializer.G, res.get(DG));
        if (c.hasBias()) put(g, WeightNormParamInitializer.B, res.get(DB));
        // always 0: DL4J's NoOp updater applies the raw gradient, so a zero gradient is what keeps the flag fixed
        if (c.isDataInit()) put(g, INIT_DONE, Nd4j.zeros(dataType, 1));

        INDArray dx = res.get(DX);
        DataType out = outputType();
        INDArray eps;
        if (out == dx.dataType()) {
            dx = backpropDropOutIfPresent(dx);
            eps = workspaceMgr.isScopedOut(ArrayType.ACTIVATION_GRAD) ? dx : workspaceMgr.dup(ArrayType.ACTIVATION_GRAD, dx);
        } else {
            // rounded once to the input's type where DL4J wants the input gradient
            eps = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, out, dx.shape(), 'c');
            eps.assign(dx);
            eps = backpropDropOutIfPresent(eps);
        }
        return new Pair<>(g, eps);
    }

    private void put(Gradient g, String key, INDArray value) {
        INDArray view = gradientViews.get(key);
        view.assign(value.reshape(view.shape()));
        g.setGradientFor(key, view);
    }

    /**
     * The paper's data-dependent initialization on the batch x: t = op(x, v/‖v‖), g ← 1/sqrt(σ_t² + ε),
     * b ← −μ_t·g, then the flag is set. Runs before the forward pass of that batch, so its output already uses them.
     */
    private void dataDependentInit(INDArray x, long[] zShape) {
        AbstractWeightNormLayer c = layerConf();
        Map<String, INDArray> in = new HashMap<>();
        in.put(X, x);
        in.put(V, getParam(WeightNormParamInitializer.V).castTo(computeType()));
        Map<String, INDArray> stats = WeightNormCore.initStatistics(c.linearOp(), x.shape(), zShape, computeType()).run(in);
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            INDArray g = Transforms.pow(stats.get(T_VAR).add(AbstractWeightNormLayer.DATA_INIT_EPS), -0.5, false);
            getParam(WeightNormParamInitializer.G).assign(g.reshape(c.getNOut()));
            if (c.hasBias()) getParam(WeightNormParamInitializer.B).assign(stats.get(T_MEAN).mul(g).negi().reshape(c.getNOut()));
            getParam(INIT_DONE).assign(1.0);
        }
    }

    /** Graph inputs: x, v, and g, b shaped for broadcasting. */
    private Map<String, INDArray> inputs(INDArray x) {
        LinearOp op = layerConf().linearOp();
        Map<String, INDArray> in = new HashMap<>();
        DataType cdt = computeType();
        in.put(X, x);
        in.put(V, getParam(WeightNormParamInitializer.V).castTo(cdt));
        in.put(G, getParam(WeightNormParamInitializer.G).castTo(cdt).reshape(op.unitShape()));
        if (layerConf().hasBias()) in.put(B, getParam(WeightNormParamInitializer.B).castTo(cdt).reshape(op.biasShape()));
        return in;
    }

    private Graphs graphs(long[] xShape, long[] zShape) {
        List<Long> key = Arrays.stream(xShape).boxed().toList();
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return graphs.get(key, k -> WeightNormCore.build(layerConf().linearOp(), xShape, zShape,
                    layerConf().hasBias(), computeType()));
        }
    }

    private static INDArray detachedDup(INDArray a) {
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return a.dup('c');
        }
    }

    @Override
    public boolean updaterDivideByMinibatch(String paramName) {
        return !WeightNormParamInitializer.isState(paramName);
    }

    @Override
    public void clear() {
        super.clear();
        forwardInput = null;
        forwardZ = null;
    }

    @Override
    public void clearNoiseWeightParams() {
        // weight noise is rejected at instantiation
    }
}
