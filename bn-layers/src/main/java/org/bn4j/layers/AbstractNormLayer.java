package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.ToString;
import org.bn4j.core.Layout;
import org.bn4j.core.NormSpec;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.regularization.Regularization;

import java.util.Collection;
import java.util.List;

/**
 * Base configuration of every activation-normalizing layer of bn4j: a {@link NormSpec} (statistic, affine,
 * ε, noise) and a rule that maps an input to a {@link Layout} (which axes the statistics are taken over).
 * Subclasses only choose those; the runtime ({@link NormLayerImpl}) and the core
 * ({@link org.bn4j.core.NormCore}) are shared.
 *
 * <p>Input kinds: feed-forward {@code [N, C]}; CNN {@code [N, C, H, W]} (NCHW) or {@code [N, H, W, C]}
 * (NHWC); RNN {@code [N, C, T]} (NCW) or {@code [N, T, C]} (NWC), with an optional {@code [N, T]} mask
 * (masked steps are left out of the statistics, and get output 0 and input gradient 0). The data formats are
 * taken from the input type in {@code setInputType}, or set on the builder.
 *
 * <p>Parameters: {@code gamma} and {@code beta} (per feature, when {@code affine}), trained; and for layers with
 * running statistics {@code mean} and {@code var}, which live in the parameter vector (so JSON,
 * ModelSerializer, clone and parameter averaging carry them) but are updated only by the layer itself during
 * training, never by an updater (NoOp) or a regularizer.
 *
 * <p>Defaults (defined once, in {@link Builder}): ε = 1e-5, affine = true, γ = 1, β = 0, NCHW, NCW.
 */
@Getter
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public abstract class AbstractNormLayer extends FeedForwardLayer {

    /** Stability constant added to the variance (equivalent) before the square root. */
    protected double eps;
    /** Learnable per-feature gain γ and bias β. */
    protected boolean affine;
    /** Initial value of γ. */
    protected double gammaInit;
    /** Initial value of β. */
    protected double betaInit;
    /** Layout of 4-D input. */
    protected CNN2DFormat cnn2dFormat;
    /** Layout of 3-D input. */
    protected RNNFormat rnnFormat;

    protected AbstractNormLayer(Builder<?> b) {
        super(b);
        if (!(b.eps > 0)) throw new IllegalArgumentException(getClass().getSimpleName() + ": eps must be > 0, got " + b.eps);
        this.eps = b.eps;
        this.affine = b.affine;
        this.gammaInit = b.gammaInit;
        this.betaInit = b.betaInit;
        this.cnn2dFormat = b.cnn2dFormat;
        this.rnnFormat = b.rnnFormat;
        this.nOut = this.nIn;
    }

    /** What the core computes for this layer. */
    public abstract NormSpec normSpec();

    /**
     * Where the statistics are taken, for one segment of the batch.
     *
     * @param view   the input as a 4-D view {@code [N, P, C, Q]}, C the feature axis (P, Q positions)
     * @param mask   the mask as a 4-D view {@code [N, P, 1, Q]} (broadcast), or null
     * @param groups   number of equal groups the segment's batch is split into (ghost batch norm), else 1
     * @param sequence true for RNN input (P or Q is the time axis), false for feed-forward and CNN input
     */
    public abstract Layout layout(long[] view, long[] mask, int groups, boolean sequence);

    /** True if the layer is the identity in inference (the noise-only layer). */
    public boolean identityInInference() {
        return false;
    }

    /** Fewest values a statistics group may have in training (2: a variance needs two values). */
    public long minGroupSize() {
        return 2;
    }

    /** True if the layer keeps running statistics for inference (the batch-norm family). */
    public abstract boolean hasRunningStats();

    /** Exponential-average decay of the running statistics (weight of the old value). */
    public double runningDecay() {
        return 0;
    }

    /**
     * The segments of a batch of n samples: rows [start, end) split into {@code groups} equal groups, each
     * normalized with its own statistics. Default: one segment, one group.
     */
    public long[][] segments(long n) {
        return new long[][]{{0, n, 1}};
    }

    /** The noise of a layer with noise (y ← s ⊙ y + m during training), or null for a layer without. */
    public NoiseConfig noiseConfig() {
        return null;
    }

    /** Human-readable name of the layer for messages: class and layer name. */
    String describe() {
        return getClass().getSimpleName() + (getLayerName() == null ? "" : " '" + getLayerName() + "'");
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf,
                                                       Collection<TrainingListener> listeners, int layerIndex,
                                                       INDArray paramsView, boolean initializeParams,
                                                       DataType networkDataType) {
        if (nIn <= 0) {
            throw new IllegalStateException(describe() + " (index " + layerIndex
                    + "): the number of features is not set: set nIn on the builder or give the network an input type");
        }
        NormLayerImpl layer = newRuntime(conf, networkDataType);
        layer.setListeners(listeners);
        layer.setIndex(layerIndex);
        layer.setParamsViewArray(paramsView);
        layer.setParamTable(initializer().init(conf, paramsView, initializeParams));
        layer.setConf(conf);
        return layer;
    }

    /** The runtime layer; every normalization layer shares {@link NormLayerImpl}. */
    protected NormLayerImpl newRuntime(NeuralNetConfiguration conf, DataType dataType) {
        return new NormLayerImpl(conf, dataType);
    }

    @Override
    public ParamInitializer initializer() {
        return NormParamInitializer.INSTANCE;
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        switch (inputType.getType()) {
            case FF:
            case CNN:
            case RNN:
                return inputType;
            case CNNFlat:
                InputType.InputTypeConvolutionalFlat f = (InputType.InputTypeConvolutionalFlat) inputType;
                return InputType.convolutional(f.getHeight(), f.getWidth(), f.getDepth());
            default:
                throw new IllegalStateException(describe() + " (index " + layerIndex
                        + "): expected feed-forward, CNN or RNN input, got " + inputType);
        }
    }

    @Override
    public void setNIn(InputType inputType, boolean override) {
        switch (inputType.getType()) {
            case FF -> setFeatures(((InputType.InputTypeFeedForward) inputType).getSize(), override);
            case CNN -> {
                InputType.InputTypeConvolutional c = (InputType.InputTypeConvolutional) inputType;
                setFeatures(c.getChannels(), override);
                cnn2dFormat = c.getFormat();
            }
            case CNNFlat -> setFeatures(((InputType.InputTypeConvolutionalFlat) inputType).getDepth(), override);
            case RNN -> {
                InputType.InputTypeRecurrent r = (InputType.InputTypeRecurrent) inputType;
                setFeatures(r.getSize(), override);
                rnnFormat = r.getFormat();
            }
            default -> throw new IllegalStateException(describe() + ": expected feed-forward, CNN or RNN input, got "
                    + inputType);
        }
    }

    private void setFeatures(long n, boolean override) {
        if (nIn <= 0 || override) {
            nIn = n;
            nOut = n;
        }
    }

    @Override
    public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
        if (inputType.getType() == InputType.Type.CNNFlat) {
            InputType.InputTypeConvolutionalFlat i = (InputType.InputTypeConvolutionalFlat) inputType;
            return new FeedForwardToCnnPreProcessor(i.getHeight(), i.getWidth(), i.getDepth());
        }
        return null;
    }

    /** γ and β are not regularized (as in DL4J's BatchNormalization); running statistics never are. */
    @Override
    public List<Regularization> getRegularizationByParam(String paramName) {
        return null;
    }

    @Override
    public IUpdater getUpdaterByParam(String paramName) {
        return NormParamInitializer.isState(paramName) ? new NoOp() : iUpdater;
    }

    @Override
    public boolean isPretrainParam(String paramName) {
        return false;
    }

    @Override
    public LayerMemoryReport getMemoryReport(InputType inputType) {
        InputType out = getOutputType(-1, inputType);
        long perExample = inputType.arrayElementsPerExample();
        return new LayerMemoryReport.Builder(layerName, getClass(), inputType, out)
                .standardMemory(initializer().numParams(this), 0)
                .workingMemory(0, perExample, 2 * nOut, 3 * perExample)
                .cacheMemory(MemoryReport.CACHE_MODE_ALL_ZEROS, MemoryReport.CACHE_MODE_ALL_ZEROS)
                .build();
    }

    /**
     * Builder of every normalization layer; the defaults are defined here once.
     *
     * @param <T> the concrete builder
     */
    @SuppressWarnings("unchecked")
    public abstract static class Builder<T extends Builder<T>> extends FeedForwardLayer.Builder<T> {
        protected double eps = 1e-5;
        protected boolean affine = true;
        protected double gammaInit = 1.0;
        protected double betaInit = 0.0;
        protected CNN2DFormat cnn2dFormat = CNN2DFormat.NCHW;
        protected RNNFormat rnnFormat = RNNFormat.NCW;

        /** Stability constant ε > 0 (default 1e-5). */
        public T eps(double eps) {
            this.eps = eps;
            return (T) this;
        }

        /** Learnable γ and β (default true); false gives y = x̂. */
        public T affine(boolean affine) {
            this.affine = affine;
            return (T) this;
        }

        /** Initial γ (default 1). */
        public T gammaInit(double gamma) {
            this.gammaInit = gamma;
            return (T) this;
        }

        /** Initial β (default 0). */
        public T betaInit(double beta) {
            this.betaInit = beta;
            return (T) this;
        }

        /** Layout of 4-D input (default NCHW; taken from the input type when the network has one). */
        public T dataFormat(CNN2DFormat format) {
            this.cnn2dFormat = format;
            return (T) this;
        }

        /** Layout of 3-D input (default NCW; taken from the input type when the network has one). */
        public T rnnDataFormat(RNNFormat format) {
            this.rnnFormat = format;
            return (T) this;
        }

        /** Number of features (channels); usually inferred from the input type. Same as {@link #nIn(long)}. */
        public T features(long n) {
            this.nIn = n;
            this.nOut = n;
            return (T) this;
        }

        @Override
        public T nIn(int nIn) {
            return nIn((long) nIn);
        }

        @Override
        public T nOut(int nOut) {
            return nOut((long) nOut);
        }

        @Override
        public T nIn(long nIn) {
            this.nIn = nIn;
            this.nOut = nIn;
            return (T) this;
        }

        @Override
        public T nOut(long nOut) {
            this.nIn = nOut;
            this.nOut = nOut;
            return (T) this;
        }
    }
}
