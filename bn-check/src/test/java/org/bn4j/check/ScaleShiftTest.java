package org.bn4j.check;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The example of docs/check.md: the kit on a custom {@code SameDiffLayer}, with a reference written for it. In
 * DL4J 1.0.0-M2.1 a SameDiffLayer's backward returns twice the gradient (its parameters' and its input's, so the
 * layers before it get twice theirs too: relative error 1/3), and the kit's gradient checks catch it while every
 * other check passes.
 */
class ScaleShiftTest {

    static LayerCheck check() {
        return LayerCheck.of("ScaleShift", ScaleShift::new)
                .on(InputKind.FF)
                .reference(in -> {                       // y = g x + b, per feature
                    double[] g = in.params().get("g"), b = in.params().get("b"), y = new double[in.x().length];
                    for (int i = 0; i < y.length; i++) y[i] = g[i % g.length] * in.x()[i] + b[i % b.length];
                    return new Reference.Expected(y, null, null);
                })
                .without(LayerCheck.Check.BAD_INPUT);    // SameDiffLayer does not validate its input
    }

    @Test
    void theKitCatchesTheDoubledGradientsOfSameDiffLayer() {
        Map<String, Throwable> results = KitRun.run(check().tests());
        assertTrue(results.size() >= 8, "tests run: " + results.keySet());
        results.forEach((name, failure) -> {
            if (name.contains("gradient check")) {
                assertNotNull(failure, name + " passed, but M2.1's SameDiffLayer doubles gradients");
            } else {
                assertNull(failure, name + ": " + failure);
            }
        });
    }
}
