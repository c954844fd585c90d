package org.bn4j.diagnostics;

import java.util.List;

/**
 * The landscape along the gradient at one point of training (Santurkar et al. 2018, "How Does Batch Normalization
 * Help Optimization?", §3.1): with g the gradient at the parameters w, for each step size η the loss L(w − ηg)
 * (loss landscape), the gradient change ‖∇L(w) − ∇L(w − ηg)‖₂ (gradient predictiveness) and its ratio to ‖ηg‖₂
 * (effective β-smoothness).
 *
 * @param loss     L(w)
 * @param gradNorm ‖g‖₂
 * @param points   one point per step size, in the order given
 */
public record Landscape(double loss, double gradNorm, List<Point> points) {

    /** One step size η: L(w − ηg), ‖∇L(w) − ∇L(w − ηg)‖₂, and that change divided by ‖ηg‖₂. */
    public record Point(double eta, double loss, double gradDiff, double beta) {
    }

    public double lossMin() {
        return points.stream().mapToDouble(Point::loss).min().orElse(Double.NaN);
    }

    public double lossMax() {
        return points.stream().mapToDouble(Point::loss).max().orElse(Double.NaN);
    }

    /** max − min over η of L(w − ηg). */
    public double lossRange() {
        return lossMax() - lossMin();
    }

    public double gradDiffMin() {
        return points.stream().mapToDouble(Point::gradDiff).min().orElse(Double.NaN);
    }

    public double gradDiffMax() {
        return points.stream().mapToDouble(Point::gradDiff).max().orElse(Double.NaN);
    }

    /** Effective β-smoothness: max over η of ‖∇L(w) − ∇L(w − ηg)‖₂ / ‖ηg‖₂. */
    public double betaMax() {
        return points.stream().mapToDouble(Point::beta).max().orElse(Double.NaN);
    }
}
