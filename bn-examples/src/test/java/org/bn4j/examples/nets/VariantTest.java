package org.bn4j.examples.nets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.Catalog;
import org.bn4j.layers.NoiseConfig;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.junit.jupiter.api.Test;

class VariantTest {

    @Test
    void theBn4jLayersAreTheCatalogs() {
        List<String> expected = new ArrayList<>(List.of("none", "selu"));
        for (String n : Catalog.names()) {
            expected.add(n);
            if (n.equals("bn")) {
                expected.add("dl4j-bn");
            }
            if (n.equals("lp1")) {
                expected.add("lp2");
            }
        }
        expected.add("wn");
        assertEquals(expected, Variant.NAMES);
        for (Catalog.Entry e : Catalog.all()) {
            Variant v = Variant.of(e.name(), 42);
            Layer made = v.norm().get();
            Layer catalog = e.create();
            assertEquals(catalog.getClass(), made.getClass(), e.name());
            AbstractNormLayer a = (AbstractNormLayer) catalog;
            if (a.getNoise() == null) {
                assertEquals(catalog, made, e.name() + ": the catalog's configuration as it is");
            } else {
                assertEquals(a.getNoise().withSeed(42), ((AbstractNormLayer) made).getNoise(), e.name() + ": noise seeded");
                assertTrue(v.describe().contains("noise seed 42"), v.describe());
            }
            assertTrue(v.describe().startsWith(e.description()), v.describe());
            assertNotSame(v.norm().get(), v.norm().get(), "a fresh configuration per call");
        }
        assertEquals(NoiseConfig.santurkar().withSeed(7), ((AbstractNormLayer) Variant.of("noise", 7).norm().get()).getNoise());
        assertTrue(Variant.of("renorm", 1).describe().contains("batch norm) for the first 5000 steps"),
                Variant.of("renorm", 1).describe());
        assertTrue(Variant.of("dl4j-bn", 1).norm().get() instanceof BatchNormalization);
        assertNull(Variant.of("none", 1).norm());
        assertTrue(Variant.of("wn", 1).weightNorm() && Variant.of("selu", 1).selu());
        assertEquals(Catalog.GHOST_BATCH, Variant.GHOST_BATCH);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Variant.of("nope", 1));
        assertTrue(e.getMessage().contains("unknown variant 'nope'; known: none, selu, bn, dl4j-bn"), e.getMessage());
    }
}
