package org.bn4j.layers.weightnorm;

import org.bn4j.reference.Ref;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.nd4j.linalg.activations.Activation;

/**
 * The whole weight-normalized layer in plain doubles, from {@link Ref}'s pieces: w = g·v/‖v‖, the dense or
 * convolution map (dilation by a zero-inserted kernel), the activation, and the backward pass.
 */
public final class WnRef {
    private WnRef() {
    }

    /** Forward and backward results: y, z, and the gradients of x, v, g, b. */
    public record Result(double[] z, double[] y, double[] dx, double[] dv, double[] dg, double[] db) {
    }

    /** The reference as the kit (bn-check) takes it, for a layer with this activation (identity or tanh). */
    public static org.bn4j.check.Reference reference(Activation act) {
        return in -> {
            AbstractWeightNormLayer conf = (AbstractWeightNormLayer) in.layer().conf().getLayer();
            int[] xs = toInt(in.shape());
            Result r = run(conf, act, in.x(), xs, in.params().get("v"), in.params().get("g"), in.params().get("b"), in.dy());
            java.util.Map<String, double[]> grads = new java.util.LinkedHashMap<>();
            if (in.training()) {
                grads.put("v", r.dv());
                grads.put("g", r.dg());
                if (r.db() != null) grads.put("b", r.db());
            }
            return new org.bn4j.check.Reference.Expected(r.y(), r.dx(), in.training() ? grads : null);
        };
    }

    /**
     * @param x  the input, in the layer's data format
     * @param xs the input shape
     * @param v  v in DL4J's layout ([nIn, nOut] or [outC, inC, kH, kW]), row-major
     * @param b  the bias, or null
     * @param dy the upstream gradient (null: forward only)
     */
    public static Result run(AbstractWeightNormLayer conf, Activation act, double[] x, int[] xs, double[] v, double[] g,
                      double[] b, double[] dy) {
        int[] vs = toInt(conf.vShape());
        double[] w = Ref.weightNormW(v, vs, g);
        double[] z, dx = null, dW = null, db = null;
        if (conf instanceof WeightNormDense) {
            int n = xs[0], nIn = vs[0], nOut = vs[1];
            z = Ref.dense(x, n, nIn, w, nOut, b);
            if (dy != null) {
                double[][] r = Ref.denseBackward(x, n, nIn, w, nOut, dz(act, z, dy));
                dx = r[0];
                dW = r[1];
                db = r[2];
            }
        } else {
            WeightNormConv2D c = (WeightNormConv2D) conf;
            boolean nchw = c.getDataFormat() == CNN2DFormat.NCHW;
            boolean same = c.getConvolutionMode() == ConvolutionMode.Same;
            int[] dil = c.getDilation();
            int[] ds = {vs[0], vs[1], (vs[2] - 1) * dil[0] + 1, (vs[3] - 1) * dil[1] + 1};
            double[] wd = dilate(w, vs, ds, dil);
            z = Ref.conv2d(x, xs, nchw, wd, ds, b, c.getStride(), c.getPadding(), same);
            if (dy != null) {
                double[][] r = Ref.conv2dBackward(x, xs, nchw, wd, ds, c.getStride(), c.getPadding(), same, dz(act, z, dy));
                dx = r[0];
                dW = undilate(r[1], vs, ds, dil);
                db = r[2];
            }
        }
        double[] y = activate(act, z);
        if (dy == null) return new Result(z, y, null, null, null, null);
        double[][] gv = Ref.weightNormGrads(v, vs, g, dW);
        return new Result(z, y, dx, gv[1], gv[0], b == null ? null : db);
    }

    static double[] activate(Activation act, double[] z) {
        double[] y = new double[z.length];
        for (int i = 0; i < z.length; i++) y[i] = act == Activation.TANH ? Math.tanh(z[i]) : check(act, z[i]);
        return y;
    }

    private static double check(Activation act, double z) {
        if (act != Activation.IDENTITY) throw new IllegalArgumentException("reference knows IDENTITY and TANH, not " + act);
        return z;
    }

    private static double[] dz(Activation act, double[] z, double[] dy) {
        double[] d = new double[z.length];
        for (int i = 0; i < z.length; i++) {
            double t = act == Activation.TANH ? Math.tanh(z[i]) : 0;
            d[i] = act == Activation.TANH ? dy[i] * (1 - t * t) : check(act, dy[i]);
        }
        return d;
    }

    /** The kernel with (d − 1) zeros between taps: a dilated convolution is a plain one with this kernel. */
    private static double[] dilate(double[] w, int[] s, int[] ds, int[] d) {
        double[] out = new double[ds[0] * ds[1] * ds[2] * ds[3]];
        for (int o = 0; o < s[0]; o++)
            for (int c = 0; c < s[1]; c++)
                for (int a = 0; a < s[2]; a++)
                    for (int e = 0; e < s[3]; e++)
                        out[((o * ds[1] + c) * ds[2] + a * d[0]) * ds[3] + e * d[1]] = w[((o * s[1] + c) * s[2] + a) * s[3] + e];
        return out;
    }

    private static double[] undilate(double[] wd, int[] s, int[] ds, int[] d) {
        double[] out = new double[s[0] * s[1] * s[2] * s[3]];
        for (int o = 0; o < s[0]; o++)
            for (int c = 0; c < s[1]; c++)
                for (int a = 0; a < s[2]; a++)
                    for (int e = 0; e < s[3]; e++)
                        out[((o * s[1] + c) * s[2] + a) * s[3] + e] = wd[((o * ds[1] + c) * ds[2] + a * d[0]) * ds[3] + e * d[1]];
        return out;
    }

    static int[] toInt(long[] s) {
        int[] r = new int[s.length];
        for (int i = 0; i < s.length; i++) r[i] = (int) s[i];
        return r;
    }
}
