package org.bn4j.layers;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;

import java.util.stream.IntStream;

/** The input kinds every normalization layer is tested on, with their shapes and axes. */
public enum Kind {
    FF, CNN_NCHW, CNN_NHWC, RNN_NCW, RNN_NWC;

    public boolean isRnn() {
        return this == RNN_NCW || this == RNN_NWC;
    }

    public boolean isCnn() {
        return this == CNN_NCHW || this == CNN_NHWC;
    }

    /** Input shape for n samples, c features, spatial size s (H = W = s) or s time steps. */
    public long[] shape(long n, long c, long s) {
        return switch (this) {
            case FF -> new long[]{n, c};
            case CNN_NCHW -> new long[]{n, c, s, s};
            case CNN_NHWC -> new long[]{n, s, s, c};
            case RNN_NCW -> new long[]{n, c, s};
            case RNN_NWC -> new long[]{n, s, c};
        };
    }

    public InputType inputType(long c, long s) {
        return switch (this) {
            case FF -> InputType.feedForward(c);
            case CNN_NCHW -> InputType.convolutional(s, s, c, CNN2DFormat.NCHW);
            case CNN_NHWC -> InputType.convolutional(s, s, c, CNN2DFormat.NHWC);
            case RNN_NCW -> InputType.recurrent(c, s, RNNFormat.NCW);
            case RNN_NWC -> InputType.recurrent(c, s, RNNFormat.NWC);
        };
    }

    public int channelAxis() {
        return switch (this) {
            case FF, CNN_NCHW, RNN_NCW -> 1;
            case RNN_NWC -> 2;
            case CNN_NHWC -> 3;
        };
    }

    public int timeAxis() {
        return this == RNN_NCW ? 2 : 1;
    }

    public int rank() {
        return shape(1, 1, 1).length;
    }

    /** Every axis but the channel axis (the batch-norm reduction). */
    public int[] allButChannel() {
        return IntStream.range(0, rank()).filter(i -> i != channelAxis()).toArray();
    }
}
