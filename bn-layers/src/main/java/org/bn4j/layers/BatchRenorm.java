package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.ToString;

/**
 * Batch renormalization (Ioffe 2017): batch norm whose training output is corrected towards what the running
 * statistics would give, so that training and inference compute nearly the same function even with small or
 * non-i.i.d. batches:
 * <pre>
 *   σ_B = sqrt(σ²_B + ε),   σ = sqrt(var + ε)   (var, mean: the running statistics before this step)
 *   r = clip(σ_B / σ, 1/r_max, r_max),   d = clip((μ_B − mean) / σ, −d_max, d_max)
 *   y = γ ((x − μ_B)/σ_B · r + d) + β
 * </pre>
 * r and d are constants for the gradient (the paper's stop-gradient), so dx is batch norm's with γ replaced by γ·r.
 * With r = 1, d = 0 it is batch norm. The bounds are ramped as in the paper: r_max = 1 and d_max = 0 for the first
 * {@code warmupSteps} statistics updates, then linearly to {@code rMax} over {@code rMaxRampSteps} and to {@code dMax}
 * over {@code dMaxRampSteps}. The count lives in the {@code steps} state parameter, so it survives save and load.
 * Running statistics and inference are {@link BatchNorm}'s.
 *
 * <p>Defaults (the paper's): rMax 3, dMax 5, warm-up 5,000 steps, r_max reaching 3 at 40,000 steps and d_max reaching 5
 * at 25,000 (ramps of 35,000 and 20,000), plus {@link BatchNorm}'s. Shorter training wants shorter ramps. User guide:
 * {@code docs/batch-renorm.md}.
 */
@Getter
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class BatchRenorm extends BatchNorm {
    // (field names that Jackson's bean naming keeps as they are: a getter getRMax would name its property "rmax")
    /** Final upper bound of r (≥ 1). */
    protected double maxR;
    /** Final bound of |d| (≥ 0). */
    protected double maxD;
    /** Statistics updates with r_max = 1 and d_max = 0. */
    protected long warmupSteps;
    /** Statistics updates over which r_max goes from 1 to its final bound after the warm-up. */
    protected long rampStepsR;
    /** Statistics updates over which d_max goes from 0 to its final bound after the warm-up. */
    protected long rampStepsD;

    protected BatchRenorm(Builder b) {
        super(b);
        if (!(b.rMax >= 1)) throw new IllegalArgumentException("BatchRenorm: rMax must be >= 1, got " + b.rMax);
        if (!(b.dMax >= 0)) throw new IllegalArgumentException("BatchRenorm: dMax must be >= 0, got " + b.dMax);
        if (b.warmupSteps < 0 || b.rMaxRampSteps < 0 || b.dMaxRampSteps < 0) {
            throw new IllegalArgumentException("BatchRenorm: warm-up and ramp steps must be >= 0, got " + b.warmupSteps
                    + ", " + b.rMaxRampSteps + ", " + b.dMaxRampSteps);
        }
        if (!b.runningStats) throw new IllegalArgumentException("BatchRenorm: needs running statistics (r and d use them)");
        this.maxR = b.rMax;
        this.maxD = b.dMax;
        this.warmupSteps = b.warmupSteps;
        this.rampStepsR = b.rMaxRampSteps;
        this.rampStepsD = b.dMaxRampSteps;
    }

    /** For JSON. */
    public BatchRenorm() {
        this(new Builder());
        formatVersion = 1;
    }

    @Override
    public boolean renorm() {
        return true;
    }

    /** r_max after {@code steps} statistics updates. */
    public double rMaxAt(long steps) {
        return 1 + (maxR - 1) * ramp(steps, rampStepsR);
    }

    /** d_max after {@code steps} statistics updates. */
    public double dMaxAt(long steps) {
        return maxD * ramp(steps, rampStepsD);
    }

    private double ramp(long steps, long rampSteps) {
        if (steps < warmupSteps) return 0;
        return rampSteps == 0 ? 1 : Math.min(1.0, (double) (steps - warmupSteps) / rampSteps);
    }

    public static class Builder extends BaseBuilder<Builder> {
        protected double rMax = 3;
        protected double dMax = 5;
        protected long warmupSteps = 5_000;
        protected long rMaxRampSteps = 35_000;
        protected long dMaxRampSteps = 20_000;

        /** Final bound of r, ≥ 1 (default 3). */
        public Builder rMax(double rMax) {
            this.rMax = rMax;
            return this;
        }

        /** Final bound of |d|, ≥ 0 (default 5). */
        public Builder dMax(double dMax) {
            this.dMax = dMax;
            return this;
        }

        /**
         * The schedule: r_max = 1, d_max = 0 for {@code warmup} steps, then linear ramps to the final bounds over
         * {@code rMaxRamp} and {@code dMaxRamp} steps (defaults 5,000, 35,000, 20,000; all 0: the final bounds at once).
         */
        public Builder schedule(long warmup, long rMaxRamp, long dMaxRamp) {
            this.warmupSteps = warmup;
            this.rMaxRampSteps = rMaxRamp;
            this.dMaxRampSteps = dMaxRamp;
            return this;
        }

        @Override
        @SuppressWarnings("unchecked")
        public BatchRenorm build() {
            return new BatchRenorm(this);
        }
    }
}
