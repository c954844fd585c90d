package org.bn4j.core;

/**
 * The running statistics rule, on the JVM (the statistics are a few vectors; a dozen small ND4J ops cost more than a
 * whole batch-norm forward at [256, 1024]).
 *
 * <p>A batch gives, per feature j, one or more statistics groups k (ghost batches, or one group per sample for
 * instance norm), each with its mean μ_kj, variance equivalent v_kj and count m_kj. Groups with fewer than
 * {@code minCount} values are left out. Each remaining group enters as
 * <pre>
 *   exponential:  mean ← decay·mean + (1 − decay)·μ,      var ← decay·var + (1 − decay)·v·m/(m − 1)
 *   cumulative:   mean ← mean + (μ − mean)/(t + 1),      var ← var + (v·m/(m − 1) − var)/(t + 1),   t ← t + 1
 * </pre>
 * (the factor m/(m − 1), Bessel's, only for centred statistics), in batch order, as separate steps; or, with
 * {@code average}, the groups' μ and corrected v are first averaged per feature and enter once (PyTorch's instance
 * norm with running statistics).
 *
 * @param decay      weight of the old value in the exponential rule
 * @param cumulative the cumulative average instead (t counts the statistics that entered so far)
 * @param average    average the groups of a feature first
 * @param center     the statistics are centred (apply Bessel's correction)
 * @param minCount   groups with fewer values are left out
 */
public record RunningStats(double decay, boolean cumulative, boolean average, boolean center, int minCount) {

    /**
     * Applies one batch's statistics in place.
     *
     * @param runMean running mean per feature (updated), or null without centring
     * @param runVar  running variance per feature (updated)
     * @param steps   statistics that entered so far (t of the cumulative rule)
     * @param mean    batch means, group-major [K × C] (K groups of C features), or null without centring
     * @param v       batch variance equivalents, [K × C]
     * @param count   values per group and feature, [K × C]
     * @return the new step count
     */
    public long update(double[] runMean, double[] runVar, long steps, double[] mean, double[] v, double[] count) {
        int c = runVar.length;
        int k = v.length / c;
        if (average) {
            double[] am = new double[c], av = new double[c];
            int[] n = new int[c];
            for (int g = 0; g < k; g++) {
                for (int j = 0; j < c; j++) {
                    int i = g * c + j;
                    if (count[i] < minCount) continue;
                    if (mean != null) am[j] += mean[i];
                    av[j] += corrected(v[i], count[i]);
                    n[j]++;
                }
            }
            boolean any = false;
            for (int j = 0; j < c; j++) {
                if (n[j] == 0) continue;
                any = true;
                apply(runMean, runVar, j, am[j] / n[j], av[j] / n[j], steps);
            }
            return any ? steps + 1 : steps;
        }
        for (int g = 0; g < k; g++) {
            boolean any = false;
            for (int j = 0; j < c; j++) {
                int i = g * c + j;
                if (count[i] < minCount) continue;
                any = true;
                apply(runMean, runVar, j, mean == null ? 0 : mean[i], corrected(v[i], count[i]), steps);
            }
            if (any) steps++;
        }
        return steps;
    }

    private void apply(double[] runMean, double[] runVar, int j, double mean, double var, long steps) {
        double w = cumulative ? 1.0 / (steps + 1) : 1 - decay;
        if (runMean != null) runMean[j] += w * (mean - runMean[j]);
        runVar[j] += w * (var - runVar[j]);
    }

    /** v·m/(m − 1) for centred statistics (m ≥ 2 here), v otherwise. */
    private double corrected(double v, double m) {
        return center ? v * m / (m - 1) : v;
    }
}
