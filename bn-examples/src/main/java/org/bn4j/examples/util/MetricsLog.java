package org.bn4j.examples.util;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;

/**
 * A CSV table of metrics, written row by row (flushed after each row, so an interrupted run keeps
 * what it measured) with commons-csv, and kept in memory for plotting and summaries. Floating-point numbers are
 * written with 6 significant digits ({@link Locale#ROOT}), NaN as {@code NaN}.
 */
public final class MetricsLog implements Closeable {

    private final Path file;
    private final List<String> columns;
    private final List<Object[]> rows = new ArrayList<>();
    private final CSVPrinter out;

    public MetricsLog(Path file, String... columns) throws IOException {
        this.file = file;
        this.columns = List.of(columns);
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        this.out = new CSVPrinter(Files.newBufferedWriter(file), CSVFormat.DEFAULT.builder().setHeader(columns).build());
        out.flush();
    }

    public Path file() {
        return file;
    }

    public List<String> columns() {
        return columns;
    }

    /** Appends one row (one value per column). */
    public synchronized void add(Object... values) {
        if (values.length != columns.size()) {
            throw new IllegalArgumentException("expected " + columns.size() + " values " + columns + ", got " + values.length);
        }
        rows.add(values.clone());
        try {
            out.printRecord(java.util.Arrays.stream(values).map(MetricsLog::format).toArray());
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public List<Object[]> rows() {
        return Collections.unmodifiableList(rows);
    }

    /** The numeric values of a column over the rows accepted by {@code filter}. */
    public double[] column(String name, Predicate<Object[]> filter) {
        int c = index(name);
        return rows.stream().filter(filter).mapToDouble(r -> ((Number) r[c]).doubleValue()).toArray();
    }

    /** Index of a column by name. */
    public int index(String name) {
        int c = columns.indexOf(name);
        if (c < 0) {
            throw new IllegalArgumentException("no column " + name + " in " + columns);
        }
        return c;
    }

    private static Object format(Object v) {
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            return Double.isFinite(d) ? String.format(Locale.ROOT, "%.6g", d) : Double.toString(d);
        }
        return v;
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }
}
