package org.bn4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;

/** A CSV file written by a command, read back with commons-csv for assertions. */
public record Csv(List<String> header, List<CSVRecord> rows) {

    public static Csv read(Path file) throws IOException {
        try (Reader r = Files.newBufferedReader(file)) {
            var p = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).build().parse(r);
            return new Csv(p.getHeaderNames(), p.getRecords());
        }
    }

    public int col(String name) {
        int c = header.indexOf(name);
        assertTrue(c >= 0, "column " + name + " in " + header);
        return c;
    }

    public double[] doubles(String column, Predicate<CSVRecord> filter) {
        int c = col(column);
        return rows.stream().filter(filter).mapToDouble(r -> Double.parseDouble(r.get(c))).toArray();
    }

    public Predicate<CSVRecord> where(String column, String value) {
        int c = col(column);
        return r -> r.get(c).equals(value);
    }

    /** Asserts the files exist with some content, and that PNGs are PNGs. */
    public static void assertFiles(Path dir, String... names) throws IOException {
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

    /** The last value of column {@code value} for each value of column {@code key}. */
    public static Map<String, Double> lastBy(Csv c, String key, String value) {
        Map<String, Double> m = new LinkedHashMap<>();
        int k = c.col(key);
        int v = c.col(value);
        for (CSVRecord r : c.rows()) {
            m.put(r.get(k), Double.parseDouble(r.get(v)));
        }
        return m;
    }
}
