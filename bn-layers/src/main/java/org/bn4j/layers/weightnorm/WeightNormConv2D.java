package org.bn4j.layers.weightnorm;

import org.bn4j.core.LinearOp;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.ToString;
import org.deeplearning4j.exception.DL4JInvalidConfigException;
import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.InputTypeUtil;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.shade.jackson.annotation.JsonIgnore;

import java.util.Arrays;

/**
 * A weight-normalized 2-D convolution layer, a drop-in for DL4J's {@code ConvolutionLayer}:
 * <pre>
 *   w[o] = g_o · v[o] / ‖v[o]‖,     y = activation(conv2d(x, w) + b)
 * </pre>
 * with v {@code [outC, inC, kH, kW]} (DL4J's weight layout), the norm of output channel o taken over
 * inC·kH·kW, and g, b {@code [outC]}. Input and output are NCHW {@code [N, C, H, W]} or NHWC {@code [N, H, W, C]}.
 * Gradients, with ∇w from the convolution's backward (ND4J's {@code conv2d_bp} op):
 * <pre>
 *   ∇g_o = (∇w[o] · v[o]) / ‖v[o]‖,    ∇v[o] = (g_o / ‖v[o]‖) (∇w[o] − (∇g_o / ‖v[o]‖) v[o])
 * </pre>
 *
 * <p>Options as DL4J's {@code ConvolutionLayer}: kernel size, stride, padding, dilation, convolution mode
 * ({@code Truncate}: explicit symmetric padding, out = floor((in + 2p − k_eff)/s) + 1; {@code Strict}: the same,
 * but the division must be exact; {@code Same}: out = ceil(in/s), padding computed, the odd pixel at the
 * bottom/right; padding ignored), data format, bias on/off, activation, weight init for v (fan in inC·kH·kW,
 * fan out outC·kH·kW/(sH·sW), as DL4J). nIn and the data format are taken from the input type. DL4J applies the
 * network-wide {@code convolutionMode(...)} of {@code NeuralNetConfiguration.Builder} only to its own
 * convolution classes: set the mode on this builder.
 *
 * <p>Defaults: kernel 5×5, stride 1, padding 0, dilation 1, {@code Truncate}, NCHW, bias on, g = ‖v‖ per unit,
 * no data-dependent initialization (see {@link AbstractWeightNormLayer}).
 */
@Getter
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class WeightNormConv2D extends AbstractWeightNormLayer {

    // scalars, not arrays: Lombok's equals/hashCode and the JSON stay plain and consistent
    protected int kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW;
    protected ConvolutionMode convolutionMode;
    protected CNN2DFormat dataFormat;

    protected WeightNormConv2D(Builder b) {
        super(b);
        int[] k = pair("kernelSize", b.kernelSize, 1), s = pair("stride", b.stride, 1),
                p = pair("padding", b.padding, 0), d = pair("dilation", b.dilation, 1);
        kernelH = k[0];
        kernelW = k[1];
        strideH = s[0];
        strideW = s[1];
        padH = p[0];
        padW = p[1];
        dilationH = d[0];
        dilationW = d[1];
        if (b.convolutionMode != ConvolutionMode.Truncate && b.convolutionMode != ConvolutionMode.Same
                && b.convolutionMode != ConvolutionMode.Strict) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": convolution mode must be Truncate, Strict or"
                    + " Same, got " + b.convolutionMode);
        }
        convolutionMode = b.convolutionMode;
        if (b.dataFormat == null) throw new IllegalArgumentException(getClass().getSimpleName() + ": data format is null");
        dataFormat = b.dataFormat;
        initConstraints(b);
    }

    /** For JSON: the builder's defaults. */
    public WeightNormConv2D() {
        this(new Builder());
    }

    private int[] pair(String what, int[] a, int min) {
        if (a == null || a.length < 1 || a.length > 2) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": " + what + " needs 1 or 2 values, got "
                    + Arrays.toString(a));
        }
        int[] r = a.length == 1 ? new int[]{a[0], a[0]} : a.clone();
        if (r[0] < min || r[1] < min) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": " + what + " must be >= " + min + ", got "
                    + Arrays.toString(a));
        }
        return r;
    }

    @JsonIgnore
    public int[] getKernelSize() {
        return new int[]{kernelH, kernelW};
    }

    @JsonIgnore
    public int[] getStride() {
        return new int[]{strideH, strideW};
    }

    @JsonIgnore
    public int[] getPadding() {
        return new int[]{padH, padW};
    }

    @JsonIgnore
    public int[] getDilation() {
        return new int[]{dilationH, dilationW};
    }

    /** The ND4J convolution config: weights OIYX ([outC, inC, kH, kW]), this layer's format and mode. */
    public Conv2DConfig conv2DConfig() {
        boolean same = convolutionMode == ConvolutionMode.Same;
        return Conv2DConfig.builder().kH(kernelH).kW(kernelW).sH(strideH).sW(strideW)
                .pH(same ? 0 : padH).pW(same ? 0 : padW).dH(dilationH).dW(dilationW)
                .paddingMode(same ? PaddingMode.SAME : PaddingMode.VALID)
                .dataFormat(dataFormat == CNN2DFormat.NHWC ? Conv2DConfig.NHWC : Conv2DConfig.NCHW)
                .weightsFormat(WeightsFormat.OIYX).build();
    }

    @Override
    public LinearOp linearOp() {
        return new LinearOp.Conv2D(conv2DConfig(), nIn, nOut);
    }

    @Override
    public double[] fans() {
        double area = (double) kernelH * kernelW;
        return new double[]{nIn * area, nOut * area / ((double) strideH * strideW)};
    }

    /**
     * Output size along one axis, or a message saying why there is none.
     *
     * @return {size} or throws with the reason
     */
    private long outSize(long in, int k, int s, int p, int d, String axis, java.util.function.Function<String, RuntimeException> error) {
        long ek = k + (long) (k - 1) * (d - 1);
        if (convolutionMode == ConvolutionMode.Same) return (in + s - 1) / s;
        long span = in + 2L * p - ek;
        if (span < 0) {
            throw error.apply("input " + axis + " " + in + " with padding " + p + " is smaller than the "
                    + (d > 1 ? "dilated " : "") + "kernel " + axis + " " + ek);
        }
        if (convolutionMode == ConvolutionMode.Strict && span % s != 0) {
            throw error.apply("ConvolutionMode.Strict: (input " + axis + " " + in + " + 2·padding " + p + " − kernel " + ek
                    + ") is not divisible by the stride " + s + " (use Truncate or Same)");
        }
        return span / s + 1;
    }

    @Override
    public long[] outputShape(INDArray input, String layerId) {
        long[] s = input.shape();
        boolean nchw = dataFormat == CNN2DFormat.NCHW;
        String kind = nchw ? "CNN NCHW [N, C, H, W]" : "CNN NHWC [N, H, W, C]";
        java.util.function.Function<String, RuntimeException> error = msg -> new DL4JInvalidInputException(describe() + " "
                + layerId + ": expected " + kind + " input with C = " + nIn + "; " + msg + "; got shape " + Arrays.toString(s));
        if (input.rank() != 4) throw error.apply("got rank " + input.rank());
        int cAxis = nchw ? 1 : 3;
        if (s[cAxis] != nIn) throw error.apply("got C = " + s[cAxis] + " on axis " + cAxis);
        long h = nchw ? s[2] : s[1], w = nchw ? s[3] : s[2];
        long oh = outSize(h, kernelH, strideH, padH, dilationH, "height", error);
        long ow = outSize(w, kernelW, strideW, padW, dilationW, "width", error);
        return nchw ? new long[]{s[0], nOut, oh, ow} : new long[]{s[0], oh, ow, nOut};
    }

    @Override
    public org.deeplearning4j.nn.api.Layer.Type runtimeType() {
        return org.deeplearning4j.nn.api.Layer.Type.CONVOLUTIONAL;
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        InputType.InputTypeConvolutional c = cnn(inputType, layerIndex);
        java.util.function.Function<String, RuntimeException> error = msg -> new DL4JInvalidConfigException(describe()
                + " (index " + layerIndex + "): " + msg + " for input type " + inputType);
        long oh = outSize(c.getHeight(), kernelH, strideH, padH, dilationH, "height", error);
        long ow = outSize(c.getWidth(), kernelW, strideW, padW, dilationW, "width", error);
        return InputType.convolutional(oh, ow, nOut, dataFormat);
    }

    @Override
    public void setNIn(InputType inputType, boolean override) {
        InputType.InputTypeConvolutional c = cnn(inputType, -1);
        if (nIn <= 0 || override) nIn = c.getChannels();
        dataFormat = c.getFormat();
    }

    private InputType.InputTypeConvolutional cnn(InputType inputType, int layerIndex) {
        if (inputType == null || inputType.getType() != InputType.Type.CNN) {
            throw new IllegalStateException(describe() + (layerIndex >= 0 ? " (index " + layerIndex + ")" : "")
                    + ": expected CNN input, got " + inputType);
        }
        return (InputType.InputTypeConvolutional) inputType;
    }

    @Override
    public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
        if (inputType == null) throw new IllegalStateException(describe() + ": input type is null");
        return InputTypeUtil.getPreProcessorForInputTypeCnnLayers(inputType, getLayerName());
    }

    /**
     * Builder, as DL4J's {@code ConvolutionLayer.Builder}:
     * {@code new WeightNormConv2D.Builder(3, 3).nOut(32).convolutionMode(ConvolutionMode.Same).build()}.
     */
    public static class Builder extends AbstractWeightNormLayer.Builder<Builder> {
        protected int[] kernelSize = {5, 5};
        protected int[] stride = {1, 1};
        protected int[] padding = {0, 0};
        protected int[] dilation = {1, 1};
        protected ConvolutionMode convolutionMode = ConvolutionMode.Truncate;
        protected CNN2DFormat dataFormat = CNN2DFormat.NCHW;

        public Builder() {
        }

        public Builder(int... kernelSize) {
            this.kernelSize = kernelSize;
        }

        public Builder(int[] kernelSize, int[] stride) {
            this.kernelSize = kernelSize;
            this.stride = stride;
        }

        public Builder(int[] kernelSize, int[] stride, int[] padding) {
            this.kernelSize = kernelSize;
            this.stride = stride;
            this.padding = padding;
        }

        /** Kernel height and width (default 5, 5; one value for both). */
        public Builder kernelSize(int... kernelSize) {
            this.kernelSize = kernelSize;
            return this;
        }

        /** Stride (default 1, 1). */
        public Builder stride(int... stride) {
            this.stride = stride;
            return this;
        }

        /** Symmetric zero padding for Truncate/Strict (default 0, 0; ignored in Same mode). */
        public Builder padding(int... padding) {
            this.padding = padding;
            return this;
        }

        /** Dilation (default 1, 1). */
        public Builder dilation(int... dilation) {
            this.dilation = dilation;
            return this;
        }

        /** Truncate (default), Strict or Same. */
        public Builder convolutionMode(ConvolutionMode mode) {
            this.convolutionMode = mode;
            return this;
        }

        /** NCHW (default) or NHWC; taken from the input type when the network has one. */
        public Builder dataFormat(CNN2DFormat format) {
            this.dataFormat = format;
            return this;
        }

        @Override
        @SuppressWarnings("unchecked")
        public WeightNormConv2D build() {
            return new WeightNormConv2D(this);
        }
    }
}
