package org.bn4j.examples.util;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** PNG line charts with XChart (headless). */
public final class Plots {

    static {
        System.setProperty("java.awt.headless", "true");
    }

    private Plots() {
    }

    /** One line: a name and its points. */
    public record Series(String name, double[] x, double[] y) {
        public Series {
            if (x.length != y.length) {
                throw new IllegalArgumentException(name + ": " + x.length + " x values, " + y.length + " y values");
            }
        }
    }

    /** Options beyond the titles. */
    public record Style(boolean markers, boolean logY, Double yMin, Double yMax, Styler.LegendPosition legend,
                        boolean logX) {
        public static final Style LINES = new Style(false, false, null, null, Styler.LegendPosition.InsideSE, false);
        public static final Style MARKERS = new Style(true, false, null, null, Styler.LegendPosition.InsideSE, false);

        public Style withYRange(Double min, Double max) {
            return new Style(markers, logY, min, max, legend, logX);
        }

        public Style withLogY() {
            return new Style(markers, true, yMin, yMax, legend, logX);
        }

        public Style withLogX() {
            return new Style(markers, logY, yMin, yMax, legend, true);
        }

        public Style withLegend(Styler.LegendPosition p) {
            return new Style(markers, logY, yMin, yMax, p, logX);
        }
    }

    /** Writes a line chart to {@code png} (the extension {@code .png} is added if missing). */
    public static Path lineChart(Path png, String title, String xTitle, String yTitle, List<Series> series, Style style)
            throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(560).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        Styler st = chart.getStyler();
        chart.getStyler().setLegendPosition(style.legend());
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotGridLinesVisible(true);
        chart.getStyler().setYAxisLogarithmic(style.logY());
        chart.getStyler().setXAxisLogarithmic(style.logX());
        if (style.yMin() != null) {
            chart.getStyler().setYAxisMin(style.yMin());
        }
        if (style.yMax() != null) {
            chart.getStyler().setYAxisMax(style.yMax());
        }
        st.setAntiAlias(true);
        for (Series s : series) {
            XYSeries xy = chart.addSeries(s.name(), s.x(), s.y());
            if (!style.markers()) {
                xy.setMarker(SeriesMarkers.NONE);
            }
        }
        return save(chart, png);
    }

    private static Path save(XYChart chart, Path png) throws IOException {
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        String name = png.toString();
        if (!name.endsWith(".png")) {
            name = name + ".png";
        }
        BitmapEncoder.saveBitmap(chart, name, BitmapEncoder.BitmapFormat.PNG);
        return Path.of(name);
    }

    /** Trailing moving average over up to {@code window} points (shorter at the start). */
    public static double[] movingAverage(double[] y, int window) {
        double[] out = new double[y.length];
        double sum = 0;
        for (int i = 0; i < y.length; i++) {
            sum += y[i];
            if (i >= window) {
                sum -= y[i - window];
            }
            out[i] = sum / Math.min(i + 1, window);
        }
        return out;
    }
}
