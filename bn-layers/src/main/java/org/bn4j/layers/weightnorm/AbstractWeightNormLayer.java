package org.bn4j.layers.weightnorm;

import org.bn4j.core.LinearOp;
import org.bn4j.runtime.WeightNormLayerImpl;
import org.bn4j.runtime.WeightNormParamInitializer;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.ToString;
import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;

import java.util.Collection;

/**
 * Base configuration of the weight-normalized layers (Salimans and Kingma 2016): a dense or convolution layer
 * whose weight is reparameterized per output unit j as
 * <pre>
 *   w_j = g_j · v_j / ‖v_j‖
 * </pre>
 * with parameters v (direction), g (scale, one per unit) and b (bias). The gradients are
 * <pre>
 *   ∇g_j = (∇w_j · v_j) / ‖v_j‖,      ∇v_j = (g_j / ‖v_j‖) (∇w_j − (∇g_j / ‖v_j‖) v_j)
 * </pre>
 * Subclasses choose the linear map ({@link #linearOp()}), the input check and the output type; the parameter
 * initializer ({@link WeightNormParamInitializer}), the runtime ({@link WeightNormLayerImpl}) and the graphs
 * ({@link WeightNormCore}) are shared.
 *
 * <p><b>Data-dependent initialization</b> ({@code dataInit(true)}, the paper's §3): on the first forward pass in
 * training mode (normally the first {@code fit} batch), before computing its output, the layer computes
 * t = op(x, v/‖v‖) on that batch, its per-unit mean μ_t and biased variance σ_t², and sets
 * <pre>
 *   g ← 1 / sqrt(σ_t² + 1e-8),    b ← −μ_t · g
 * </pre>
 * so that the pre-activations of that batch have mean 0 and variance 1 per unit (without a bias only the
 * variance is set). It runs once: the parameter {@code initDone} records it, and as part of the parameter vector
 * it is saved by ModelSerializer and restored with the parameters. A network built from JSON alone (new
 * parameters) initializes again on its first batch, as it should. Layers are initialized in network order, each
 * on the output of the already initialized layers before it.
 *
 * <p>Defaults (defined once, in {@link Builder}): bias on, g = ‖v‖ per unit at initialization (the layer then
 * starts as the plain layer with W = v), no data-dependent initialization; the activation, weight init (for v),
 * bias init, updater and regularization come from the network configuration as for any DL4J layer.
 * Regularization: v is a weight, b a bias, g and initDone are never regularized.
 * Weight noise (DropConnect) is not supported; dropout on the input is.
 *
 * <p>Precision: float64 and float32 networks compute in their own type. float16 and bfloat16 networks compute in
 * float32 (v, g and b are stored in the network's type and cast to float32; in float16, ‖v‖² would overflow once
 * ‖v‖ > 256); the output and the input gradient are returned in the input's floating-point type (bfloat16 input to a
 * float32 network gives bfloat16 output). Any other network type is refused with an error naming the layer. See
 * docs/guarantees.md.
 */
@Getter
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public abstract class AbstractWeightNormLayer extends FeedForwardLayer {

    /** Added to σ_t² in the data-dependent initialization. */
    public static final double DATA_INIT_EPS = 1e-8;

    /** Whether the layer has a bias b. */
    protected boolean hasBias;
    /** Initial g for every unit, or null for g = ‖v‖ per unit. */
    protected Double initialG;
    /** Data-dependent initialization of g and b on the first training batch. */
    protected boolean dataInit;

    protected AbstractWeightNormLayer(Builder<?> b) {
        super(b);
        if (b.initialG != null && !Double.isFinite(b.initialG)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": initialG must be finite, got " + b.initialG);
        }
        this.hasBias = b.hasBias;
        this.initialG = b.initialG;
        this.dataInit = b.dataInit;
    }

    /** Keeps the builder's constraints off the initialization flag (call at the end of a subclass constructor). */
    protected void initConstraints(Builder<?> b) {
        initializeConstraints(b);
        if (constraints != null) constraints.forEach(c -> c.getParams().remove(WeightNormParamInitializer.INIT_DONE));
    }

    public boolean hasBias() {
        return hasBias;
    }

    /** The linear map of this layer with its current sizes. */
    public abstract LinearOp linearOp();

    /** Shape of v. */
    public long[] vShape() {
        return linearOp().vShape();
    }

    /** Fan in and fan out for the weight init of v (as DL4J's plain layer). */
    public abstract double[] fans();

    /**
     * Checks an input against the layer and returns the output shape.
     *
     * @throws DL4JInvalidInputException naming the layer, what it expected and what came
     */
    public abstract long[] outputShape(INDArray input, String layerId);

    /** The runtime layer type. */
    public abstract org.deeplearning4j.nn.api.Layer.Type runtimeType();

    /** Human-readable name of the layer for messages: class and layer name. */
    public String describe() {
        return getClass().getSimpleName() + (getLayerName() == null ? "" : " '" + getLayerName() + "'");
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf,
                                                       Collection<TrainingListener> listeners, int layerIndex,
                                                       INDArray paramsView, boolean initializeParams,
                                                       DataType networkDataType) {
        if (nIn <= 0 || nOut <= 0) {
            throw new IllegalStateException(describe() + " (index " + layerIndex + "): nIn = " + nIn + ", nOut = " + nOut
                    + ": set nOut on the builder, and nIn too unless the network has an input type");
        }
        if (weightNoise != null) {
            throw new IllegalStateException(describe() + " (index " + layerIndex
                    + "): weight noise (DropConnect) is not supported by weight-normalized layers");
        }
        WeightNormLayerImpl layer = newRuntime(conf, networkDataType);
        layer.setListeners(listeners);
        layer.setIndex(layerIndex);
        layer.setParamsViewArray(paramsView);
        layer.setParamTable(initializer().init(conf, paramsView, initializeParams));
        layer.setConf(conf);
        return layer;
    }

    /** The runtime layer; every weight-normalized layer shares {@link WeightNormLayerImpl} (tests override this). */
    protected WeightNormLayerImpl newRuntime(NeuralNetConfiguration conf, DataType dataType) {
        return new WeightNormLayerImpl(conf, dataType);
    }

    @Override
    public ParamInitializer initializer() {
        return WeightNormParamInitializer.INSTANCE;
    }

    @Override
    public IUpdater getUpdaterByParam(String paramName) {
        return WeightNormParamInitializer.isState(paramName) ? new NoOp() : super.getUpdaterByParam(paramName);
    }

    @Override
    public boolean isPretrainParam(String paramName) {
        return false;
    }

    @Override
    public LayerMemoryReport getMemoryReport(InputType inputType) {
        InputType out = getOutputType(-1, inputType);
        long numParams = initializer().numParams(this);
        long updaterState = getIUpdater() == null ? 0 : getIUpdater().stateSize(numParams);
        return new LayerMemoryReport.Builder(layerName, getClass(), inputType, out)
                .standardMemory(numParams, updaterState)
                .workingMemory(0, 0, numParams, out.arrayElementsPerExample() + inputType.arrayElementsPerExample())
                .cacheMemory(MemoryReport.CACHE_MODE_ALL_ZEROS, MemoryReport.CACHE_MODE_ALL_ZEROS)
                .build();
    }

    /**
     * Builder of the weight-normalized layers; the shared defaults are defined here once.
     *
     * @param <T> the concrete builder
     */
    @SuppressWarnings("unchecked")
    public abstract static class Builder<T extends Builder<T>> extends FeedForwardLayer.Builder<T> {
        protected boolean hasBias = true;
        protected Double initialG = null;
        protected boolean dataInit = false;

        /** Whether the layer has a bias (default true). */
        public T hasBias(boolean hasBias) {
            this.hasBias = hasBias;
            return (T) this;
        }

        /** Initial g for every unit (default: g = ‖v‖ per unit, so that w = v at initialization). */
        public T initialG(double g) {
            this.initialG = g;
            return (T) this;
        }

        /**
         * Data-dependent initialization of g and b on the first training batch (default false): the pre-activations
         * of that batch get mean 0 and variance 1 per unit. See the class documentation.
         */
        public T dataInit(boolean dataInit) {
            this.dataInit = dataInit;
            return (T) this;
        }
    }
}
