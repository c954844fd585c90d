package org.bn4j.examples.util;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

import org.nd4j.linalg.factory.Nd4j;

/**
 * The {@code summary.md} of a command: a title, verdict lines, tables, images and the setup, in that order. Beside it,
 * {@link #write} puts {@code summary.csv}: the verdicts and the table cells as data, from which {@link Seeds}
 * summarizes several seeds' runs.
 */
public final class Report {

    /** Columns of {@code summary.csv}: verdict rows (index, claim, outcome, measured) and table cells (index, row, column, text). */
    static final String[] CSV_COLUMNS = {"kind", "index", "row", "column", "value"};

    private final StringBuilder md = new StringBuilder();
    private final List<List<String>> data = new java.util.ArrayList<>();
    private int verdicts;
    private int tables;

    /**
     * @param title       heading
     * @param commandLine the exact command that produced the results
     */
    public Report(String title, String commandLine) {
        md.append("# ").append(title).append("\n\n");
        md.append("Generated ").append(LocalDateTime.now().format(DateTimeFormatter.ISO_LOCAL_DATE_TIME).substring(0, 19))
                .append(" by `").append(commandLine).append("`.\n\n");
    }

    /** Outcome of checking a published claim. */
    public enum Outcome {
        HELD("held"), NOT_HELD("did not hold"), PARTLY("held in part"),
        /** Over several seeds: the seeds' outcomes differ (see {@link Seeds}). */
        SEEDS_DISAGREE("the seeds disagree");

        private final String text;

        Outcome(String text) {
            this.text = text;
        }

        public String text() {
            return text;
        }

        public static Outcome of(boolean held) {
            return held ? HELD : NOT_HELD;
        }

        public static Outcome of(int held, int of) {
            return held == of ? HELD : held == 0 ? NOT_HELD : PARTLY;
        }
    }

    /** A verdict line: "**Verdict: held.** Claim: … Measured: …". */
    public Report verdict(String claim, Outcome outcome, String measured) {
        md.append("- **Verdict: ").append(outcome.text()).append(".** Claim: ").append(claim).append(" Measured: ")
                .append(measured).append("\n");
        data.add(List.of("verdict", String.valueOf(verdicts), claim, outcome.name(), measured));
        verdicts++;
        return this;
    }

    public Report heading(String h) {
        md.append("\n## ").append(h).append("\n\n");
        return this;
    }

    public Report text(String s) {
        md.append(s).append("\n");
        return this;
    }

    public Report image(String alt, String file) {
        md.append("\n![").append(alt).append("](").append(file).append(")\n");
        return this;
    }

    /** A markdown table. */
    public Report table(List<String> header, List<List<String>> rows) {
        md.append("\n| ").append(String.join(" | ", header)).append(" |\n|");
        md.append("---|".repeat(header.size())).append("\n");
        for (int i = 0; i < rows.size(); i++) {
            md.append("| ").append(String.join(" | ", rows.get(i))).append(" |\n");
            for (int j = 0; j < header.size(); j++) {
                data.add(List.of("table", String.valueOf(tables), String.valueOf(i), header.get(j), rows.get(i).get(j)));
            }
        }
        md.append("\n");
        tables++;
        return this;
    }

    /** The machine line: CPUs, threads, backend and the wall time. */
    public Report machine(double seconds) {
        md.append(String.format(Locale.ROOT, "- Machine: %d logical CPUs, OMP_NUM_THREADS=%s, ND4J backend %s; whole run %.1f s.%n",
                Runtime.getRuntime().availableProcessors(), System.getenv().getOrDefault("OMP_NUM_THREADS", "(unset)"),
                Nd4j.getBackend().getClass().getSimpleName(), seconds));
        return this;
    }

    /** Writes the markdown to {@code file} and the data to {@code summary.csv} beside it. */
    public Path write(Path file) throws IOException {
        Files.writeString(file, md.toString());
        try (org.apache.commons.csv.CSVPrinter csv = new org.apache.commons.csv.CSVPrinter(
                Files.newBufferedWriter(file.resolveSibling("summary.csv")),
                org.apache.commons.csv.CSVFormat.DEFAULT.builder().setHeader(CSV_COLUMNS).build())) {
            csv.printRecords(data);
        }
        return file;
    }

    @Override
    public String toString() {
        return md.toString();
    }

    /** Formats a number with {@code sig} significant digits (NaN as "n/a"). */
    public static String num(double v, int sig) {
        if (!Double.isFinite(v)) {
            return Double.isNaN(v) ? "n/a" : (v > 0 ? "inf" : "-inf");
        }
        if (v != 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) {
            return String.format(Locale.ROOT, "%." + (sig - 1) + "e", v);
        }
        return new java.math.BigDecimal(v).round(new java.math.MathContext(sig)).stripTrailingZeros().toPlainString();
    }

    /** Formats with 3 significant digits. */
    public static String num(double v) {
        return num(v, 3);
    }

    /** Formats a fraction as a percentage with one decimal. */
    public static String pct(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.1f%%", 100 * v) : "n/a";
    }
}
