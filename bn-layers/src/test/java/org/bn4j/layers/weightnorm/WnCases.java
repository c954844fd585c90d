package org.bn4j.layers.weightnorm;

import org.bn4j.check.InputKind;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.nd4j.linalg.activations.Activation;

import java.util.List;
import java.util.stream.Collectors;

import static org.deeplearning4j.nn.conf.ConvolutionMode.*;

/** The registry of named weight-norm cases that drives the layer tests. */
public final class WnCases {
    /** Output units of every case. */
    public static final int OUT = 4;

    private WnCases() {
    }

    public static List<WnCase> all() {
        return List.of(
                dense("Dense/FF", false, true, Activation.TANH),
                dense("Dense(noBias)/FF", false, false, Activation.IDENTITY),
                dense("Dense(dataInit)/FF", true, true, Activation.TANH),
                dense("Dense(dataInit,noBias)/FF", true, false, Activation.IDENTITY),
                conv("Conv 3x3 Truncate p1/NCHW", InputKind.CNN_NCHW, new int[]{3, 3}, new int[]{1, 1}, new int[]{1, 1},
                        new int[]{1, 1}, Truncate, true, false, Activation.TANH, 0),
                conv("Conv 3x3 Truncate p1/NHWC", InputKind.CNN_NHWC, new int[]{3, 3}, new int[]{1, 1}, new int[]{1, 1},
                        new int[]{1, 1}, Truncate, true, false, Activation.TANH, 0),
                conv("Conv 2x3 Truncate s(2,1) p(1,0)/NCHW", InputKind.CNN_NCHW, new int[]{2, 3}, new int[]{2, 1},
                        new int[]{1, 0}, new int[]{1, 1}, Truncate, true, false, Activation.IDENTITY, 2),
                conv("Conv 3x3 Same s2/NHWC", InputKind.CNN_NHWC, new int[]{3, 3}, new int[]{2, 2}, new int[]{0, 0},
                        new int[]{1, 1}, Same, true, false, Activation.TANH, 0),
                conv("Conv 3x3 Same noBias/NCHW", InputKind.CNN_NCHW, new int[]{3, 3}, new int[]{1, 1}, new int[]{0, 0},
                        new int[]{1, 1}, Same, false, false, Activation.IDENTITY, 0),
                conv("Conv 2x2 dilation 2 Truncate/NCHW", InputKind.CNN_NCHW, new int[]{2, 2}, new int[]{1, 1},
                        new int[]{0, 0}, new int[]{2, 2}, Truncate, true, false, Activation.TANH, 2),
                conv("Conv 3x3 Strict s2/NHWC", InputKind.CNN_NHWC, new int[]{3, 3}, new int[]{2, 2}, new int[]{0, 0},
                        new int[]{1, 1}, Strict, true, false, Activation.IDENTITY, 6),
                conv("Conv 3x3 Same s1 dataInit/NHWC", InputKind.CNN_NHWC, new int[]{3, 3}, new int[]{1, 1},
                        new int[]{0, 0}, new int[]{1, 1}, Same, true, true, Activation.TANH, 0),
                conv("Conv 3x3 Truncate p1 dataInit/NCHW", InputKind.CNN_NCHW, new int[]{3, 3}, new int[]{1, 1},
                        new int[]{1, 1}, new int[]{1, 1}, Truncate, true, true, Activation.IDENTITY, 0));
    }

    public static List<WnCase> dataInitCases() {
        return all().stream().filter(WnCase::dataInit).collect(Collectors.toList());
    }

    public static List<WnCase> plainInitCases() {
        return all().stream().filter(c -> !c.dataInit()).collect(Collectors.toList());
    }

    private static WnCase dense(String name, boolean dataInit, boolean bias, Activation act) {
        return new WnCase(name, () -> new WeightNormDense.Builder().nOut(OUT).hasBias(bias).dataInit(dataInit)
                .activation(act).build(), InputKind.FF, act, 0);
    }

    private static WnCase conv(String name, InputKind kind, int[] k, int[] s, int[] p, int[] d, ConvolutionMode mode,
                               boolean bias, boolean dataInit, Activation act, int badSpatial) {
        CNN2DFormat f = kind == InputKind.CNN_NHWC ? CNN2DFormat.NHWC : CNN2DFormat.NCHW;
        return new WnCase(name, () -> new WeightNormConv2D.Builder(k).stride(s).padding(p).dilation(d)
                .convolutionMode(mode).dataFormat(f).nOut(OUT).hasBias(bias).dataInit(dataInit).activation(act).build(),
                kind, act, badSpatial);
    }
}
