package org.bn4j.examples.experiments;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A CSV written by MetricsLog, read back for assertions. */
record Csv(List<String> header, List<String[]> rows) {

    static Csv read(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file);
        List<String[]> rows = new ArrayList<>();
        for (String l : lines.subList(1, lines.size())) {
            rows.add(l.split(",", -1));
        }
        return new Csv(List.of(lines.get(0).split(",")), rows);
    }

    int col(String name) {
        int c = header.indexOf(name);
        assertTrue(c >= 0, "column " + name + " in " + header);
        return c;
    }

    double[] doubles(String column, Predicate<String[]> filter) {
        int c = col(column);
        return rows.stream().filter(filter).mapToDouble(r -> Double.parseDouble(r[c])).toArray();
    }

    Predicate<String[]> where(String column, String value) {
        int c = col(column);
        return r -> r[c].equals(value);
    }

    /** Asserts the files exist with some content, and that PNGs are PNGs. */
    static void assertFiles(Path dir, String... names) throws IOException {
        for (String f : names) {
            Path p = dir.resolve(f);
            assertTrue(Files.exists(p) && Files.size(p) > 100, f + " in " + dir);
            if (f.endsWith(".png")) {
                byte[] b = Files.readAllBytes(p);
                assertEquals((byte) 0x89, b[0]);
                assertEquals('P', b[1]);
            }
        }
    }

    static Map<String, Double> lastBy(Csv c, String key, String value) {
        Map<String, Double> m = new java.util.LinkedHashMap<>();
        int k = c.col(key);
        int v = c.col(value);
        for (String[] r : c.rows()) {
            m.put(r[k], Double.parseDouble(r[v]));
        }
        return m;
    }
}
