package org.bn4j.examples.data;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code make-subset}: regenerates the bundled Fashion-MNIST subset (see {@link MakeSubset}). */
@Command(name = "make-subset", mixinStandardHelpOptions = true,
        description = {"Write the class-balanced Fashion-MNIST subset that is bundled with bn-examples: "
                + "the first N training and M test images of each class, in file order, as gzipped IDX files.",
                "Run from the repository root to overwrite the bundled copy."})
public class MakeSubsetCommand implements Callable<Integer> {

    @Option(names = "--data", paramLabel = "DIR", description = "Full Fashion-MNIST directory (default: ${DEFAULT-VALUE}).",
            defaultValue = FashionMnist.SYSTEM_DIR_NAME)
    Path data;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Output directory (default: bn-examples/src/main/resources/fashion-mnist-subset).")
    Path out;

    @Option(names = "--train-per-class", defaultValue = "600", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int trainPerClass;

    @Option(names = "--test-per-class", defaultValue = "100", paramLabel = "M", description = "Default: ${DEFAULT-VALUE}.")
    int testPerClass;

    @Override
    public Integer call() throws Exception {
        MakeSubset.make(data, out != null ? out : MakeSubset.DEFAULT_OUT, trainPerClass, testPerClass);
        return 0;
    }
}
