/**
 * Probes of a network in training, for any DL4J {@code MultiLayerNetwork} or {@code ComputationGraph}: the gradient
 * as the optimizer applies it, the loss landscape along the gradient with gradient predictiveness and effective
 * β-smoothness (Santurkar et al. 2018, §3.1), internal covariate shift (their Definition 2.1), weight-gradient norms,
 * saturation and activation distributions with their drift.
 *
 * <ul>
 *   <li>{@link org.bn4j.diagnostics.Probes}: the probes as functions; each restores the network exactly
 *       ({@link org.bn4j.diagnostics.NetworkState}).</li>
 *   <li>{@link org.bn4j.diagnostics.DiagnosticsListener}: a {@code TrainingListener} that records them during
 *       {@code fit()} without touching training, to memory, {@link org.bn4j.diagnostics.DiagnosticsCsv} files and
 *       {@link org.bn4j.diagnostics.DiagnosticsCharts} (XChart, an optional dependency).</li>
 * </ul>
 *
 * User guide, with the definitions and the file formats: the repository's {@code docs/diagnostics.md}.
 */
package org.bn4j.diagnostics;
