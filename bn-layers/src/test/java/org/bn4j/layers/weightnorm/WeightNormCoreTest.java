package org.bn4j.layers.weightnorm;

import org.bn4j.core.LinearOp;
import org.bn4j.core.WeightNormCore;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.bn4j.reference.Ref;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.bn4j.core.WeightNormCore.*;
import static org.bn4j.layers.weightnorm.WnAsserts.assertClose;
import static org.bn4j.layers.weightnorm.WnAsserts.doubles;

/** The hand-written backward graph against SameDiff's automatic differentiation of an independently written forward. */
class WeightNormCoreTest {

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    record CoreCase(String name, LinearOp op, long[] xShape, long[] zShape, boolean bias) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<CoreCase> cases() {
        List<CoreCase> out = new ArrayList<>();
        out.add(new CoreCase("dense [5,3]→4", new LinearOp.Dense(3, 4), new long[]{5, 3}, new long[]{5, 4}, true));
        out.add(new CoreCase("dense, no bias", new LinearOp.Dense(3, 4), new long[]{5, 3}, new long[]{5, 4}, false));
        out.add(conv("conv 3x3 Truncate p1 NCHW", new WeightNormConv2D.Builder(3, 3).padding(1, 1), CNN2DFormat.NCHW, true));
        out.add(conv("conv 3x3 Same s2 NHWC", new WeightNormConv2D.Builder(3, 3).stride(2, 2)
                .convolutionMode(ConvolutionMode.Same), CNN2DFormat.NHWC, true));
        out.add(conv("conv 2x3 dilation (2,1) NCHW, no bias", new WeightNormConv2D.Builder(2, 3).dilation(2, 1),
                CNN2DFormat.NCHW, false));
        return out;
    }

    /**
     * nIn = 1 and a batch of 1: the norm and db reduce nothing (ND4J's reduce ops fail in SameDiff then, the core
     * uses a reshape). SameDiff's differentiation fails on such graphs too, so the reference here is {@link Ref}.
     */
    @Test
    void nothingReducedMatchesTheReference() {
        LinearOp op = new LinearOp.Dense(1, 4);
        Nd4j.getRandom().setSeed(12);
        Map<String, INDArray> in = new HashMap<>();
        in.put(X, Nd4j.randn(DataType.DOUBLE, 1, 1));
        in.put(V, Nd4j.randn(DataType.DOUBLE, 1, 4));
        in.put(G, Nd4j.rand(DataType.DOUBLE, 1, 4).addi(0.5));
        in.put(B, Nd4j.randn(DataType.DOUBLE, 1, 4));
        in.put(DZ, Nd4j.randn(DataType.DOUBLE, 1, 4));
        long[] xs = {1, 1}, zs = {1, 4};
        INDArray z = WeightNormCore.forward(op, xs, true, DataType.DOUBLE).run(in).get(Z);
        Map<String, INDArray> hand = WeightNormCore.backward(op, xs, zs, true, DataType.DOUBLE).run(in);
        double[] v = doubles(in.get(V)), g = doubles(in.get(G)), x = doubles(in.get(X));
        double[] w = Ref.weightNormW(v, new int[]{1, 4}, g);
        assertClose("z", Ref.dense(x, 1, 1, w, 4, doubles(in.get(B))), doubles(z), 1e-12);
        double[][] d = Ref.denseBackward(x, 1, 1, w, 4, doubles(in.get(DZ)));
        double[][] gv = Ref.weightNormGrads(v, new int[]{1, 4}, g, d[1]);
        assertClose("dx", d[0], doubles(hand.get(DX)), 1e-12);
        assertClose("db", d[2], doubles(hand.get(DB)), 1e-12);
        assertClose("dg", gv[0], doubles(hand.get(DG)), 1e-12);
        assertClose("dv", gv[1], doubles(hand.get(DV)), 1e-12);
        Map<String, INDArray> stats = WeightNormCore.initStatistics(op, xs, zs, DataType.DOUBLE).run(in);
        assertClose("t mean", new double[]{x[0] * Math.signum(v[0]), x[0] * Math.signum(v[1]), x[0] * Math.signum(v[2]),
                x[0] * Math.signum(v[3])}, doubles(stats.get(T_MEAN)), 1e-12);
        assertClose("t var", new double[4], doubles(stats.get(T_VAR)), 0);
    }

    /**
     * SameDiff's own gradient of the pseudo-loss sum(z ⊙ dz), from a forward graph written here independently:
     * the norm by {@code norm2}, and the convolution with ND4J's default weight layout [kH, kW, inC, outC] (a
     * permute of v's), because SameDiff's differentiation re-creates the conv op from properties that do not
     * include the weights format.
     */
    private static Map<String, INDArray> autodiff(CoreCase c, Map<String, INDArray> in, INDArray dz) {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.var(X, in.get(X).dup()), v = sd.var(V, in.get(V).dup()), g = sd.var(G, in.get(G).dup());
        SDVariable w = v.mul(g).div(sd.norm2(v, true, c.op().normAxes()));
        SDVariable z;
        if (c.op() instanceof LinearOp.Dense) {
            z = sd.mmul(x, w);
        } else {
            Conv2DConfig oiyx = ((LinearOp.Conv2D) c.op()).config();
            Conv2DConfig yxio = Conv2DConfig.builder().kH(oiyx.getKH()).kW(oiyx.getKW()).sH(oiyx.getSH()).sW(oiyx.getSW())
                    .pH(oiyx.getPH()).pW(oiyx.getPW()).dH(oiyx.getDH()).dW(oiyx.getDW()).paddingMode(oiyx.getPaddingMode())
                    .dataFormat(oiyx.getDataFormat()).weightsFormat(WeightsFormat.YXIO).build();
            z = sd.cnn.conv2d(x, w.permute(2, 3, 1, 0), yxio);
        }
        List<String> wrt = new ArrayList<>(List.of(X, V, G));
        if (c.bias()) {
            z = z.add(sd.var(B, in.get(B).dup()));
            wrt.add(B);
        }
        z.mul(sd.constant("dzLoss", dz)).sum().markAsLoss();
        return sd.calculateGradients(new HashMap<>(), wrt);
    }

    private static CoreCase conv(String name, WeightNormConv2D.Builder b, CNN2DFormat f, boolean bias) {
        WeightNormConv2D c = b.dataFormat(f).nIn(3).nOut(4).hasBias(bias).build();
        long[] x = f == CNN2DFormat.NCHW ? new long[]{2, 3, 6, 5} : new long[]{2, 6, 5, 3};
        return new CoreCase(name, c.linearOp(), x, c.outputShape(Nd4j.create(DataType.DOUBLE, x), "core test"), bias);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void handWrittenBackwardEqualsAutodiff(CoreCase c) {
        Nd4j.getRandom().setSeed(10);
        Map<String, INDArray> in = new HashMap<>();
        in.put(X, Nd4j.randn(DataType.DOUBLE, c.xShape()));
        in.put(V, Nd4j.randn(DataType.DOUBLE, c.op().vShape()));
        in.put(G, Nd4j.rand(DataType.DOUBLE, c.op().unitShape()).addi(0.5));
        if (c.bias()) in.put(B, Nd4j.randn(DataType.DOUBLE, c.op().biasShape()));
        INDArray dz = Nd4j.randn(DataType.DOUBLE, c.zShape());

        Map<String, INDArray> bin = new HashMap<>(in);
        bin.put(DZ, dz);
        Map<String, INDArray> hand = WeightNormCore.backward(c.op(), c.xShape(), c.zShape(), c.bias(), DataType.DOUBLE).run(bin);

        Map<String, INDArray> auto = autodiff(c, in, dz);
        assertClose(c.name() + " dx", doubles(auto.get(X)), doubles(hand.get(DX)), 1e-10);
        assertClose(c.name() + " dv", doubles(auto.get(V)), doubles(hand.get(DV)), 1e-10);
        assertClose(c.name() + " dg", doubles(auto.get(G)), doubles(hand.get(DG)), 1e-10);
        if (c.bias()) assertClose(c.name() + " db", doubles(auto.get(B)), doubles(hand.get(DB)), 1e-10);
    }
}
