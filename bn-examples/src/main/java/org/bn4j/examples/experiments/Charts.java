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

    /** A run's values of column {@code y}. */
    public static double[] values(MetricsLog log, String y, String runName) {
        int run = log.index("run");
        return log.column(y, r -> r[run].equals(runName));
    }
}
