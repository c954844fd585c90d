package org.bn4j.check;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Convolution3D;

import java.util.stream.IntStream;

/** The kinds of input a DL4J layer takes, with their shapes and axes. */
public enum InputKind {
    /** Feed-forward {@code [N, C]}. */
    FF,
    /** Convolutional {@code [N, C, H, W]}. */
    CNN_NCHW,
    /** Convolutional {@code [N, H, W, C]}. */
    CNN_NHWC,
    /** 3-D convolutional {@code [N, C, D, H, W]}. */
    CNN3D_NCDHW,
    /** 3-D convolutional {@code [N, D, H, W, C]}. */
    CNN3D_NDHWC,
    /** Recurrent {@code [N, C, T]}. */
    RNN_NCW,
    /** Recurrent {@code [N, T, C]}. */
    RNN_NWC;

    public boolean isRnn() {
        return this == RNN_NCW || this == RNN_NWC;
    }

    public boolean isCnn() {
        return this == CNN_NCHW || this == CNN_NHWC;
    }

    public boolean isCnn3d() {
        return this == CNN3D_NCDHW || this == CNN3D_NDHWC;
    }

    /** True if the channels come first after the batch axis. */
    public boolean channelsFirst() {
        return this == CNN_NCHW || this == CNN3D_NCDHW || this == RNN_NCW || this == FF;
    }

    /** Input shape for n samples, c channels and side s (H = W = D = s, or T = s steps). */
    public long[] shape(long n, long c, long s) {
        return switch (this) {
            case FF -> new long[]{n, c};
            case CNN_NCHW -> new long[]{n, c, s, s};
            case CNN_NHWC -> new long[]{n, s, s, c};
            case CNN3D_NCDHW -> new long[]{n, c, s, s, s};
            case CNN3D_NDHWC -> new long[]{n, s, s, s, c};
            case RNN_NCW -> new long[]{n, c, s};
            case RNN_NWC -> new long[]{n, s, c};
        };
    }

    /** DL4J's input type for c channels and side s. */
    public InputType inputType(long c, long s) {
        return switch (this) {
            case FF -> InputType.feedForward(c);
            case CNN_NCHW -> InputType.convolutional(s, s, c, CNN2DFormat.NCHW);
            case CNN_NHWC -> InputType.convolutional(s, s, c, CNN2DFormat.NHWC);
            case CNN3D_NCDHW -> InputType.convolutional3D(Convolution3D.DataFormat.NCDHW, s, s, s, c);
            case CNN3D_NDHWC -> InputType.convolutional3D(Convolution3D.DataFormat.NDHWC, s, s, s, c);
            case RNN_NCW -> InputType.recurrent(c, s, RNNFormat.NCW);
            case RNN_NWC -> InputType.recurrent(c, s, RNNFormat.NWC);
        };
    }

    /** The channel axis of the input. */
    public int channelAxis() {
        return channelsFirst() ? 1 : rank() - 1;
    }

    /** The time axis of RNN input. */
    public int timeAxis() {
        if (!isRnn()) throw new IllegalStateException(this + " has no time axis");
        return this == RNN_NCW ? 2 : 1;
    }

    public int rank() {
        return shape(1, 1, 1).length;
    }

    /** Every axis but the channel axis. */
    public int[] allButChannel() {
        return IntStream.range(0, rank()).filter(i -> i != channelAxis()).toArray();
    }

    public RNNFormat rnnFormat() {
        return this == RNN_NWC ? RNNFormat.NWC : RNNFormat.NCW;
    }

    public CNN2DFormat cnnFormat() {
        return this == CNN_NHWC ? CNN2DFormat.NHWC : CNN2DFormat.NCHW;
    }

    public Convolution3D.DataFormat cnn3dFormat() {
        return this == CNN3D_NDHWC ? Convolution3D.DataFormat.NDHWC : Convolution3D.DataFormat.NCDHW;
    }
}
