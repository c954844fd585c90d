package org.bn4j.core;

import org.bn4j.exec.CompiledGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The hand-written backward graph against SameDiff's automatic differentiation of the forward graph. */
class NormCoreTest {

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    record CoreCase(String name, NormSpec spec, Layout layout) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** A spec in the terms of the first release: statistic, γ and β together, ε, noise; always centred. */
    static NormSpec spec(Statistic statistic, boolean affine, double eps, NormSpec.Noise noise) {
        return new NormSpec(statistic, statistic != null, affine, affine, eps, noise, false, false);
    }

    static List<CoreCase> cases() {
        List<CoreCase> out = new ArrayList<>();
        NormSpec bn = NormCoreTest.spec(Statistic.variance(), true, 1e-5, NormSpec.Noise.NONE);
        out.add(new CoreCase("batch norm [N,C]", bn, Layout.of(new long[]{7, 4}, new int[]{0}, 1)));
        out.add(new CoreCase("batch norm NCHW", bn, Layout.of(new long[]{3, 4, 5}, new int[]{0, 2}, 1)));
        out.add(new CoreCase("batch norm masked NCW", bn,
                Layout.of(new long[]{3, 4, 5}, new int[]{0, 2}, 1).withMask(new long[]{3, 1, 5})));
        out.add(new CoreCase("layer norm [N,C,HW]", bn, Layout.of(new long[]{3, 4, 5}, new int[]{1, 2}, 1)));
        out.add(new CoreCase("grouped batch norm [G,v,C]", bn, Layout.of(new long[]{2, 4, 3}, new int[]{1}, 2)));
        out.add(new CoreCase("batch norm, no affine", NormCoreTest.spec(Statistic.variance(), false, 1e-5, NormSpec.Noise.NONE),
                Layout.of(new long[]{6, 3}, new int[]{0}, 1)));
        out.add(new CoreCase("L1 batch norm", NormCoreTest.spec(Statistic.lp(1, true), true, 1e-5, NormSpec.Noise.NONE),
                Layout.of(new long[]{7, 4}, new int[]{0}, 1)));
        out.add(new CoreCase("L3 batch norm NCHW, plain", NormCoreTest.spec(Statistic.lp(3, false), true, 1e-5, NormSpec.Noise.NONE),
                Layout.of(new long[]{3, 4, 5}, new int[]{0, 2}, 1)));
        NormSpec top1 = NormCoreTest.spec(Statistic.topK(1, false), true, 1e-5, NormSpec.Noise.NONE);
        out.add(new CoreCase("L-inf batch norm [N,C], maximum in blocks of rows", top1,
                Layout.of(new long[]{64, 3}, new int[]{0}, 1)));
        out.add(new CoreCase("L-inf batch norm NCHW", top1, Layout.of(new long[]{3, 4, 5}, new int[]{0, 2}, 1)));
        out.add(new CoreCase("L-inf ghost batch norm [G,v,C]", top1, Layout.of(new long[]{2, 4, 3}, new int[]{1}, 2)));
        out.add(new CoreCase("noise after affine", NormCoreTest.spec(Statistic.variance(), true, 1e-5, NormSpec.Noise.AFTER_AFFINE),
                Layout.of(new long[]{7, 4}, new int[]{0}, 1)));
        out.add(new CoreCase("noise before affine, masked", NormCoreTest.spec(Statistic.variance(), true, 1e-5, NormSpec.Noise.BEFORE_AFFINE),
                Layout.of(new long[]{3, 4, 5}, new int[]{0, 2}, 1).withMask(new long[]{3, 1, 5})));
        out.add(new CoreCase("noise only", NormCoreTest.spec(null, false, 1e-5, NormSpec.Noise.AFTER_AFFINE),
                Layout.of(new long[]{7, 4}, new int[0], 1)));
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void handWrittenBackwardEqualsAutodiff(CoreCase c) {
        Map<String, INDArray> in = inputs(c);
        Nd4j.getRandom().setSeed(11);
        INDArray dy = Nd4j.randn(DataType.DOUBLE, c.layout().shape());

        CompiledGraph fwd = NormCore.forward(c.spec(), c.layout(), DataType.DOUBLE);
        Map<String, INDArray> fo = fwd.run(in);
        Map<String, INDArray> bin = new HashMap<>(in);
        bin.putAll(fo);
        bin.put(NormCore.DY, dy);
        bin.remove(NormCore.Y);
        Map<String, INDArray> hand = NormCore.backward(c.spec(), c.layout(), DataType.DOUBLE).run(bin);

        // SameDiff's own gradient of the pseudo-loss sum(y ⊙ dy)
        SameDiff sd = NormCore.forward(c.spec(), c.layout(), DataType.DOUBLE).sameDiff();
        SDVariable dyPh = sd.placeHolder("dyLoss", DataType.DOUBLE, c.layout().shape());
        sd.getVariable(NormCore.Y).mul(dyPh).sum().markAsLoss();
        Map<String, INDArray> ph = new HashMap<>(in);
        ph.put("dyLoss", dy);
        List<String> wrt = new ArrayList<>(List.of(NormCore.X));
        if (c.spec().scale()) wrt.addAll(List.of(NormCore.GAMMA, NormCore.BETA));
        for (String name : wrt) {  // differentiate with respect to these: make them variables
            sd.getVariable(name).setArray(ph.remove(name));
            sd.convertToVariable(sd.getVariable(name));
        }
        Map<String, INDArray> auto = sd.calculateGradients(ph, wrt);

        assertTrue(auto.get(NormCore.X).equalsWithEps(hand.get(NormCore.DX), 1e-10), c.name() + ": dx");
        if (c.spec().scale()) {
            assertTrue(auto.get(NormCore.GAMMA).equalsWithEps(hand.get(NormCore.DGAMMA), 1e-10), c.name() + ": dgamma");
            assertTrue(auto.get(NormCore.BETA).equalsWithEps(hand.get(NormCore.DBETA), 1e-10), c.name() + ": dbeta");
        }
    }

    private static Map<String, INDArray> inputs(CoreCase c) {
        Nd4j.getRandom().setSeed(10);
        Map<String, INDArray> in = new HashMap<>();
        in.put(NormCore.X, Nd4j.randn(DataType.DOUBLE, c.layout().shape()).muli(2).addi(0.5));
        if (c.layout().maskShape() != null) {
            INDArray w = Nd4j.ones(DataType.DOUBLE, c.layout().maskShape());
            w.putScalar(new long[]{0, 0, 4}, 0);
            w.putScalar(new long[]{1, 0, 3}, 0);
            w.putScalar(new long[]{1, 0, 4}, 0);
            in.put(NormCore.W, w);
        }
        if (c.spec().noisy()) {
            in.put(NormCore.NOISE_S, Nd4j.randn(DataType.DOUBLE, c.layout().shape()).muli(0.1).addi(1.1));
            in.put(NormCore.NOISE_M, Nd4j.randn(DataType.DOUBLE, c.layout().shape()).muli(0.3));
        }
        if (c.spec().scale()) {
            in.put(NormCore.GAMMA, Nd4j.rand(DataType.DOUBLE, c.layout().paramShape()).addi(0.5));
            in.put(NormCore.BETA, Nd4j.randn(DataType.DOUBLE, c.layout().paramShape()));
        }
        return in;
    }

    @Test
    void simplifyMergesAxesOfTheSameKind() {
        Layout nchw = Layout.of(new long[]{1, 8, 1, 4, 25}, new int[]{1, 2, 4}, 3).simplify();
        assertArrayEquals(new long[]{8, 4, 25}, nchw.shape());
        assertArrayEquals(new int[]{0, 2}, nchw.reduceAxes());
        assertArrayEquals(new boolean[]{false, true, false}, nchw.param());
        Layout nhwc = Layout.of(new long[]{1, 8, 9, 4, 1}, new int[]{1, 2, 4}, 3).simplify();
        assertArrayEquals(new long[]{72, 4}, nhwc.shape());
        assertArrayEquals(new int[]{0}, nhwc.reduceAxes());
        Layout masked = Layout.of(new long[]{1, 8, 1, 4, 5}, new int[]{1, 2, 4}, 3)
                .withMask(new long[]{1, 8, 1, 1, 5}).simplify();
        assertArrayEquals(new long[]{8, 4, 5}, masked.shape());
        assertArrayEquals(new long[]{8, 1, 5}, masked.maskShape());
    }

    /** The L-inf statistic (a maximum, taken in blocks of rows for a leading axis) against a plain maximum. */
    @Test
    void topOneStatisticIsTheLargestDeviation() {
        for (long[] shape : new long[][]{{64, 3}, {96, 5}, {33, 2}, {512, 3}, {200, 2}}) {
            Layout layout = Layout.of(shape, new int[]{0}, 1);
            NormSpec spec = NormCoreTest.spec(Statistic.topK(1, false), false, 1e-5, NormSpec.Noise.NONE);
            Nd4j.getRandom().setSeed(3);
            INDArray x = Nd4j.randn(DataType.DOUBLE, shape);
            Map<String, INDArray> out = NormCore.forward(spec, layout, DataType.DOUBLE).run(Map.of(NormCore.X, x));
            INDArray expected = Transforms.abs(x.subRowVector(x.mean(0))).max(0);
            assertTrue(Transforms.pow(expected, 2).reshape(1, shape[1]).equalsWithEps(out.get(NormCore.V), 1e-12),
                    "v of " + java.util.Arrays.toString(shape) + ": " + out.get(NormCore.V));
        }
    }

    @Test
    void lpConstantMatchesClosedForms() {
        assertEquals(Math.sqrt(Math.PI / 2), Statistic.lpConstant(1), 1e-13);
        assertEquals(1.0, Statistic.lpConstant(2), 1e-13);
        // E|X|^4 = 3σ^4  =>  C_4 = 3^(-1/4)
        assertEquals(Math.pow(3, -0.25), Statistic.lpConstant(4), 1e-13);
    }
}
