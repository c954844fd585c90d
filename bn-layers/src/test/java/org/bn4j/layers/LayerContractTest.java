package org.bn4j.layers;

import org.bn4j.check.LayerCheck;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

/**
 * The contract of every layer, through the project's own kit (bn-check): gradient checks in both network types at
 * initialization and after training, JSON and ModelSerializer round trips (bit-exact), float32 against float64, bad
 * input (refused, named, nothing changed) and the plain reference, on every input kind the layer takes; and every
 * option of every layer ({@link Registry#product()}) gradient-checked and compared with the reference at two sizes.
 */
class LayerContractTest {

    @TestFactory
    Stream<DynamicNode> everyLayer() {
        return Registry.layers().stream().flatMap(c -> c.check().tests());
    }

    /** Weight norm's layers (dense and convolution, every geometry of the registry) through the same kit. */
    @TestFactory
    Stream<DynamicNode> everyWeightNormLayer() {
        return org.bn4j.layers.weightnorm.WnCases.all().stream().flatMap(c -> {
            LayerCheck check = LayerCheck.of(c.name(), c.layer()).on(c.kind())
                    .sizes(new org.bn4j.check.Size(6, 3, 5), new org.bn4j.check.Size(3, 2, 7)).clearErrors();
            // data-dependent initialization changes g and b on the first training pass: its own tests cover it
            return (c.dataInit() ? check : check.reference(org.bn4j.layers.weightnorm.WnRef.reference(c.activation()))).tests();
        });
    }

    /** Every option: gradient check and reference on every kind, at both sizes. */
    @TestFactory
    Stream<DynamicNode> everyOption() {
        return Registry.product().stream().flatMap(c ->
                c.check(c.sizes(), c.kinds()).only(LayerCheck.Check.GRADIENTS_MLN, LayerCheck.Check.REFERENCE).tests());
    }

    /** Every option's configuration survives JSON (the network-level round trips run per layer above). */
    @TestFactory
    Stream<DynamicNode> everyOptionJson() {
        return Registry.product().stream().map(c -> DynamicTest.dynamicTest(c.name() + " / configuration JSON round trip", () -> {
            AbstractNormLayer l = c.layer().get();
            String json = org.deeplearning4j.nn.conf.NeuralNetConfiguration.mapper().writeValueAsString(l);
            Object back = org.deeplearning4j.nn.conf.NeuralNetConfiguration.mapper()
                    .readValue(json, org.deeplearning4j.nn.conf.layers.Layer.class);
            org.junit.jupiter.api.Assertions.assertEquals(l, back, c.name() + ": " + json);
        }));
    }
}
