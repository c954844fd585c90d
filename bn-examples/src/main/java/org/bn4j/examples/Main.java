package org.bn4j.examples;

import org.bn4j.examples.compare.CompareCommand;
import org.bn4j.examples.compare.CompareModelCommand;
import org.bn4j.examples.data.MakeSubsetCommand;
import org.bn4j.examples.experiments.DecouplingCommand;
import org.bn4j.examples.experiments.IcsCommand;
import org.bn4j.examples.experiments.LandscapeCommand;
import org.bn4j.examples.experiments.LpCommand;
import org.bn4j.examples.experiments.NoiseCommand;
import org.bn4j.examples.experiments.SaturationCommand;
import org.bn4j.examples.util.OneDnnHelpers;
import org.bn4j.examples.util.SummarizeCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * Command line of the bn4j experiments. Run {@code --help}, or {@code <command> --help}.
 *
 * <pre>
 * mvn -B -q -pl bn-examples -am install -DskipTests
 * mvn -B -q -pl bn-examples exec:java -Dexec.args="compare"
 * </pre>
 */
@Command(name = "bn4j-examples", mixinStandardHelpOptions = true, version = "bn4j examples 0.1.0-SNAPSHOT",
        description = "Experiments with the bn4j normalization layers on Fashion-MNIST.",
        subcommands = {CompareCommand.class, CompareModelCommand.class, SaturationCommand.class, NoiseCommand.class, LandscapeCommand.class, IcsCommand.class,
                LpCommand.class, DecouplingCommand.class, MakeSubsetCommand.class, SummarizeCommand.class, CommandLine.HelpCommand.class, org.bn4j.examples.convert.ConvertCommand.class})
public class Main implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Runs the command line and returns the exit code (no System.exit; for tests). */
    public static int run(String... args) {
        System.setProperty("java.awt.headless", "true");
        OneDnnHelpers.enableUnlessSet();
        if (System.getenv("OMP_NUM_THREADS") == null) {
            System.err.println("Note: OMP_NUM_THREADS is not set, so ND4J runs one thread per core; on a busy machine "
                    + "OMP_NUM_THREADS=1 is often several times faster (measured in docs/experiments.md).");
        }
        return new CommandLine(new Main()).execute(args);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }
}
