package org.bn4j.diagnostics;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.colors.XChartSeriesColors;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * PNG charts of what {@link DiagnosticsListener}s recorded, one series (or band) per run against the step. Needs
 * XChart ({@code org.knowm.xchart:xchart}) on the classpath: bn-layers declares it optional, since only these
 * charts use it. Charts drawn (each only when its probe was recorded), with {@code prefix} before each name:
 * <ul>
 *   <li>{@code loss_landscape.png}: the min–max band over η of L(w − ηg) (Santurkar et al.'s figure);</li>
 *   <li>{@code gradient_predictiveness.png}: the min–max band of ‖∇L(w) − ∇L(w − ηg)‖ (log axis);</li>
 *   <li>{@code beta_smoothness.png}: the effective β-smoothness, max over η (log axis);</li>
 *   <li>{@code ics.png} and {@code ics_diff.png}: cos(G, G') and ‖G − G'‖ per run and layer;</li>
 *   <li>{@code gradient_norms.png}: ‖∂L/∂W‖ per run and layer (log axis);</li>
 *   <li>{@code saturation.png}: the saturated fraction per run and site;</li>
 *   <li>{@code activations_<site>.png}: the 5th–95th percentile band of channel 0 per run, one chart per site, and
 *       {@code activation_drift.png}: the drift per run and site (log axis).</li>
 * </ul>
 * Non-finite values, and non-positive ones on a log axis, are left out.
 */
public final class DiagnosticsCharts {

    private static final Color[] COLORS = new XChartSeriesColors().getSeriesColors();

    private DiagnosticsCharts() {
    }

    /**
     * Writes the charts of {@code runs} (run name → its listener) to {@code dir}.
     *
     * @return the files written
     */
    public static List<Path> write(Path dir, String prefix, Map<String, DiagnosticsListener> runs) throws IOException {
        Files.createDirectories(dir);
        List<Path> out = new ArrayList<>();
        Charts c = new Charts(dir, prefix, out);
        if (runs.values().stream().anyMatch(l -> !l.landscapes().isEmpty())) {
            c.bands("loss_landscape", "Loss landscape: range of L(w - eta g) over the step sizes", "loss", false, runs,
                    l -> l.landscapes(), Landscape::lossMin, Landscape::lossMax);
            c.bands("gradient_predictiveness", "Gradient predictiveness: range of ||grad L(w) - grad L(w - eta g)||",
                    "l2 change of the gradient (log)", true, runs, l -> l.landscapes(), Landscape::gradDiffMin, Landscape::gradDiffMax);
            XYChart ch = chart("Effective beta-smoothness: max over eta of ||grad change|| / ||eta g||", "effective beta (log)", true);
            runs.forEach((run, l) -> c.line(ch, run, l.landscapes(), Landscape::betaMax, true));
            c.save(ch, "beta_smoothness");
        }
        if (runs.values().stream().anyMatch(l -> !l.covariateShifts().isEmpty())) {
            XYChart cos = chart("Internal covariate shift: cos(G, G') per layer", "cos(G, G')", false);
            XYChart diff = chart("Internal covariate shift: ||G - G'|| per layer", "||G - G'|| (log)", true);
            runs.forEach((run, l) -> {
                Set<String> layers = new LinkedHashSet<>();
                l.covariateShifts().forEach(p -> p.value().forEach(s -> layers.add(s.layer())));
                for (String layer : layers) {
                    Function<List<CovariateShift>, CovariateShift> pick =
                            v -> v.stream().filter(s -> s.layer().equals(layer)).findFirst().orElseThrow();
                    c.line(cos, run + " " + layer, l.covariateShifts(), v -> pick.apply(v).cosine(), false);
                    c.line(diff, run + " " + layer, l.covariateShifts(), v -> pick.apply(v).diffNorm(), true);
                }
            });
            c.save(cos, "ics");
            c.save(diff, "ics_diff");
        }
        if (runs.values().stream().anyMatch(l -> !l.gradientNorms().isEmpty())) {
            XYChart ch = chart("Gradient norm per weight layer", "||dL/dW|| (log)", true);
            runs.forEach((run, l) -> keys(l.gradientNorms()).forEach(layer ->
                    c.line(ch, run + " " + layer, l.gradientNorms(), v -> v.get(layer), true)));
            c.save(ch, "gradient_norms");
        }
        if (runs.values().stream().anyMatch(l -> !l.saturation().isEmpty())) {
            XYChart ch = chart("Saturated fraction of the activations", "saturated fraction", false);
            runs.forEach((run, l) -> keys(l.saturation()).forEach(site ->
                    c.line(ch, run + " " + site, l.saturation(), v -> v.get(site), false)));
            c.save(ch, "saturation");
        }
        if (runs.values().stream().anyMatch(l -> !l.activations().isEmpty())) {
            Set<Site> sites = new LinkedHashSet<>();
            runs.values().forEach(l -> sites.addAll(keys(l.activations())));
            XYChart drift = chart("Drift of the activation distribution between probes (mean |dmean|+|dstd| per channel / std)",
                    "relative drift (log)", true);
            for (Site site : sites) {
                c.bands("activations_" + site.toString().replace(':', '_'), "Activations at " + site
                                + ", channel 0: 5th-95th percentile", "value", false, runs, l -> l.activations().stream()
                                .filter(p -> p.value().containsKey(site)).toList(),
                        v -> v.get(site).stats().q05(), v -> v.get(site).stats().q95());
                runs.forEach((run, l) -> c.line(drift, run + " " + site, l.activations().stream()
                        .filter(p -> p.value().containsKey(site)).toList(), v -> v.get(site).drift(), true));
            }
            c.save(drift, "activation_drift");
        }
        return out;
    }

    private static <K, V> Set<K> keys(List<DiagnosticsListener.Probed<Map<K, V>>> probes) {
        Set<K> k = new LinkedHashSet<>();
        probes.forEach(p -> k.addAll(p.value().keySet()));
        return k;
    }

    private static XYChart chart(String title, String yTitle, boolean logY) {
        XYChart chart = new XYChartBuilder().width(900).height(560).title(title).xAxisTitle("step").yAxisTitle(yTitle).build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotGridLinesVisible(true);
        chart.getStyler().setYAxisLogarithmic(logY);
        chart.getStyler().setAntiAlias(true);
        return chart;
    }

    /** Adds series to charts and saves them. */
    private static final class Charts {
        private final Path dir;
        private final String prefix;
        private final List<Path> written;
        private int color;

        Charts(Path dir, String prefix, List<Path> written) {
            this.dir = dir;
            this.prefix = prefix;
            this.written = written;
        }

        <T> void line(XYChart chart, String name, List<DiagnosticsListener.Probed<T>> probes, ToDoubleFunction<T> y, boolean logY) {
            List<double[]> pts = new ArrayList<>();
            for (DiagnosticsListener.Probed<T> p : probes) {
                double v = y.applyAsDouble(p.value());
                if (Double.isFinite(v) && (!logY || v > 0)) {
                    pts.add(new double[] {p.step(), v});
                }
            }
            if (!pts.isEmpty()) {
                XYSeries s = chart.addSeries(name, pts.stream().mapToDouble(a -> a[0]).toArray(),
                        pts.stream().mapToDouble(a -> a[1]).toArray());
                s.setMarker(SeriesMarkers.CIRCLE);
            }
        }

        /** A chart of min–max bands over the steps, one translucent polygon with its edges per run. */
        <T> void bands(String file, String title, String yTitle, boolean logY, Map<String, DiagnosticsListener> runs,
                       Function<DiagnosticsListener, List<DiagnosticsListener.Probed<T>>> probes,
                       ToDoubleFunction<T> lo, ToDoubleFunction<T> hi) throws IOException {
            XYChart chart = chart(title, yTitle, logY);
            color = 0;
            for (Map.Entry<String, DiagnosticsListener> run : runs.entrySet()) {
                List<double[]> pts = new ArrayList<>();
                for (DiagnosticsListener.Probed<T> p : probes.apply(run.getValue())) {
                    double a = lo.applyAsDouble(p.value());
                    double b = hi.applyAsDouble(p.value());
                    if (Double.isFinite(a) && Double.isFinite(b) && (!logY || a > 0)) {
                        pts.add(new double[] {p.step(), a, b});
                    }
                }
                Color col = COLORS[color++ % COLORS.length];
                if (pts.isEmpty()) {
                    continue;
                }
                int n = pts.size();
                double[] x = new double[n];
                double[] l = new double[n];
                double[] h = new double[n];
                double[] px = new double[2 * n];
                double[] py = new double[2 * n];
                for (int i = 0; i < n; i++) {
                    x[i] = pts.get(i)[0];
                    l[i] = pts.get(i)[1];
                    h[i] = pts.get(i)[2];
                    px[i] = x[i];
                    py[i] = h[i];
                    px[2 * n - 1 - i] = x[i];
                    py[2 * n - 1 - i] = l[i];
                }
                XYSeries poly = chart.addSeries(run.getKey(), px, py);
                poly.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.PolygonArea);
                poly.setFillColor(new Color(col.getRed(), col.getGreen(), col.getBlue(), 70));
                poly.setLineColor(col);
                poly.setMarker(SeriesMarkers.NONE);
                for (double[] edge : new double[][] {l, h}) {
                    XYSeries e = chart.addSeries(run.getKey() + (edge == l ? " min" : " max"), x, edge);
                    e.setLineColor(col);
                    e.setMarker(SeriesMarkers.NONE);
                    e.setShowInLegend(false);
                }
            }
            save(chart, file);
        }

        void save(XYChart chart, String name) throws IOException {
            if (chart.getSeriesMap().isEmpty()) {
                return;
            }
            Path png = dir.resolve(prefix + name + ".png");
            BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
            written.add(png);
        }
    }
}
