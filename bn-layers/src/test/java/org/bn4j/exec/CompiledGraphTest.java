package org.bn4j.exec;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A graph given the wrong arrays, through each path: the error names the input or output, what was expected and what
 * came, and the graph runs correctly afterwards.
 */
class CompiledGraphTest {

    @ParameterizedTest
    @EnumSource(CompiledGraph.Path.class)
    void wrongArraysAreNamedAndLeaveTheGraphWorking(CompiledGraph.Path path) {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, 8, 4);
        x.sub(x.mean(true, 0)).mul("y", 2.0);
        CompiledGraph g = CompiledGraph.of(sd, List.of("x"), List.of("y"));
        INDArray in = Nd4j.randn(DataType.FLOAT, 8, 4);
        INDArray expected = g.runSameDiff(Map.of("x", in)).get("y");
        run(g, path, Map.of("x", in), Map.of());   // the first call plans the executors for [8, 4]

        assertMessage(path, g, Map.of(), Map.of(), "graph input 'x' missing");
        if (path != CompiledGraph.Path.SAMEDIFF) {   // SameDiff.output plans nothing (its own errors)
            assertMessage(path, g, Map.of("x", Nd4j.randn(DataType.FLOAT, 8, 5)), Map.of(),
                    "graph input 'x' (the graph was planned for its first call's inputs): expected FLOAT[8, 4], got FLOAT[8, 5]");
            assertMessage(path, g, Map.of("x", Nd4j.randn(DataType.DOUBLE, 8, 4)), Map.of(), "expected FLOAT[8, 4], got DOUBLE[8, 4]");
        }
        assertMessage(path, g, Map.of("x", in), Map.of("y", Nd4j.create(DataType.FLOAT, 4, 8)),
                "destination for output 'y': expected FLOAT[8, 4], got FLOAT[4, 8]");
        assertMessage(path, g, Map.of("x", in), Map.of("z", Nd4j.create(DataType.FLOAT, 8, 4)), "'z' is not an output of the graph [y]");

        INDArray into = Nd4j.create(DataType.FLOAT, 8, 4);
        run(g, path, Map.of("x", in), Map.of("y", into));
        assertTrue(into.equalsWithEps(expected, 1e-6), path + ": " + into + " against " + expected);
    }

    private static Map<String, INDArray> run(CompiledGraph g, CompiledGraph.Path path, Map<String, INDArray> in, Map<String, INDArray> into) {
        return CompiledGraph.withPath(path, () -> g.run(in, into));
    }

    private static void assertMessage(CompiledGraph.Path path, CompiledGraph g, Map<String, INDArray> in, Map<String, INDArray> into,
                                      String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(g, path, in, into), path + ": " + message);
        assertTrue(e.getMessage().contains(message), path + ": " + e.getMessage());
    }
}
