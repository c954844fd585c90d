package org.bn4j.examples.util;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code summarize DIR}: the summary over seeds that {@code --seeds} writes, from the directories {@code DIR/seed-S}
 * of runs made separately, for instance one process per seed on a machine with several cores
 * ({@code noise --seed 43 --out DIR/seed-43}).
 */
@Command(name = "summarize", mixinStandardHelpOptions = true,
        description = {"Summarizes the runs of one command in DIR/seed-S (one directory per seed, as --seeds writes them, "
                + "or runs made separately with --seed S --out DIR/seed-S): every figure as mean ± standard deviation "
                + "over the seeds, every verdict per seed, the mean curves.", "Writes DIR/summary.md, summary.csv and the "
                + "mean_*.png charts."})
public class SummarizeCommand implements Callable<Integer> {

    @Parameters(paramLabel = "DIR", description = "Directory holding seed-S subdirectories, each with a summary.csv.")
    Path dir;

    @Override
    public Integer call() throws Exception {
        List<Path> dirs = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().matches("seed-\\d+") && Files.exists(p.resolve("summary.csv")))
                    .sorted(Comparator.comparingLong(SummarizeCommand::seed)).forEach(dirs::add);
        }
        if (dirs.size() < 2) {
            System.err.println("summarize: " + dir + " needs at least 2 seed-S directories with a summary.csv, found " + dirs.size());
            return 2;
        }
        Seeds.summarize(dir, dirs, dirs.stream().map(SummarizeCommand::seed).toList(), "bn4j-examples summarize " + dir);
        System.out.println("Wrote " + dir.resolve("summary.md").toAbsolutePath() + " (" + dirs.size() + " seeds)");
        return 0;
    }

    private static long seed(Path p) {
        return Long.parseLong(p.getFileName().toString().substring("seed-".length()));
    }
}
