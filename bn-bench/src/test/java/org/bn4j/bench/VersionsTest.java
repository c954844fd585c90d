package org.bn4j.bench;

import org.bn4j.layers.Catalog;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** compare-versions.sh's core: builds of bn-layers side by side in one JVM, each in a class loader of its own. */
class VersionsTest {

    @Test
    void eachBuildRunsFromALoaderOfItsOwn() throws Exception {
        // the reactor's bn-layers classes (the test runs in bn-bench's directory, after bn-layers is compiled)
        String dir = Path.of("../bn-layers/target/classes").toAbsolutePath().normalize().toString();
        assertTrue(new File(dir, "org/bn4j/layers/Catalog.class").isFile(), "bn-layers is compiled: " + dir);
        Runnable a = Versions.build(dir, "bn", "8x16"), b = Versions.build(dir, "ln", "8x16");
        ClassLoader la = a.getClass().getClassLoader(), lb = b.getClass().getClassLoader();
        assertNotSame(la, lb);
        // bn-layers' classes come from each build's loader, not from this JVM's class path
        Class<?> catalog = la.loadClass("org.bn4j.layers.Catalog");
        assertSame(la, catalog.getClassLoader());
        assertNotSame(Catalog.class, catalog);
        assertNotSame(catalog, lb.loadClass("org.bn4j.layers.Catalog"));
        // everything else is shared (DL4J, ND4J)
        assertSame(org.nd4j.linalg.factory.Nd4j.class, la.loadClass("org.nd4j.linalg.factory.Nd4j"));

        double[][] medians = Versions.medians(new Runnable[]{a, b}, 2, 3);
        for (double[] build : medians) for (double ms : build) assertTrue(ms > 0 && Double.isFinite(ms), "a call's time: " + ms);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Versions.build("/nonexistent", "bn", "8x16"));
        assertTrue(e.getMessage().contains("not a directory of classes: /nonexistent"), e.getMessage());
    }
}
