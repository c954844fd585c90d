package org.bn4j.layers;

import org.bn4j.check.CheckNets;
import org.bn4j.check.InputKind;
import org.bn4j.check.Size;
import org.bn4j.exec.CompiledGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every registry case through the fused executor, the unfused one and {@code SameDiff.output}: a training forward,
 * a backward, then an inference forward with the updated running statistics, in float64 and float32. The outputs,
 * the input and parameter gradients and the running statistics agree within 1e-12 (float64) and 1e-5 (float32) of
 * the largest magnitude, SameDiff's being the reference.
 */
class ExecutorPathsLayerTest {

    /** A registry case on one input kind, with or without a mask. */
    record Setting(Registry.Case c, InputKind kind, boolean masked) {
        @Override
        public String toString() {
            return c.name() + " / " + kind + (masked ? "+mask" : "");
        }
    }

    static Stream<Arguments> casesAndTypes() {
        return Stream.concat(Registry.layers().stream(), Registry.product().stream())
                .flatMap(c -> c.kinds().stream().flatMap(k -> (k.isRnn() ? Stream.of(false, true) : Stream.of(false))
                        .map(m -> new Setting(c, k, m))))
                .flatMap(c -> Stream.of(Arguments.of(c, DataType.DOUBLE), Arguments.of(c, DataType.FLOAT)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("casesAndTypes")
    void fusedAndUnfusedAgreeWithSameDiff(Setting c, DataType dt) {
        double tol = dt == DataType.DOUBLE ? 1e-12 : 1e-5;
        Map<String, INDArray> ref = CompiledGraph.withPath(CompiledGraph.Path.SAMEDIFF, () -> step(c, dt));
        for (CompiledGraph.Path path : new CompiledGraph.Path[]{CompiledGraph.Path.FUSED, CompiledGraph.Path.UNFUSED}) {
            Map<String, INDArray> got = CompiledGraph.withPath(path, () -> step(c, dt));
            for (Map.Entry<String, INDArray> e : ref.entrySet()) {
                INDArray a = got.get(e.getKey()), b = e.getValue();
                assertArrayEquals(b.shape(), a.shape(), c + " " + path + ": shape of " + e.getKey());
                double scale = Math.max(b.amaxNumber().doubleValue(), Double.MIN_NORMAL);
                double diff = a.sub(b).amaxNumber().doubleValue();
                assertTrue(diff <= tol * scale, c + " " + dt + " " + path + ": " + e.getKey() + " differs by " + diff
                        + " (relative " + diff / scale + ")");
            }
        }
    }

    /** One training step and one inference forward of a fresh layer, every result as a float64 array. */
    private static Map<String, INDArray> step(Setting c, DataType dt) {
        Size size = c.c().sizes().get(0);
        MultiLayerNetwork net = CheckNets.alone(c.c().layer(), c.kind(), size, dt);
        Layer layer = net.getLayer(0);
        INDArray params = layer.params();
        Nd4j.getRandom().setSeed(5);
        if (params != null && params.length() > 0) params.assign(Nd4j.rand(dt, params.shape()).addi(0.5));
        INDArray x = CheckNets.input(c.kind(), size, 9, 49).castTo(dt);
        INDArray mask = c.masked() ? CheckNets.mask(size, 9) : null;
        Nd4j.getRandom().setSeed(9);
        INDArray dy = Nd4j.randn(dt, x.shape());
        LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();
        layer.setInput(x, ws);
        layer.setMaskArray(mask == null ? null : mask.castTo(dt));
        Map<String, INDArray> out = new LinkedHashMap<>();
        out.put("y", layer.activate(true, ws).dup());
        Pair<Gradient, INDArray> g = layer.backpropGradient(dy, ws);
        layer.applyConstraints(0, 0);
        out.put("dx", g.getSecond().dup());
        g.getFirst().gradientForVariable().forEach((k, v) -> out.put("d" + k, v.dup()));
        if (params != null && params.length() > 0) out.put("params after the step", layer.params().dup());
        out.put("y (inference)", layer.activate(false, ws).dup());
        out.replaceAll((k, v) -> v.castTo(DataType.DOUBLE));
        return out;
    }
}
