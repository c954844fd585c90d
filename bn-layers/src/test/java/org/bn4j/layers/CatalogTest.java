package org.bn4j.layers;

import org.bn4j.check.InputKind;
import org.bn4j.check.LayerCheck;
import org.bn4j.check.Size;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.HashSet;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The named configurations of {@link Catalog}, the ones the examples and the bench pick by name, as they are (their
 * defaults: 32 groups, ghost batches of 32), through the kit's round trips, float32 against float64 and the bad-input
 * contract, at a size their defaults fit: a batch of 64 and 64 channels. Their gradients and their math are checked on
 * the registry's cases ({@link Registry}), which use test-sized settings of the same layers.
 */
class CatalogTest {
    private static final Size SIZE = new Size(64, 64, 2);

    @TestFactory
    Stream<DynamicNode> everyEntry() {
        return Catalog.all().stream().flatMap(e -> {
            boolean ff = !(e.create() instanceof InstanceNorm);
            InputKind[] kinds = ff ? new InputKind[]{InputKind.FF, InputKind.CNN_NCHW} : new InputKind[]{InputKind.CNN_NCHW};
            return LayerCheck.of("catalog " + e.name(), e::create).on(kinds).sizes(SIZE)
                    .only(LayerCheck.Check.JSON, LayerCheck.Check.MODEL_SERIALIZER, LayerCheck.Check.FLOAT32,
                            LayerCheck.Check.BAD_INPUT)
                    .tests();
        });
    }

    @Test
    void namesAreUniqueAndLookedUpCaseInsensitively() {
        List<String> names = Catalog.names();
        assertEquals(names.size(), new HashSet<>(names).size(), names.toString());
        for (String n : names) assertEquals(n, Catalog.get(n.toUpperCase()).name());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Catalog.get("batchnorm"));
        assertTrue(e.getMessage().contains("unknown layer 'batchnorm'") && e.getMessage().contains("bn, "), e.getMessage());
    }
}
