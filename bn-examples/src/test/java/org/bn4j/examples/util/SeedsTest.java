package org.bn4j.examples.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The summary over seeds: each figure's mean, standard deviation and range, each verdict's agreement. */
class SeedsTest {

    @Test
    void numericCellsAreMeanSdAndRange() {
        // 0.80, 0.84, 0.88: mean 0.84, sample standard deviation 0.04
        assertEquals("0.84 ± 0.04 [0.8, 0.88]", Seeds.cell(List.of("0.80", "0.84", "0.88"), 3));
        assertEquals("84.0% ± 4.0% [80.0%, 88.0%]", Seeds.cell(List.of("80.0%", "84.0%", "88.0%"), 3));
        assertEquals("0.5", Seeds.cell(List.of("0.5", "0.5", "0.5"), 3), "the same in every seed: shown once");
        assertEquals("0.5 / diverged at step 7 / 0.6", Seeds.cell(List.of("0.5", "diverged at step 7", "0.6"), 3),
                "a text among numbers: every seed's text");
        assertEquals("0.5 / 0.6", Seeds.cell(List.of("0.5", "0.6"), 3), "a seed without the cell: no mean of the rest");
        assertEquals("noisy, noise seed 42/43/44 (n 8)", Seeds.cell(List.of("noisy, noise seed 42 (n 8)",
                "noisy, noise seed 43 (n 8)", "noisy, noise seed 44 (n 8)"), 3), "texts that differ in a number");
        assertEquals("diverged at step 46 / diverged at step 52 / trained", Seeds.cell(List.of("diverged at step 46",
                "diverged at step 52", "trained"), 3), "texts of different shapes: joined whole");
    }

    @Test
    void verdictsHoldOnlyWhenEverySeedAgrees(@TempDir Path dir) throws IOException {
        Report.Outcome[][] outcomes = {
                {Report.Outcome.HELD, Report.Outcome.NOT_HELD},
                {Report.Outcome.HELD, Report.Outcome.NOT_HELD},
                {Report.Outcome.HELD, Report.Outcome.HELD}};
        List<Path> dirs = new java.util.ArrayList<>();
        for (int s = 0; s < outcomes.length; s++) {
            Path d = Files.createDirectories(dir.resolve("seed-" + s));
            Report rep = new Report("toy", "toy --seed " + s)
                    .verdict("claim A", outcomes[s][0], "a" + s)
                    .verdict("claim B", outcomes[s][1], "b" + s)
                    .table(List.of("run", "acc"), List.of(List.of("bn", String.valueOf(0.8 + 0.01 * s))));
            if (s == 2) {
                rep.verdict("claim C", Report.Outcome.HELD, "c2"); // only the last seed decides it
            }
            rep.write(d.resolve("summary.md"));
            dirs.add(d);
        }
        Seeds.summarize(dir, dirs, List.of(0L, 1L, 2L), "toy --seeds 3");
        String md = Files.readString(dir.resolve("summary.md"));
        assertTrue(md.startsWith("# toy — 3 seeds"), md);
        assertTrue(md.contains("**Verdict: held.** Claim: claim A Measured: seed 0: held (a0); seed 1: held (a1); seed 2: held (a2)"), md);
        assertTrue(md.contains("**Verdict: the seeds disagree.** Claim: claim B"), md);
        assertTrue(md.contains("| bn | 0.81 ± 0.01 [0.8, 0.82] |"), md);
        assertTrue(md.contains("**Verdict: the seeds disagree.** Claim: claim C Measured: seed 0: not decided; seed 1: not "
                + "decided; seed 2: held (c2)"), md);
        assertTrue(Files.exists(dir.resolve("summary.csv")));
    }
}
