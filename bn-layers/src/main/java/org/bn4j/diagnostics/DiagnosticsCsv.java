package org.bn4j.diagnostics;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;

/**
 * The CSV files a {@link DiagnosticsListener} writes its probes to, one file per probe in a directory, each row
 * flushed as it is written (an interrupted run keeps what it measured). Several listeners (one per run of an
 * experiment) can share one; the first column names the run. Files are created at their first row, named with the
 * prefix given to {@link #in(Path, String)} before these names:
 * <ul>
 *   <li>{@code landscape.csv}: {@value #LANDSCAPE} (one row per step size; loss0 = L(w), grad_norm = ‖g‖);</li>
 *   <li>{@code ics.csv}: {@value #ICS};</li>
 *   <li>{@code gradient_norms.csv}: {@value #GRADIENT_NORMS};</li>
 *   <li>{@code saturation.csv}: {@value #SATURATION};</li>
 *   <li>{@code activations.csv}: {@value #ACTIVATIONS}.</li>
 * </ul>
 * {@code step} is the number of optimizer steps taken before the probe; sites are written as {@link Site#toString()}.
 */
public final class DiagnosticsCsv implements Closeable {

    public static final String LANDSCAPE = "run,step,epoch,eta,loss,grad_diff,beta,loss0,grad_norm";
    public static final String ICS = "run,step,epoch,layer,diff,cos,grad_norm";
    public static final String GRADIENT_NORMS = "run,step,epoch,layer,grad_norm";
    public static final String SATURATION = "run,step,epoch,site,saturated";
    public static final String ACTIVATIONS = "run,step,epoch,site,mean_of_channel_means,mean_of_channel_stds,unit0_q05,"
            + "unit0_q50,unit0_q95,drift";

    private static final Map<String, String> HEADERS = Map.of("landscape", LANDSCAPE, "ics", ICS,
            "gradient_norms", GRADIENT_NORMS, "saturation", SATURATION, "activations", ACTIVATIONS);

    private final Path dir;
    private final String prefix;
    private final Map<String, CSVPrinter> open = new LinkedHashMap<>();

    private DiagnosticsCsv(Path dir, String prefix) {
        this.dir = dir;
        this.prefix = prefix;
    }

    /** Writes into {@code dir} (created if missing); existing files of the same names are replaced. */
    public static DiagnosticsCsv in(Path dir) throws IOException {
        return in(dir, "");
    }

    /** Writes into {@code dir}, each file name starting with {@code prefix} (such as {@code cnn_}). */
    public static DiagnosticsCsv in(Path dir, String prefix) throws IOException {
        Files.createDirectories(dir);
        return new DiagnosticsCsv(dir, prefix);
    }

    /** The file of a table ({@code landscape}, {@code ics}, {@code gradient_norms}, {@code saturation}, {@code activations}). */
    public Path file(String table) {
        header(table);
        return dir.resolve(prefix + table + ".csv");
    }

    synchronized void add(String table, Object... row) {
        try {
            CSVPrinter p = open.get(table);
            if (p == null) {
                String[] header = header(table).split(",");
                p = new CSVPrinter(Files.newBufferedWriter(file(table)), CSVFormat.DEFAULT.builder().setHeader(header).build());
                open.put(table, p);
            }
            p.printRecord(row);
            p.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String header(String table) {
        String h = HEADERS.get(table);
        if (h == null) {
            throw new IllegalArgumentException("DiagnosticsCsv: no table '" + table + "'; tables: " + List.copyOf(HEADERS.keySet()));
        }
        return h;
    }

    @Override
    public synchronized void close() throws IOException {
        for (CSVPrinter p : open.values()) {
            p.close();
        }
        open.clear();
    }
}
