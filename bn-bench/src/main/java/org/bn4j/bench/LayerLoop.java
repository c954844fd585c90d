package org.bn4j.bench;

import java.util.Arrays;
import java.util.Locale;

/**
 * Runs one benchmark case in a loop for a while, for a sampling profiler to watch (async-profiler as a JVM agent:
 * see docs/performance-profile.md), and prints the median and spread of its calls.
 *
 * <pre>
 *   LayerLoop CASE [SECONDS [fwd|fwdbwd]]        CASE as in the bench, e.g. "lp1|bn4j|256x1024"
 * </pre>
 * The first 1,000 calls (or 5 s) are warm-up; an agent started with the JVM sees them too, so profile with an
 * interval and a duration that make them small, or start the agent after a delay.
 */
public final class LayerLoop {

    private LayerLoop() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) throw new IllegalArgumentException("usage: LayerLoop CASE [SECONDS [fwd|fwdbwd]]");
        Case c = Cases.get(args[0]);
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 10;
        String pass = args.length > 2 ? args[2] : "fwdbwd";
        try (Kernel k = c.create()) {
            long warmEnd = System.nanoTime() + 5_000_000_000L;
            for (int i = 0; i < 1000 && System.nanoTime() < warmEnd; i++) k.run(pass);
            double[] ms = new double[1 << 20];
            int n = 0;
            long end = System.nanoTime() + (long) (seconds * 1e9);
            while (System.nanoTime() < end && n < ms.length) {
                long t = System.nanoTime();
                k.run(pass);
                ms[n++] = (System.nanoTime() - t) / 1e6;
            }
            Arrays.sort(ms, 0, n);
            System.out.printf(Locale.ROOT, "%s %s: %d calls in %.0f s, median %.3f ms, 10th percentile %.3f, 90th %.3f%n",
                    c.id(), pass, n, seconds, ms[n / 2], ms[n / 10], ms[n * 9 / 10]);
        }
    }

}
