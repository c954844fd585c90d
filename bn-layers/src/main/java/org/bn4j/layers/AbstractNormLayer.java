package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.ToString;
import org.bn4j.core.Layout;
import org.bn4j.core.NormSpec;
import org.bn4j.core.Statistic;
import org.bn4j.runtime.NormLayerImpl;
import org.bn4j.runtime.NormParamInitializer;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.api.layers.LayerConstraint;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Convolution3D;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Base configuration of every activation-normalizing layer of bn4j. A layer is a choice of options, all defined here
 * once, and of the axes its statistics are taken over ({@link #layout}, the one thing a variant adds):
 * <pre>
 *   μ = mean of x over the statistics axes      (centring; off for RMS norm: μ = 0)
 *   v = statistic of x − μ                       (variance, ℓp or top-k: {@link Statistic})
 *   y = act( γ ⊙ (x − μ)/sqrt(v + ε) + β )       (γ and β each learned, fixed, or absent; act the identity by default)
 * </pre>
 * optionally with Santurkar et al.'s noise ({@link NoiseConfig}) before or after γ and β in training, and, for layers
 * with running statistics, the running mean and variance used at inference.
 *
 * <p>Input kinds: feed-forward {@code [N, C]}; CNN {@code [N, C, H, W]} (NCHW) or {@code [N, H, W, C]} (NHWC); 3-D CNN
 * {@code [N, C, D, H, W]} (NCDHW) or {@code [N, D, H, W, C]} (NDHWC); RNN {@code [N, C, T]} (NCW) or {@code [N, T, C]}
 * (NWC), with an optional {@code [N, T]} mask (masked steps are left out of the statistics, and get output 0 and input
 * gradient 0). A data format set on the builder ({@link Builder#dataFormat}, {@link Builder#rnnDataFormat},
 * {@link Builder#dataFormat3d}) is always used, and the layer's output type reports it; a format not set there is
 * taken from the network's input type, else the default. This matters after DL4J 1.0.0-M2.1's {@code Convolution3D}
 * and {@code Subsampling3DLayer} in {@code ConvolutionMode.Truncate} or {@code Strict}, whose output type says NDHWC
 * whatever their data format: after an NCDHW one, set {@code dataFormat3d(Convolution3D.DataFormat.NCDHW)}
 * (docs/batch-norm.md, section "3-D input").
 * Input of a kind the layer refuses (InstanceNorm: feed-forward) is refused both in the input type and at run time.
 *
 * <p>Parameters: {@code gamma} and {@code beta} (per feature, when learned), trained; for layers with running
 * statistics {@code mean} and {@code var} (and {@code steps} where a rule counts steps), which live in the parameter
 * vector (so JSON, ModelSerializer, clone and parameter averaging carry them) but are state: updated by the layer once
 * per optimizer step, never by an updater (NoOp) or a regularizer, and with a zero gradient.
 *
 * <p>What the layers inherit from DL4J's {@code FeedForwardLayer}: an activation set on the layer's builder is applied
 * after the normalization (default identity; a network-wide activation does not apply, as with DL4J's
 * {@code BatchNormalization}); l1/l2/weight decay set on the layer's builder apply to γ, their bias forms to β
 * (network-wide regularization does not apply to γ and β); constraints: {@link Builder#constrainGamma},
 * {@link Builder#constrainBeta} and {@code constrainAllParameters} (γ and β). Dropout, weight noise and weight or bias
 * constraints set on the layer are refused with an error; the layer's updater applies to γ and β.
 *
 * <p>Defaults (defined once, in {@link Builder}): ε = 1e-5, centred, γ learned from 1, β learned from 0, variance
 * statistic, no noise, identity activation, data formats from the input type, else NCHW, NCW, NCDHW. User guide:
 * {@code docs/} in the repository.
 */
@Getter
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public abstract class AbstractNormLayer extends FeedForwardLayer {

    /** Version of the configuration format written by this release (absent in JSON written before it: version 1). */
    public static final int FORMAT_VERSION = 2;

    /** Format version of this configuration; 1 for JSON written before versions were recorded. */
    protected int formatVersion;
    /** Stability constant added to the variance (equivalent) before the square root. */
    protected double eps;
    /** The scale statistic, or null for no normalization (the noise-only layer). */
    protected Statistic statistic;
    /** Subtract the group mean (false: RMS norm). */
    protected boolean center;
    /** Multiply by γ. */
    protected boolean scale;
    /** Add β. */
    protected boolean bias;
    /** Initial value of a learned γ. */
    protected double gammaInit;
    /** Initial value of a learned β. */
    protected double betaInit;
    /** γ held at this value (not a parameter), or null for a learned γ. */
    protected Double fixedGamma;
    /** β held at this value (not a parameter), or null for a learned β. */
    protected Double fixedBeta;
    /** The training noise, or null for none. */
    protected NoiseConfig noise;
    /** Apply the noise to x̂, before γ and β, instead of after them. */
    protected boolean noiseBeforeAffine;
    /** Keep running statistics for inference. */
    protected boolean runningStats;
    /** Exponential-average decay of the running statistics (weight of the old value). */
    protected double decay;
    /** Running statistics as a cumulative average of every batch's statistics instead of an exponential one. */
    protected boolean cumulative;
    /** Normalize with the running statistics in training too, never updating them (fine-tuning). */
    protected boolean frozenStatistics;
    /** What a training group with too few values does. */
    protected SmallBatch smallBatch;
    /** Samples per ghost batch, or 0 for none. */
    protected int virtualBatchSize;
    /** Layout of 4-D input. */
    protected CNN2DFormat cnn2dFormat;
    /** Layout of 3-D input. */
    protected RNNFormat rnnFormat;
    /** Layout of 5-D input. */
    protected Convolution3D.DataFormat cnn3dFormat;
    /** {@link #cnn2dFormat} was set on the builder: the input type does not replace it. */
    protected boolean cnn2dFormatSet;
    /** {@link #rnnFormat} was set on the builder: the input type does not replace it. */
    protected boolean rnnFormatSet;
    /** {@link #cnn3dFormat} was set on the builder: the input type does not replace it. */
    protected boolean cnn3dFormatSet;
    /**
     * {@code {D, H, W, C}} of the NDHWC input type the 3-D format was taken from, else null: input shaped as that type in
     * NCDHW order (what an NCDHW {@code Convolution3D} gives when DL4J reports NDHWC) is then refused, even when C
     * equals W and the NDHWC channel check alone would pass.
     */
    protected long[] ndhwcInputType;
    /** Regularization of γ (set on the layer's builder). */
    protected List<Regularization> gammaRegularization;
    /** Regularization of β (set on the layer's builder). */
    protected List<Regularization> betaRegularization;

    /**
     * What a training statistics group with fewer values than its statistic needs does (a batch of one sample, a
     * fully masked sequence, a ghost remainder).
     */
    public enum SmallBatch {
        /**
         * Normalize that group with the running statistics, as in inference, and leave them unchanged; layers without
         * running statistics give x̂ = 0 there (y = β). Training goes on, as with DL4J's and Keras's layers.
         */
        RUNNING_STATS,
        /** Refuse the batch with an error, as PyTorch does. */
        ERROR
    }

    protected AbstractNormLayer(Builder<?> b) {
        super(b);
        String name = getClass().getSimpleName();
        if (b.statistic != null && !(b.eps > 0)) throw new IllegalArgumentException(name + ": eps must be > 0, got " + b.eps);
        if (!(b.decay >= 0 && b.decay < 1)) throw new IllegalArgumentException(name + ": decay must be in [0, 1), got " + b.decay);
        if (b.virtualBatchSize != 0 && b.virtualBatchSize < 2) {
            throw new IllegalArgumentException(name + ": virtualBatchSize must be >= 2 (or 0 for none), got " + b.virtualBatchSize);
        }
        if (b.fixedGamma != null && !Double.isFinite(b.fixedGamma)) {
            throw new IllegalArgumentException(name + ": fixedGamma must be finite, got " + b.fixedGamma);
        }
        if (b.fixedBeta != null && !Double.isFinite(b.fixedBeta)) {
            throw new IllegalArgumentException(name + ": fixedBeta must be finite, got " + b.fixedBeta);
        }
        if (b.statistic == null && b.runningStats) {
            throw new IllegalArgumentException(name + ": a layer without a statistic has no running statistics");
        }
        if (b.getIDropout() != null) {
            throw new IllegalArgumentException(name + ": dropout on the input of a normalization layer is not supported"
                    + " (it shifts the batch statistics between training and inference); add a DropoutLayer elsewhere, got "
                    + b.getIDropout());
        }
        if (b.getWeightNoise() != null) {
            throw new IllegalArgumentException(name + ": weight noise is not supported (the layer has no weights), got "
                    + b.getWeightNoise());
        }
        if (b.getWeightConstraints() != null && !b.getWeightConstraints().isEmpty()
                || b.getBiasConstraints() != null && !b.getBiasConstraints().isEmpty()) {
            throw new IllegalArgumentException(name + ": the layer has no weights or biases to constrain; use constrainGamma"
                    + " or constrainBeta, got weight constraints " + b.getWeightConstraints() + ", bias constraints "
                    + b.getBiasConstraints());
        }
        this.formatVersion = FORMAT_VERSION;
        this.eps = b.eps;
        this.statistic = b.statistic;
        this.center = b.center && b.statistic != null;
        this.scale = b.scale;
        this.bias = b.bias;
        this.gammaInit = b.gammaInit;
        this.betaInit = b.betaInit;
        this.fixedGamma = b.scale ? b.fixedGamma : null;
        this.fixedBeta = b.bias ? b.fixedBeta : null;
        this.noise = b.noise;
        this.noiseBeforeAffine = b.noiseBeforeAffine;
        this.runningStats = b.runningStats;
        this.decay = b.decay;
        this.cumulative = b.cumulative;
        this.frozenStatistics = b.frozenStatistics;
        this.smallBatch = b.smallBatch;
        this.virtualBatchSize = b.virtualBatchSize;
        this.cnn2dFormat = b.cnn2dFormat;
        this.rnnFormat = b.rnnFormat;
        this.cnn3dFormat = b.cnn3dFormat;
        this.cnn2dFormatSet = b.cnn2dFormatSet;
        this.rnnFormatSet = b.rnnFormatSet;
        this.cnn3dFormatSet = b.cnn3dFormatSet;
        this.gammaRegularization = b.getRegularization() == null ? new ArrayList<>() : new ArrayList<>(b.getRegularization());
        this.betaRegularization = b.getRegularizationBias() == null ? new ArrayList<>() : new ArrayList<>(b.getRegularizationBias());
        this.nOut = this.nIn;
        if (frozenStatistics && !runningStats) {
            throw new IllegalArgumentException(name + ": frozenStatistics needs running statistics");
        }
        if (!gammaRegularization.isEmpty() && !learnsGamma() || !betaRegularization.isEmpty() && !learnsBeta()) {
            throw new IllegalArgumentException(name + ": regularization set for a γ or β that is not learned (γ "
                    + (learnsGamma() ? "learned" : "not learned") + ", β " + (learnsBeta() ? "learned" : "not learned") + ")");
        }
        constraints = constraints(b);
    }

    /** The constraints of the builder on the parameters they name (γ, β; all parameters means γ and β). */
    private List<LayerConstraint> constraints(Builder<?> b) {
        List<LayerConstraint> out = new ArrayList<>();
        Set<String> trainable = new HashSet<>();
        if (learnsGamma()) trainable.add(NormParamInitializer.GAMMA);
        if (learnsBeta()) trainable.add(NormParamInitializer.BETA);
        addConstraints(out, b.getAllParamConstraints(), trainable, "constrainAllParameters");
        addConstraints(out, b.gammaConstraints, learnsGamma() ? Set.of(NormParamInitializer.GAMMA) : Set.of(), "constrainGamma");
        addConstraints(out, b.betaConstraints, learnsBeta() ? Set.of(NormParamInitializer.BETA) : Set.of(), "constrainBeta");
        return out.isEmpty() ? null : out;
    }

    private void addConstraints(List<LayerConstraint> out, List<LayerConstraint> given, Set<String> params, String what) {
        if (given == null || given.isEmpty()) return;
        if (params.isEmpty()) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": " + what + " has no learned parameter to apply to");
        }
        for (LayerConstraint c : given) {
            LayerConstraint copy = c.clone();
            copy.setParams(new HashSet<>(params));
            out.add(copy);
        }
    }

    /** Reads JSON written before {@link #FORMAT_VERSION} 2, where one {@code affine} flag meant γ and β. */
    @JsonProperty("affine")
    private void legacyAffine(boolean affine) {
        this.scale = affine;
        this.bias = affine;
    }

    // ---------------------------------------------------------------- what a variant chooses

    /**
     * Where the statistics are taken and where the parameters run, for one segment of the batch.
     *
     * @param view        the input as a 4-D view {@code [N, P, C, Q]}, C the feature axis (P, Q positions)
     * @param mask        the mask as a 4-D view {@code [N, P, 1, Q]} (broadcast), or null
     * @param ghostGroups number of equal groups the segment's batch is split into (ghost batches), else 1
     * @param sequence    true for RNN input (P or Q is the time axis)
     */
    public abstract Layout layout(long[] view, long[] mask, int ghostGroups, boolean sequence);

    /** True if the statistics are taken over the batch axis (the batch-norm family), which ghost batches split. */
    public boolean batchStatistics() {
        return false;
    }

    /**
     * How the per-group statistics of a batch enter the running statistics when a feature has several groups: in
     * order, as separate steps (ghost batches), or averaged (instance norm, one group per sample).
     */
    public boolean averagesGroups() {
        return false;
    }

    /** The input kinds this layer takes, or null for all; a message for the others. */
    protected String rejectInput(InputType.Type type) {
        return null;
    }

    /**
     * Why this layer refuses input of this kind ({@code FF}, {@code CNN}, {@code CNN3D} or {@code RNN}), or null if it
     * takes it; the same answer for the network's input type and for an array given at run time.
     */
    public final String refusal(InputType.Type type) {
        return rejectInput(type == InputType.Type.CNNFlat ? InputType.Type.CNN : type);
    }

    // ---------------------------------------------------------------- derived

    /** What the core computes for this layer. */
    public NormSpec normSpec() {
        NormSpec.Noise placement = noise == null ? NormSpec.Noise.NONE
                : noiseBeforeAffine ? NormSpec.Noise.BEFORE_AFFINE : NormSpec.Noise.AFTER_AFFINE;
        return new NormSpec(statistic, center, scale, bias, eps, placement, renorm(), false);
    }

    /** True for batch renormalization. */
    public boolean renorm() {
        return false;
    }

    /** True if the layer keeps running statistics for inference. */
    public boolean hasRunningStats() {
        return runningStats;
    }

    /** True if γ is a parameter. */
    public boolean learnsGamma() {
        return scale && fixedGamma == null;
    }

    /** True if β is a parameter. */
    public boolean learnsBeta() {
        return bias && fixedBeta == null;
    }

    /** True if the layer counts its training steps in a {@code steps} state parameter. */
    public boolean countsSteps() {
        return runningStats && (cumulative || renorm());
    }

    /** The activation applied after the normalization (identity for configurations saved before format 2). */
    public IActivation activation() {
        return formatVersion < 2 || activationFn == null ? new ActivationIdentity() : activationFn;
    }

    /**
     * The segments of a batch of n samples: rows [start, end) split into {@code groups} equal groups, each
     * normalized with its own statistics. Ghost batches of v samples: the full groups, and a smaller last one (a
     * remainder of one sample joins the previous group). Without ghost batches: one segment, one group.
     */
    public long[][] segments(long n) {
        long v = virtualBatchSize;
        if (v == 0) return new long[][]{{0, n, 1}};
        long q = n / v, r = n % v;
        if (q <= 1 && r <= 1 || q == 0) return new long[][]{{0, n, 1}};
        if (r == 0) return new long[][]{{0, n, q}};
        long full = r == 1 ? q - 1 : q; // a remainder of one joins the previous group
        return new long[][]{{0, full * v, full}, {full * v, n, 1}};
    }

    /** Human-readable name of the layer for messages: class and layer name. */
    public String describe() {
        return getClass().getSimpleName() + (getLayerName() == null ? "" : " '" + getLayerName() + "'");
    }

    // ---------------------------------------------------------------- DL4J plumbing

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

    /**
     * The input type, in the data format the layer uses: a format set on the builder replaces the input type's (the
     * layer does not change the layout of its input, so the next layer and its preprocessor see the real one).
     */
    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        check(inputType, layerIndex);
        switch (inputType.getType()) {
            case CNNFlat -> {
                InputType.InputTypeConvolutionalFlat f = (InputType.InputTypeConvolutionalFlat) inputType;
                return InputType.convolutional(f.getHeight(), f.getWidth(), f.getDepth());
            }
            case CNN -> {
                InputType.InputTypeConvolutional c = (InputType.InputTypeConvolutional) inputType;
                return cnn2dFormatSet && c.getFormat() != cnn2dFormat
                        ? InputType.convolutional(c.getHeight(), c.getWidth(), c.getChannels(), cnn2dFormat) : inputType;
            }
            case CNN3D -> {
                InputType.InputTypeConvolutional3D c = (InputType.InputTypeConvolutional3D) inputType;
                return cnn3dFormatSet && c.getDataFormat() != cnn3dFormat ? InputType.convolutional3D(cnn3dFormat,
                        c.getDepth(), c.getHeight(), c.getWidth(), c.getChannels()) : inputType;
            }
            case RNN -> {
                InputType.InputTypeRecurrent r = (InputType.InputTypeRecurrent) inputType;
                return rnnFormatSet && r.getFormat() != rnnFormat
                        ? InputType.recurrent(r.getSize(), r.getTimeSeriesLength(), rnnFormat) : inputType;
            }
            default -> {
                return inputType;
            }
        }
    }

    private void check(InputType inputType, int layerIndex) {
        InputType.Type t = inputType.getType();
        if (t != InputType.Type.FF && t != InputType.Type.CNN && t != InputType.Type.CNNFlat && t != InputType.Type.RNN
                && t != InputType.Type.CNN3D) {
            throw new IllegalStateException(describe() + " (index " + layerIndex
                    + "): expected feed-forward, CNN, 3-D CNN or RNN input, got " + inputType);
        }
        String refusal = refusal(t);
        if (refusal != null) {
            throw new IllegalStateException(describe() + " (index " + layerIndex + "): " + refusal + ", got " + inputType);
        }
        checkFlat(inputType, layerIndex);
    }

    /** Flat CNN input is reshaped to NCHW by {@link #getPreProcessorForInputType}: another format set is an error. */
    private void checkFlat(InputType inputType, int layerIndex) {
        if (inputType.getType() == InputType.Type.CNNFlat && cnn2dFormatSet && cnn2dFormat != CNN2DFormat.NCHW) {
            throw new IllegalStateException(describe() + " (index " + layerIndex + "): flat CNN input is reshaped to NCHW"
                    + " [N, C, H, W] before this layer, but dataFormat(" + cnn2dFormat + ") is set on its builder; got "
                    + inputType);
        }
    }

    @Override
    public void setNIn(InputType inputType, boolean override) {
        check(inputType, -1);
        switch (inputType.getType()) {
            case FF -> setFeatures(((InputType.InputTypeFeedForward) inputType).getSize(), override);
            case CNN -> {
                InputType.InputTypeConvolutional c = (InputType.InputTypeConvolutional) inputType;
                setFeatures(c.getChannels(), override);
                if (!cnn2dFormatSet) cnn2dFormat = c.getFormat();
            }
            case CNN3D -> {
                InputType.InputTypeConvolutional3D c = (InputType.InputTypeConvolutional3D) inputType;
                setFeatures(c.getChannels(), override);
                if (!cnn3dFormatSet) {
                    cnn3dFormat = c.getDataFormat();
                    ndhwcInputType = cnn3dFormat == Convolution3D.DataFormat.NDHWC
                            ? new long[]{c.getDepth(), c.getHeight(), c.getWidth(), c.getChannels()} : null;
                }
            }
            case CNNFlat -> {
                setFeatures(((InputType.InputTypeConvolutionalFlat) inputType).getDepth(), override);
                if (!cnn2dFormatSet) cnn2dFormat = CNN2DFormat.NCHW; // what the preprocessor gives
            }
            case RNN -> {
                InputType.InputTypeRecurrent r = (InputType.InputTypeRecurrent) inputType;
                setFeatures(r.getSize(), override);
                if (!rnnFormatSet) rnnFormat = r.getFormat();
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
        checkFlat(inputType, -1);
        if (inputType.getType() == InputType.Type.CNNFlat) {
            InputType.InputTypeConvolutionalFlat i = (InputType.InputTypeConvolutionalFlat) inputType;
            return new FeedForwardToCnnPreProcessor(i.getHeight(), i.getWidth(), i.getDepth());
        }
        return null;
    }

    /** γ: the layer's own l1/l2/weight decay; β: its bias forms; state and network-wide settings: none. */
    @Override
    public List<Regularization> getRegularizationByParam(String paramName) {
        if (NormParamInitializer.GAMMA.equals(paramName)) return gammaRegularization;
        if (NormParamInitializer.BETA.equals(paramName)) return betaRegularization;
        return null;
    }

    @Override
    public IUpdater getUpdaterByParam(String paramName) {
        if (NormParamInitializer.isState(paramName)) return new NoOp();
        if (NormParamInitializer.BETA.equals(paramName) && biasUpdater != null) return biasUpdater;
        return iUpdater;
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
     * Builder of every normalization layer; the defaults of every option are defined here once. Options of layers
     * with running statistics are on {@link RunningStatsBuilder}.
     *
     * @param <T> the concrete builder
     */
    @SuppressWarnings("unchecked")
    public abstract static class Builder<T extends Builder<T>> extends FeedForwardLayer.Builder<T> {
        protected double eps = 1e-5;
        protected Statistic statistic = Statistic.variance();
        protected boolean center = true;
        protected boolean scale = true;
        protected boolean bias = true;
        protected double gammaInit = 1.0;
        protected double betaInit = 0.0;
        protected Double fixedGamma = null;
        protected Double fixedBeta = null;
        protected NoiseConfig noise = null;
        protected boolean noiseBeforeAffine = false;
        protected boolean runningStats = false;
        protected double decay = 0.9;
        protected boolean cumulative = false;
        protected boolean frozenStatistics = false;
        protected SmallBatch smallBatch = SmallBatch.RUNNING_STATS;
        protected int virtualBatchSize = 0;
        protected CNN2DFormat cnn2dFormat = CNN2DFormat.NCHW;
        protected RNNFormat rnnFormat = RNNFormat.NCW;
        protected Convolution3D.DataFormat cnn3dFormat = Convolution3D.DataFormat.NCDHW;
        protected boolean cnn2dFormatSet = false;
        protected boolean rnnFormatSet = false;
        protected boolean cnn3dFormatSet = false;
        protected List<LayerConstraint> gammaConstraints;
        protected List<LayerConstraint> betaConstraints;

        protected Builder() {
            activation(Activation.IDENTITY);
        }

        /** Stability constant ε > 0 (default 1e-5). */
        public T eps(double eps) {
            this.eps = eps;
            return (T) this;
        }

        /** The scale statistic (default {@link Statistic#variance()}). */
        public T statistic(Statistic statistic) {
            if (statistic == null) throw new IllegalArgumentException("statistic must not be null");
            this.statistic = statistic;
            return (T) this;
        }

        /** Subtract the mean (default true; false: x̂ = x/sqrt(v + ε), RMS norm). */
        public T center(boolean center) {
            this.center = center;
            return (T) this;
        }

        /** Multiply by a per-feature γ (default true). */
        public T scale(boolean scale) {
            this.scale = scale;
            return (T) this;
        }

        /** Add a per-feature β (default true). */
        public T bias(boolean bias) {
            this.bias = bias;
            return (T) this;
        }

        /** γ and β both (default true); false gives y = x̂. */
        public T affine(boolean affine) {
            this.scale = affine;
            this.bias = affine;
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

        /** Hold γ at this value: not a parameter, not trained (DL4J's {@code lockGammaBeta(true).gamma(g)}). */
        public T fixedGamma(double gamma) {
            this.fixedGamma = gamma;
            this.scale = true;
            return (T) this;
        }

        /** Hold β at this value: not a parameter, not trained (DL4J's {@code lockGammaBeta(true).beta(b)}). */
        public T fixedBeta(double beta) {
            this.fixedBeta = beta;
            this.bias = true;
            return (T) this;
        }

        /** Training noise of Santurkar et al. (default none); inference has none. */
        public T noise(NoiseConfig noise) {
            this.noise = noise;
            return (T) this;
        }

        /** Apply the noise to x̂, before γ and β (default false: after them). */
        public T noiseBeforeAffine(boolean before) {
            this.noiseBeforeAffine = before;
            return (T) this;
        }

        /** Constraints on γ, applied after each optimizer step (as DL4J's {@code constrainGamma}). */
        public T constrainGamma(LayerConstraint... constraints) {
            this.gammaConstraints = Arrays.asList(constraints);
            return (T) this;
        }

        /** Constraints on β, applied after each optimizer step (as DL4J's {@code constrainBeta}). */
        public T constrainBeta(LayerConstraint... constraints) {
            this.betaConstraints = Arrays.asList(constraints);
            return (T) this;
        }

        /**
         * Layout of 4-D input. Set here, it is always used (the input type's format does not replace it); not set, it
         * is taken from the network's input type, else NCHW.
         */
        public T dataFormat(CNN2DFormat format) {
            if (format == null) throw new IllegalArgumentException("dataFormat must not be null");
            this.cnn2dFormat = format;
            this.cnn2dFormatSet = true;
            return (T) this;
        }

        /**
         * Layout of 3-D input. Set here, it is always used (the input type's format does not replace it); not set, it
         * is taken from the network's input type, else NCW.
         */
        public T rnnDataFormat(RNNFormat format) {
            if (format == null) throw new IllegalArgumentException("rnnDataFormat must not be null");
            this.rnnFormat = format;
            this.rnnFormatSet = true;
            return (T) this;
        }

        /**
         * Layout of 5-D input. Set here, it is always used (the input type's format does not replace it); not set, it
         * is taken from the network's input type, else NCDHW. Set it to NCDHW after an NCDHW {@code Convolution3D} or
         * {@code Subsampling3DLayer} in {@code ConvolutionMode.Truncate} or {@code Strict}: DL4J 1.0.0-M2.1 reports
         * NDHWC as their output type.
         */
        public T dataFormat3d(Convolution3D.DataFormat format) {
            if (format == null) throw new IllegalArgumentException("dataFormat3d must not be null");
            this.cnn3dFormat = format;
            this.cnn3dFormatSet = true;
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

    /**
     * Builder of layers that may keep running statistics: their options.
     *
     * @param <T> the concrete builder
     */
    @SuppressWarnings("unchecked")
    public abstract static class RunningStatsBuilder<T extends RunningStatsBuilder<T>> extends Builder<T> {

        /**
         * Keep running statistics for inference (default: on for the batch-norm family, off for instance norm). Off:
         * batch statistics at inference too (PyTorch's {@code track_running_stats=False}).
         */
        public T runningStats(boolean on) {
            this.runningStats = on;
            return (T) this;
        }

        /** Weight of the old running statistics, in [0, 1) (default 0.9, i.e. PyTorch's momentum 0.1). */
        public T decay(double decay) {
            this.decay = decay;
            return (T) this;
        }

        /**
         * Running statistics as the cumulative average of every training batch's statistics (PyTorch's
         * {@code momentum=None}; default false). Counts steps in the {@code steps} state parameter.
         */
        public T cumulativeAverage(boolean on) {
            this.cumulative = on;
            return (T) this;
        }

        /**
         * Normalize with the running statistics during training too, never updating them, and back-propagate the
         * gradient of exactly that function, {@code dx = γ/sqrt(var + ε)·g} (fine-tuning; default false).
         */
        public T frozenStatistics(boolean frozen) {
            this.frozenStatistics = frozen;
            return (T) this;
        }

        /** What a training group with too few values does (default {@link SmallBatch#RUNNING_STATS}). */
        public T smallBatch(SmallBatch policy) {
            this.smallBatch = policy;
            return (T) this;
        }
    }
}
