package org.bn4j.core;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2DDerivative;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The linear map z = op(x, w) of a weight-normalized layer, as SameDiff ops, with what the core needs to
 * normalize its weight per output unit and to reduce over its output. Two implementations: {@link Dense} and
 * {@link Conv2D}; the core ({@link WeightNormCore}) never branches on which.
 */
public sealed interface LinearOp permits LinearOp.Dense, LinearOp.Conv2D {

    /** Number of output units. */
    long nOut();

    /** Shape of v (and w). */
    long[] vShape();

    /** Axes of v summed in ‖v‖ (all but the output-unit axis). */
    int[] normAxes();

    /** Shape of g and ‖v‖ broadcast against v: 1 everywhere but the output-unit axis. */
    long[] unitShape();

    /** Shape of b broadcast against z: 1 everywhere but the output-unit axis of z. */
    long[] biasShape();

    /** Axes of z reduced for db and for the data-dependent initialization statistics (all but the unit axis). */
    int[] outputReduceAxes();

    /** z = op(x, w), without bias. */
    SDVariable forward(SameDiff sd, SDVariable x, SDVariable w);

    /** {∂L/∂x, ∂L/∂w} of {@link #forward} from ∂L/∂z. */
    SDVariable[] backward(SameDiff sd, SDVariable x, SDVariable w, SDVariable dz);

    /**
     * Dense: {@code z = x w}, x [N, nIn], w [nIn, nOut] (DL4J's layout); unit j is the column w[:, j].
     * Backward: {@code dx = dz wᵀ}, {@code dW = xᵀ dz} (matrix products with transposed operands).
     */
    record Dense(long nIn, long nOut) implements LinearOp {
        @Override
        public long[] vShape() {
            return new long[]{nIn, nOut};
        }

        @Override
        public int[] normAxes() {
            return new int[]{0};
        }

        @Override
        public long[] unitShape() {
            return new long[]{1, nOut};
        }

        @Override
        public long[] biasShape() {
            return new long[]{1, nOut};
        }

        @Override
        public int[] outputReduceAxes() {
            return new int[]{0};
        }

        @Override
        public SDVariable forward(SameDiff sd, SDVariable x, SDVariable w) {
            return sd.mmul(x, w);
        }

        @Override
        public SDVariable[] backward(SameDiff sd, SDVariable x, SDVariable w, SDVariable dz) {
            return new SDVariable[]{sd.mmul(dz, w, false, true, false), sd.mmul(x, dz, true, false, false)};
        }
    }

    /**
     * 2-D convolution (cross-correlation, as DL4J), w [outC, inC, kH, kW] (DL4J's layout, ND4J's
     * {@code OIYX}); unit o is w[o, :, :, :]. Backward: ND4J's {@code conv2d_bp} op.
     *
     * @param config the ND4J convolution config (kernel, stride, padding, dilation, padding mode, data format,
     *               weights format OIYX)
     * @param nIn    input channels
     * @param nOut   output channels
     */
    record Conv2D(Conv2DConfig config, long nIn, long nOut) implements LinearOp {
        @Override
        public long[] vShape() {
            return new long[]{nOut, nIn, config.getKH(), config.getKW()};
        }

        @Override
        public int[] normAxes() {
            return new int[]{1, 2, 3};
        }

        @Override
        public long[] unitShape() {
            return new long[]{nOut, 1, 1, 1};
        }

        @Override
        public long[] biasShape() {
            return config.isNHWC() ? new long[]{1, 1, 1, nOut} : new long[]{1, nOut, 1, 1};
        }

        @Override
        public int[] outputReduceAxes() {
            return config.isNHWC() ? new int[]{0, 1, 2} : new int[]{0, 2, 3};
        }

        @Override
        public SDVariable forward(SameDiff sd, SDVariable x, SDVariable w) {
            return sd.cnn.conv2d(x, dilated(sd, w), undilatedConfig());
        }

        @Override
        public SDVariable[] backward(SameDiff sd, SDVariable x, SDVariable w, SDVariable dz) {
            SDVariable[] r = new Conv2DDerivative(sd, new SDVariable[]{x, dilated(sd, w), dz}, undilatedConfig()).outputVariables();
            return new SDVariable[]{r[0], undilate(sd, r[1])};
        }

        private boolean isDilated() {
            return config.getDH() > 1 || config.getDW() > 1;
        }

        /**
         * A dilated convolution runs as the undilated convolution of the dilated kernel (zeros between the taps): the
         * oneDNN builds of ND4J 1.0.0-M2.1 refuse some dilated float32 convolutions ("could not create a descriptor for
         * a dilated convolution forward propagation primitive"), and this form computes the same sums.
         */
        private Conv2DConfig undilatedConfig() {
            if (!isDilated()) return config;
            return Conv2DConfig.builder().kH((config.getKH() - 1) * config.getDH() + 1).kW((config.getKW() - 1) * config.getDW() + 1)
                    .sH(config.getSH()).sW(config.getSW()).pH(config.getPH()).pW(config.getPW()).dH(1).dW(1)
                    .paddingMode(config.getPaddingMode()).dataFormat(config.getDataFormat()).weightsFormat(config.getWeightsFormat())
                    .build();
        }

        /** w with dH − 1 zero rows between its rows and dW − 1 zero columns between its columns. */
        private SDVariable dilated(SameDiff sd, SDVariable w) {
            if (!isDilated()) return w;
            long kH = config.getKH(), kW = config.getKW(), dH = config.getDH(), dW = config.getDW();
            SDVariable r = w;
            if (dH > 1) {
                SDVariable z = sd.constant(Nd4j.zeros(w.dataType(), nOut, nIn, kH, dH - 1, kW));
                r = sd.concat(3, r.reshape(nOut, nIn, kH, 1, kW), z).reshape(nOut, nIn, kH * dH, kW);
                r = sd.slice(r, new int[]{0, 0, 0, 0}, (int) nOut, (int) nIn, (int) ((kH - 1) * dH + 1), (int) kW);
            }
            long h = (kH - 1) * dH + 1;
            if (dW > 1) {
                SDVariable z = sd.constant(Nd4j.zeros(w.dataType(), nOut, nIn, h, kW, dW - 1));
                r = sd.concat(4, r.reshape(nOut, nIn, h, kW, 1), z).reshape(nOut, nIn, h, kW * dW);
                r = sd.slice(r, new int[]{0, 0, 0, 0}, (int) nOut, (int) nIn, (int) h, (int) ((kW - 1) * dW + 1));
            }
            return r;
        }

        /** The taps of a dilated kernel's gradient: every dH-th row and dW-th column. */
        private SDVariable undilate(SameDiff sd, SDVariable dw) {
            if (!isDilated()) return dw;
            long h = (config.getKH() - 1) * config.getDH() + 1, w = (config.getKW() - 1) * config.getDW() + 1;
            return sd.stridedSlice(dw, new long[]{0, 0, 0, 0}, new long[]{nOut, nIn, h, w},
                    new long[]{1, 1, config.getDH(), config.getDW()});
        }
    }
}
