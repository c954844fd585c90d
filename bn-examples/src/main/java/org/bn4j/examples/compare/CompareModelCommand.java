package org.bn4j.examples.compare;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.bn4j.examples.CommonOptions;
import org.bn4j.examples.data.FashionMnist;
import org.bn4j.examples.util.Report;
import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code compare-model}: {@code compare} on the user's own network ({@link ModelCompare}): its normalization layers
 * replaced by each chosen variant, every variant trained from the same weights and measured with {@link Comparison}.
 */
@Command(name = "compare-model", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Compare normalization variants on your own network: its normalization layers (DL4J's "
                + "BatchNormalization or any bn4j layer) are replaced by each variant with bn4j's NormConverter, and every "
                + "variant is trained from the same weights (the normalization layers fresh) and measured as compare does: "
                + "test accuracy and time per epoch, the training loss of every step, the largest learning rate that trains "
                + "(plain SGD) and accuracy at small batch sizes.",
                "--model: a ModelSerializer zip of a MultiLayerNetwork or ComputationGraph (read only), or a class on the "
                        + "class path giving one: com.example.Nets#method (public static, no arguments) or com.example.Nets "
                        + "(its only such method, or its public no-argument constructor).",
                "--data DIR: a directory with the four IDX files named and laid out as Fashion-MNIST's "
                        + "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; "
                        + ".gz or plain): 28x28 grey images and labels 0..9. The features are [N,784]; a network whose input "
                        + "is convolutional gets them reshaped to [N,1,28,28] (NCHW). The network must output 10 classes.",
                "Writes epochs.csv, steps.csv, lr_sweep.csv, batch_sizes.csv, test_accuracy.png, train_loss.png, "
                        + "lr_sweep.png, batch_sizes.png and summary.md to the output directory."})
public class CompareModelCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "FILE|CLASS",
            description = "The network: a ModelSerializer zip, or a factory class (see above).")
    String modelSpec;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--variants", paramLabel = "LIST", split = ",",
            description = "Variants, comma separated (default: model,bn,lp1,ghost,renorm,ln,gn,rms, leaving out those that "
                    + "cannot replace the model's layers, such as gn when 32 groups do not divide the channels; a variant "
                    + "named here that cannot is an error). model = the model's own layers (with fresh parameters); known: "
                    + "model, bn, dl4j-bn, lp1, lp2, lpinf, ghost, noisy, noise, renorm, ln, gn, in, rms, ghost-lp1.")
    List<String> variants;

    @Option(names = "--init", paramLabel = "fresh|model", defaultValue = "fresh",
            description = "What the layers other than the normalization layers start from, the same in every run: fresh "
                    + "(initialized from the model's configuration with --seed) or model (the model's own weights) "
                    + "(default: ${DEFAULT-VALUE}).")
    String init;

    @Mixin
    ComparisonOptions opts;

    @Option(names = "--optimizer", paramLabel = "model|sgd|adam", defaultValue = "model",
            description = "Updater of the accuracy part: the model's own, plain SGD or Adam on every layer (default: "
                    + "${DEFAULT-VALUE}). The sweeps always use plain SGD.")
    String optimizer;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        IUpdater updater;
        try {
            opts.validate();
            updater = updater();
            if (!init.equals("fresh") && !init.equals("model")) {
                throw new IllegalArgumentException("--init: expected fresh or model, got " + init);
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "compare-model: " + e.getMessage(), e);
        }
        return common.eachSeed(1, dir -> run(cl, updater, dir));
    }

    private void run(CommandLine cl, IUpdater updater, Path dir) throws Exception {
        ModelCompare mc;
        try {
            Model model = ModelCompare.load(modelSpec);
            mc = ModelCompare.of(model, modelSpec, variants != null ? variants : ModelCompare.DEFAULT_VARIANTS,
                    variants == null, common.seed, init.equals("model"));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "compare-model: " + e.getMessage(), e);
        }
        FashionMnist data = common.loadData();
        boolean subset = data.isSubset();
        data = opts.limit(data, common);
        Comparison.Settings s = opts.settings(data, subset, common, updater, updaterText(), mc.shape());
        System.out.printf(Locale.ROOT, "compare-model (%s): %s, normalization layers %s; input %s; %s; batch %d; %d epoch(s) over "
                        + "%d training images, tested on %d; seed %d%n", opts.protocolName(common), modelSpec, mc.normLayers(),
                mc.shape() == FashionMnist.Shape.IMAGE ? "[N,1,28,28] (the model's input is convolutional: the [N,784] "
                        + "features are reshaped to NCHW images)" : "[N,784]", updaterText(), opts.batch, s.plan().epochs(),
                s.plan().trainExamples(), data.test().size(), common.seed);
        System.out.println("Variants: " + String.join(", ", mc.variants()));
        mc.skipped().forEach((v, why) -> System.out.println("Skipped " + v + ": " + why));
        Comparison.Result r;
        try {
            r = mc.run(data, dir, s);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "compare-model: " + e.getMessage(), e);
        }
        mc.report(r, dir, common.commandLine());
    }

    private IUpdater updater() {
        return switch (optimizer.toLowerCase(Locale.ROOT)) {
            case "model" -> null;
            case "sgd" -> new Sgd(opts.lr != null ? opts.lr : 0.1);
            case "adam" -> new Adam(opts.lr != null ? opts.lr : 1e-3);
            default -> throw new IllegalArgumentException("--optimizer: expected model, sgd or adam, got " + optimizer);
        };
    }

    private String updaterText() {
        return switch (optimizer.toLowerCase(Locale.ROOT)) {
            case "model" -> "the model's own updater";
            case "sgd" -> "plain SGD lr " + Report.num(opts.lr != null ? opts.lr : 0.1);
            default -> "Adam lr " + Report.num(opts.lr != null ? opts.lr : 1e-3);
        };
    }
}
