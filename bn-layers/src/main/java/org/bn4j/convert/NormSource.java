package org.bn4j.convert;

import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.BatchNorm;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;

import java.util.Optional;
import java.util.OptionalDouble;

/**
 * The normalization layer being replaced, as a {@link NormFactory} sees it: its name, its configuration and the
 * options a replacement carries over. Read-only: {@link #layer()} is a copy.
 */
public final class NormSource {
    private final String name;
    private final Layer layer;
    private final InputType inputType;

    NormSource(String name, Layer layer, InputType inputType) {
        this.name = name;
        this.layer = layer.clone();
        this.inputType = inputType;
    }

    /** The layer name in a MultiLayerNetwork (null if it has none), the vertex name in a ComputationGraph. */
    public String name() {
        return name;
    }

    /** A copy of the old layer's configuration: DL4J's {@code BatchNormalization} or a bn4j layer. */
    public Layer layer() {
        return layer.clone();
    }

    /** Number of features (channels). */
    public long features() {
        return ((FeedForwardLayer) layer).getNOut();
    }

    /** ε added to the variance. */
    public double eps() {
        return layer instanceof BatchNormalization b ? b.getEps() : ((AbstractNormLayer) layer).getEps();
    }

    /** Running-statistics decay (weight of the old value), for layers with running statistics. */
    public OptionalDouble decay() {
        if (layer instanceof BatchNormalization b) return OptionalDouble.of(b.getDecay());
        return ((AbstractNormLayer) layer).hasRunningStats()
                ? OptionalDouble.of(((AbstractNormLayer) layer).getDecay()) : OptionalDouble.empty();
    }

    /** Layout of 4-D input. */
    public CNN2DFormat cnn2dFormat() {
        return layer instanceof BatchNormalization b ? b.getCnn2DFormat() : ((AbstractNormLayer) layer).getCnn2dFormat();
    }

    /** Layout of 3-D input (DL4J's layer has none: NCW). */
    public RNNFormat rnnFormat() {
        return layer instanceof AbstractNormLayer n ? n.getRnnFormat() : RNNFormat.NCW;
    }

    /**
     * The γ the layer holds fixed, or empty if γ is a trained parameter: DL4J's {@code lockGammaBeta(true)} (with the
     * values its forward pass really uses: {@code g x̂ + b} only when g ≠ 1 and b ≠ 0, else {@code x̂}), bn4j's
     * {@code fixedGamma}, or 1 for a bn4j layer without γ.
     */
    public OptionalDouble fixedGamma() {
        Double g = FixedAffine.of(layer).gamma();
        return g == null ? OptionalDouble.empty() : OptionalDouble.of(g);
    }

    /** The β the layer holds fixed, or empty if β is a trained parameter (0 for a bn4j layer without β). */
    public OptionalDouble fixedBeta() {
        Double b = FixedAffine.of(layer).beta();
        return b == null ? OptionalDouble.empty() : OptionalDouble.of(b);
    }

    /** Initial γ and β of the layer's configuration (used when a configuration without parameters is converted). */
    public double[] initialGammaBeta() {
        if (layer instanceof BatchNormalization b) return new double[]{b.getGamma(), b.getBeta()};
        AbstractNormLayer n = (AbstractNormLayer) layer;
        return new double[]{n.getGammaInit(), n.getBetaInit()};
    }

    /** The old layer's input type, if the network's input types were given to the converter. */
    public Optional<InputType> inputType() {
        return Optional.ofNullable(inputType);
    }

    /**
     * Sets on a bn4j builder what carries over: name, features, ε, decay (on batch-norm-family builders, when the old
     * layer has running statistics), data formats, fixed γ/β ({@code affine(false)} for γ = 1, β = 0) and the initial
     * γ and β. Everything else keeps the builder's value; layer settings the builder leaves unset (updater, dropout,
     * gradient normalization, constraints) are taken from the old layer by the converter.
     *
     * @return the same builder
     * @throws UnsupportedOperationException for DL4J's locked γ/β with values other than γ = 1, β = 0
     */
    public <B extends AbstractNormLayer.Builder<?>> B applyTo(B builder) {
        builder.name(name);
        builder.nIn(features());
        builder.eps(eps());
        if (builder instanceof BatchNorm.BaseBuilder<?> bb) decay().ifPresent(bb::decay);
        // a format the old layer had set on its builder stays set; one it took from its input type (or DL4J's layer's
        // RNN default) is left to the input type when the converter knows it
        AbstractNormLayer n = layer instanceof AbstractNormLayer a ? a : null;
        if (inputType == null || n != null && n.isCnn2dFormatSet()) builder.dataFormat(cnn2dFormat());
        if (n != null && (inputType == null || n.isRnnFormatSet())) builder.rnnDataFormat(n.getRnnFormat());
        if (n != null && (inputType == null || n.isCnn3dFormatSet())) builder.dataFormat3d(n.getCnn3dFormat());
        double[] init = initialGammaBeta();
        builder.gammaInit(init[0]);
        builder.betaInit(init[1]);
        FixedAffine.of(layer).applyTo(builder);
        return builder;
    }

    /** "BatchNormalization 'bn1'", for messages. */
    String describe() {
        return layer.getClass().getSimpleName() + " '" + name + "'";
    }
}
