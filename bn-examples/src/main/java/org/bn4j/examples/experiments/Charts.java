package org.bn4j.examples.experiments;

import java.util.ArrayList;
import java.util.List;

import org.bn4j.examples.util.MetricsLog;
import org.bn4j.examples.util.Plots;

/** Series of a metrics log, one per run. */
public final class Charts {

    private Charts() {
    }

    /** One series per run: column {@code y} against column {@code x}, smoothed by a moving average of {@code smooth}. */
    public static List<Plots.Series> perRun(MetricsLog log, String x, String y, List<String> runs, int smooth) {
        List<Plots.Series> s = new ArrayList<>();
        int run = log.index("run");
        for (String name : runs) {
            double[] ys = log.column(y, r -> r[run].equals(name));
            if (ys.length == 0) {
                continue;
            }
            s.add(new Plots.Series(name, log.column(x, r -> r[run].equals(name)), smooth > 1 ? Plots.movingAverage(ys, smooth) : ys));
        }
        return s;
    }

    /** Same, for rows that also match {@code column = value}. */
    static List<Plots.Series> perRun(MetricsLog log, String x, String y, List<String> runs, String column, Object value) {
        List<Plots.Series> s = new ArrayList<>();
        int run = log.index("run");
        int c = log.index(column);
        for (String name : runs) {
            java.util.function.Predicate<Object[]> f = r -> r[run].equals(name) && r[c].equals(value);
            double[] ys = log.column(y, f);
            if (ys.length > 0) {
                s.add(new Plots.Series(name, log.column(x, f), ys));
            }
        }
        return s;
    }

    /** A run's values of column {@code y} (rows matching {@code column = value} when column is not null). */
    public static double[] values(MetricsLog log, String y, String runName, String column, Object value) {
        int run = log.index("run");
        int c = column == null ? -1 : log.index(column);
        return log.column(y, r -> r[run].equals(runName) && (c < 0 || r[c].equals(value)));
    }
}
