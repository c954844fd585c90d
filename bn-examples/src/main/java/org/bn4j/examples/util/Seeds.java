package org.bn4j.examples.util;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;
import org.apache.commons.math3.stat.descriptive.DescriptiveStatistics;

/**
 * The summary of one command run with several seeds: from each seed's {@code summary.csv} (written by {@link Report}),
 * every verdict with its outcome per seed, and every table with each numeric cell as mean ± standard deviation over
 * the seeds and its range. A verdict holds over the seeds only when it held in every seed; when the seeds disagree it
 * is {@link Report.Outcome#SEEDS_DISAGREE}.
 */
public final class Seeds {

    private Seeds() {
    }

    /**
     * Writes {@code dir/summary.md} (and its {@code summary.csv}) from the runs in {@code seedDirs}, which hold the
     * same command's results for the seeds {@code seeds}.
     */
    public static void summarize(Path dir, List<Path> seedDirs, List<Long> seeds, String commandLine) throws IOException {
        List<Map<String, List<CSVRecord>>> runs = new ArrayList<>();
        for (Path d : seedDirs) {
            runs.add(read(d.resolve("summary.csv")));
        }
        String title = Files.readAllLines(seedDirs.get(0).resolve("summary.md")).get(0).replaceFirst("^# ", "");
        Report rep = new Report(title + " — " + seeds.size() + " seeds", commandLine);
        StringBuilder links = new StringBuilder("Seeds ");
        for (int i = 0; i < seeds.size(); i++) {
            String rel = dir.relativize(seedDirs.get(i)).toString();
            links.append(i == 0 ? "" : ", ").append("[").append(seeds.get(i)).append("](").append(rel).append("/summary.md)");
        }
        rep.text(links + ": each seed's own summary, plots and CSV files. A verdict below holds when it held in every "
                + "seed; figures are mean ± standard deviation over the seeds, with the range in brackets.\n");
        verdicts(rep, runs, seeds);
        tables(rep, runs);
        curve(rep, dir, seedDirs, "evals.csv", "test_acc", false, "mean_test_accuracy.png",
                "test accuracy (evaluation images, inference mode)");
        curve(rep, dir, seedDirs, "steps.csv", "train_loss", true, "mean_train_loss.png", "training loss (training mode)");
        rep.write(dir.resolve("summary.md"));
    }

    /**
     * A chart of column {@code y} of every seed's {@code file} (columns run, step, y), averaged over the seeds at each
     * step that every seed reached (a diverged run stops there); {@code smooth}: a moving average over 1/30 of the steps.
     */
    private static void curve(Report rep, Path dir, List<Path> seedDirs, String file, String y, boolean smooth, String png,
                              String what) throws IOException {
        if (!seedDirs.stream().allMatch(d -> Files.exists(d.resolve(file)))) {
            return;
        }
        Map<String, java.util.TreeMap<Double, DescriptiveStatistics>> byRun = new LinkedHashMap<>();
        for (Path d : seedDirs) {
            try (Reader r = Files.newBufferedReader(d.resolve(file))) {
                for (CSVRecord rec : CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).build().parse(r)) {
                    double v = Double.parseDouble(rec.get(y));
                    if (Double.isFinite(v)) {
                        byRun.computeIfAbsent(rec.get("run"), k -> new java.util.TreeMap<>())
                                .computeIfAbsent(Double.parseDouble(rec.get("step")), k -> new DescriptiveStatistics()).addValue(v);
                    }
                }
            }
        }
        List<Plots.Series> series = new ArrayList<>();
        for (Map.Entry<String, java.util.TreeMap<Double, DescriptiveStatistics>> e : byRun.entrySet()) {
            List<Map.Entry<Double, DescriptiveStatistics>> all = e.getValue().entrySet().stream()
                    .filter(p -> p.getValue().getN() == seedDirs.size()).toList();
            double[] xs = all.stream().mapToDouble(Map.Entry::getKey).toArray();
            double[] ys = all.stream().mapToDouble(p -> p.getValue().getMean()).toArray();
            int window = smooth ? Math.max(1, xs.length / 30) : 1;
            series.add(new Plots.Series(e.getKey(), xs, window > 1 ? Plots.movingAverage(ys, window) : ys));
        }
        String title = "Mean over " + seedDirs.size() + " seeds: " + what;
        Plots.lineChart(dir.resolve(png), title, "step", y, series, Plots.Style.LINES);
        rep.image(title, png);
    }

    private static Map<String, List<CSVRecord>> read(Path csv) throws IOException {
        Map<String, List<CSVRecord>> byKind = new LinkedHashMap<>();
        try (Reader r = Files.newBufferedReader(csv)) {
            for (CSVRecord rec : CSVFormat.DEFAULT.builder().setHeader(Report.CSV_COLUMNS).setSkipHeaderRecord(true).build().parse(r)) {
                byKind.computeIfAbsent(rec.get("kind"), k -> new ArrayList<>()).add(rec);
            }
        }
        return byKind;
    }

    private static void verdicts(Report rep, List<Map<String, List<CSVRecord>>> runs, List<Long> seeds) {
        // every claim of any seed, in order of first appearance (a claim may depend on the run, e.g. on a divergence)
        java.util.Set<String> claims = new java.util.LinkedHashSet<>();
        runs.forEach(r -> r.getOrDefault("verdict", List.of()).forEach(rec -> claims.add(rec.get("row"))));
        for (String claim : claims) {
            List<Report.Outcome> outcomes = new ArrayList<>();
            StringBuilder per = new StringBuilder();
            for (int s = 0; s < runs.size(); s++) {
                CSVRecord rec = find(runs.get(s).getOrDefault("verdict", List.of()), claim);
                Report.Outcome o = rec == null ? null : Report.Outcome.valueOf(rec.get("column"));
                outcomes.add(o);
                per.append(s == 0 ? "" : "; ").append("seed ").append(seeds.get(s)).append(": ")
                        .append(o == null ? "not decided" : o.text()).append(rec == null ? "" : " (" + rec.get("value") + ")");
            }
            boolean same = outcomes.stream().distinct().count() == 1 && outcomes.get(0) != null;
            rep.verdict(claim, same ? outcomes.get(0) : Report.Outcome.SEEDS_DISAGREE, per.toString());
        }
    }

    private static CSVRecord find(List<CSVRecord> verdicts, String claim) {
        return verdicts.stream().filter(r -> r.get("row").equals(claim)).findFirst().orElse(null);
    }

    private static void tables(Report rep, List<Map<String, List<CSVRecord>>> runs) {
        // table index -> (row, column) -> one text per seed
        Map<String, Map<String, Map<String, List<String>>>> tables = new LinkedHashMap<>();
        for (Map<String, List<CSVRecord>> run : runs) {
            for (CSVRecord c : run.getOrDefault("table", List.of())) {
                tables.computeIfAbsent(c.get("index"), k -> new LinkedHashMap<>())
                        .computeIfAbsent(c.get("row"), k -> new LinkedHashMap<>())
                        .computeIfAbsent(c.get("column"), k -> new ArrayList<>()).add(c.get("value"));
            }
        }
        if (!tables.isEmpty()) {
            rep.heading("Figures");
        }
        for (Map<String, Map<String, List<String>>> t : tables.values()) {
            List<String> header = new ArrayList<>(t.values().iterator().next().keySet());
            List<List<String>> rows = new ArrayList<>();
            for (Map<String, List<String>> row : t.values()) {
                rows.add(header.stream().map(h -> cell(row.getOrDefault(h, List.of()), runs.size())).toList());
            }
            rep.table(header, rows);
        }
    }

    /** One cell over the seeds: mean ± sd [min, max] when every seed's text is a number, else the texts. */
    static String cell(List<String> texts, int seeds) {
        if (texts.size() != seeds) {
            return String.join(" / ", texts);
        }
        if (texts.stream().distinct().count() == 1) {
            return texts.get(0);
        }
        boolean pct = texts.stream().allMatch(x -> x.endsWith("%"));
        DescriptiveStatistics st = new DescriptiveStatistics();
        for (String x : texts) {
            Double d = number(pct ? x.substring(0, x.length() - 1) : x);
            if (d == null) {
                return merged(texts);
            }
            st.addValue(pct ? d / 100 : d);
        }
        java.util.function.DoubleFunction<String> f = pct ? Report::pct : v -> Report.num(v, 4);
        return f.apply(st.getMean()) + " ± " + (pct ? Report.pct(st.getStandardDeviation()) : Report.num(st.getStandardDeviation(), 2))
                + " [" + f.apply(st.getMin()) + ", " + f.apply(st.getMax()) + "]";
    }

    private static final java.util.regex.Pattern DIGITS = java.util.regex.Pattern.compile("\\d+");

    /**
     * Texts that differ only in their numbers ("noise seed 42", "noise seed 43") as one text with those numbers joined
     * ("noise seed 42/43"); other texts joined whole with " / ".
     */
    static String merged(List<String> texts) {
        String shape = DIGITS.matcher(texts.get(0)).replaceAll("#");
        if (!texts.stream().allMatch(t -> DIGITS.matcher(t).replaceAll("#").equals(shape))) {
            return String.join(" / ", texts);
        }
        List<List<String>> numbers = texts.stream().map(t -> DIGITS.matcher(t).results().map(r -> r.group()).toList()).toList();
        java.util.regex.Matcher m = DIGITS.matcher(texts.get(0));
        StringBuilder b = new StringBuilder();
        for (int k = 0; m.find(); k++) {
            int i = k;
            m.appendReplacement(b, String.join("/", numbers.stream().map(n -> n.get(i)).distinct().toList()));
        }
        return m.appendTail(b).toString();
    }

    private static Double number(String s) {
        try {
            double d = Double.parseDouble(s.trim());
            return Double.isFinite(d) ? d : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
