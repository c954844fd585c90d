package org.bn4j.check;

import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/** Runs the kit's dynamic tests in a test (to see which fail): test name to failure, null where it passed. */
final class KitRun {
    private KitRun() {
    }

    static Map<String, Throwable> run(Stream<DynamicNode> nodes) {
        Map<String, Throwable> out = new LinkedHashMap<>();
        nodes.forEach(n -> run(n, out));
        return out;
    }

    private static void run(DynamicNode n, Map<String, Throwable> out) {
        if (n instanceof DynamicContainer c) {
            c.getChildren().forEach(child -> run(child, out));
        } else {
            DynamicTest t = (DynamicTest) n;
            Throwable failure = null;
            try {
                t.getExecutable().execute();
            } catch (Throwable e) {
                failure = e;
            }
            out.put(t.getDisplayName(), failure);
        }
    }
}
