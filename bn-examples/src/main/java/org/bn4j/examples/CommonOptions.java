package org.bn4j.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.bn4j.examples.data.FashionMnist;
import org.bn4j.examples.util.Seeds;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Options shared by every experiment subcommand (a picocli mixin). */
public class CommonOptions {

    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "N",
            description = "Random seed for initialization and batch order (default: ${DEFAULT-VALUE}).")
    public long seed;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Output directory for CSV, PNG and summary files (default: results/<command>).")
    public Path out;

    @Option(names = "--quick", description = "A small, fast run (well under a minute) to check that everything works.")
    public boolean quick;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Directory with the four Fashion-MNIST IDX files (.gz or plain), or 'subset' for the "
                    + "bundled subset. Default: " + FashionMnist.SYSTEM_DIR_NAME + " if present, else the bundled subset.")
    public String data;

    @Option(names = "--seeds", paramLabel = "N",
            description = "Run N times, with seeds --seed, --seed + 1, ..., each into DIR/seed-S, and summarize them in "
                    + "DIR/summary.md: every figure as mean ± standard deviation over the seeds, every verdict per seed "
                    + "(default: 1, or 3 with --paper).")
    public Integer seeds;

    @Option(names = "--no-progress", description = "No progress bar; print one line per epoch instead.")
    public boolean noProgress;

    /** The output directory: {@code --out}, or {@code results/<command name>}. */
    public Path outDir() {
        return out != null ? out : Path.of("results", mixee.name());
    }

    /** A command's work for one seed, writing its results to {@code dir}. */
    @FunctionalInterface
    public interface SeedRun {
        void run(Path dir) throws Exception;
    }

    /**
     * Runs {@code work} once per seed ({@code --seeds}, else {@code defaultSeeds}): with one seed into {@link #outDir},
     * with several into its {@code seed-S} subdirectories ({@link #seed} set to S for each), then writes their summary
     * ({@link Seeds}). Returns the command's exit code.
     */
    public int eachSeed(int defaultSeeds, SeedRun work) throws Exception {
        Path dir = outDir();
        Files.createDirectories(dir);
        int n = seeds != null ? seeds : defaultSeeds;
        if (n < 1) {
            throw new ParameterException(mixee.commandLine(), "--seeds must be at least 1, got " + n);
        }
        if (n == 1) {
            work.run(dir);
            return 0;
        }
        long first = seed;
        List<Long> list = new ArrayList<>();
        List<Path> dirs = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                seed = first + i;
                Path d = dir.resolve("seed-" + seed);
                Files.createDirectories(d);
                System.out.println("=== seed " + seed + " (" + (i + 1) + " of " + n + "), into " + d);
                work.run(d);
                list.add(seed);
                dirs.add(d);
            }
        } finally {
            seed = first;
        }
        Seeds.summarize(dir, dirs, list, commandLine());
        System.out.println("Wrote the summary of " + n + " seeds: " + dir.resolve("summary.md").toAbsolutePath());
        return 0;
    }

    /** The command as typed: {@code bn4j-examples <command> <arguments>} (the whole command line's arguments). */
    public String commandLine() {
        picocli.CommandLine.ParseResult root = root().getParseResult();
        List<String> args = root != null ? root.originalArgs()
                : List.of(mixee.name());
        return "bn4j-examples " + String.join(" ", args);
    }

    /** The parse result of the command (null before parsing), found from the top of the command line. */
    public picocli.CommandLine.ParseResult parseResult() {
        picocli.CommandLine.ParseResult pr = root().getParseResult();
        while (pr != null && pr.commandSpec() != mixee) {
            pr = pr.subcommand();
        }
        return pr != null ? pr : mixee.commandLine().getParseResult();
    }

    private picocli.CommandLine root() {
        picocli.CommandLine c = mixee.commandLine();
        while (c.getParent() != null) {
            c = c.getParent();
        }
        return c;
    }

    /** Loads Fashion-MNIST as chosen by {@code --data}, printing which data is used. */
    public FashionMnist loadData() throws IOException {
        return FashionMnist.load(data, System.out::println);
    }
}
