package org.bn4j.examples.compare;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.bn4j.examples.CommonOptions;
import org.bn4j.examples.data.FashionMnist;
import org.bn4j.examples.nets.Mlp;
import org.bn4j.examples.nets.Variant;
import org.bn4j.examples.util.Report;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code compare}: the normalization layers of bn4j, no normalization, and a SELU network without normalization, in
 * the same MLP ({@link Mlp}: 784 → 256 → [norm] → activation → 10 softmax), same seed, same initialization of the
 * shared layers, same batch order; the three parts of {@link Comparison} (accuracy and time per epoch, the largest
 * learning rate that trains, accuracy at small batch sizes). The bn4j layers are the library's catalog entries
 * ({@link Variant}); instance norm ({@code in}) is not among them: it normalizes each channel of a sample over its
 * positions, and a feature vector has one position per channel, so the layer rejects feed-forward input.
 *
 * <p>The default is the README's main job, a shorter protocol ({@link Comparison.Plan#FAST}; its measured time is in
 * bn-examples/README.md);
 * {@code --full} runs the protocol of the documented results ({@link Comparison.Plan#FULL}).
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train the same small MLP (784 -> 256 -> [norm] -> ReLU -> 10 softmax) with every normalization layer "
                + "that takes a feature vector, none, and SELU without normalization on Fashion-MNIST: test accuracy and "
                + "time per epoch, a learning-rate sweep (largest rate that still trains) and accuracy at small batch sizes. "
                + "The default run is sized for a few minutes; --full runs the longer protocol of docs/experiments.md.",
                "Instance norm (in) is left out: it normalizes each channel of a sample over its positions, and a feature "
                        + "vector has one value per channel, so the layer rejects feed-forward input.",
                "Writes epochs.csv, steps.csv, lr_sweep.csv, batch_sizes.csv, test_accuracy.png, train_loss.png, "
                        + "lr_sweep.png, batch_sizes.png and summary.md to the output directory."})
public class CompareCommand implements Callable<Integer> {

    /** The runs of the default (ghost-lp1, dl4j-bn and lp2 on request). */
    public static final String DEFAULT_VARIANTS = "none,selu,bn,lp1,lpinf,ghost,noisy,noise,renorm,ln,gn,rms,wn";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--variants", paramLabel = "LIST", split = ",", defaultValue = DEFAULT_VARIANTS,
            description = "Runs, comma separated (default: ${DEFAULT-VALUE}). Known: none, selu, bn, dl4j-bn (DL4J's built-in "
                    + "batch norm, a reference), lp1, lp2, lpinf, ghost, noisy, noise, renorm (batch renormalization), ln, "
                    + "gn (group norm, 32 groups of the hidden features), rms (RMS norm), ghost-lp1 (ghost L1 batch norm), "
                    + "wn (weight norm).")
    List<String> variants;

    @Mixin
    ComparisonOptions opts;

    @Option(names = "--optimizer", paramLabel = "sgd|adam", defaultValue = "sgd",
            description = "Plain SGD (no momentum) or Adam for the accuracy part (default: ${DEFAULT-VALUE}).")
    String optimizer;

    @Option(names = "--hidden", paramLabel = "N", defaultValue = "256", description = "Hidden width (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        try {
            opts.validate();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        IUpdater updater = updater();
        List<Variant> vs;
        try {
            vs = Variant.parse(variants, common.seed);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "--variants: " + e.getMessage());
        }
        for (Variant v : vs) {
            try {
                Mlp.conf(FashionMnist.PIXELS, new int[] {hidden}, FashionMnist.CLASSES, v, Activation.RELU, updater, common.seed);
            } catch (RuntimeException e) {
                throw new CommandLine.ParameterException(cl, "--variants: '" + v.name() + "' (" + v.describe() + ") cannot go in "
                        + "compare's MLP, whose norm layer gets feature vectors [N, " + hidden + "]: " + e.getMessage());
            }
        }
        return common.eachSeed(1, dir -> run(dir, updater));
    }

    private void run(Path dir, IUpdater updater) throws IOException {
        FashionMnist data = common.loadData();
        boolean subset = data.isSubset();
        data = opts.limit(data, common);
        Comparison.Settings s = opts.settings(data, subset, common, updater, updaterText(), FashionMnist.Shape.FLAT);
        Comparison.Plan plan = s.plan();

        System.out.printf(Locale.ROOT, "compare (%s): 784 -> %d -> [norm] -> ReLU (SELU for selu) -> 10 softmax; %s; batch %d; "
                        + "%d epoch(s) over %d training images, tested on %d; seed %d%n", opts.protocolName(common), hidden,
                updaterText(), opts.batch, plan.epochs(), plan.trainExamples(), data.test().size(), common.seed);
        List<Comparison.Run> runs = new ArrayList<>();
        for (Variant v : Variant.parse(variants, common.seed)) { // per seed: the noise seed of noisy, noise
            runs.add(new Comparison.Run(v.name(), v.describe(), u -> net(v, u)));
        }
        Comparison.Result r = Comparison.run(dir, data, s, runs);
        Comparison.print(r, dir, "Fashion-MNIST MLP");
        summary(r).write(dir.resolve("summary.md"));
        System.out.println();
        System.out.println("Wrote " + dir.toAbsolutePath() + "/{epochs.csv,steps.csv,lr_sweep.csv,batch_sizes.csv,*.png,summary.md}");
    }

    private MultiLayerNetwork net(Variant v, IUpdater u) {
        Nd4j.getRandom().setSeed(common.seed);
        return Mlp.build(FashionMnist.PIXELS, new int[] {hidden}, FashionMnist.CLASSES, v, Activation.RELU, u, common.seed);
    }

    private IUpdater updater() {
        return switch (optimizer.toLowerCase(Locale.ROOT)) {
            case "sgd" -> new Sgd(opts.lr != null ? opts.lr : 0.1);
            case "adam" -> new Adam(opts.lr != null ? opts.lr : 1e-3);
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--optimizer must be sgd or adam, got " + optimizer);
        };
    }

    private String updaterText() {
        boolean sgd = optimizer.equalsIgnoreCase("sgd");
        double rate = opts.lr != null ? opts.lr : (sgd ? 0.1 : 1e-3);
        return (sgd ? "plain SGD" : "Adam") + " lr " + Report.num(rate);
    }

    private Report summary(Comparison.Result r) throws IOException {
        Report rep = new Report("compare: the normalization layers in the same MLP", common.commandLine());
        Comparison.table(r, rep);
        FashionMnist data = r.data();
        Comparison.Settings s = r.settings();
        Comparison.Plan p = s.plan();
        String sweepTest = p.sweepTestImages(data.test().size());
        rep.heading("Setup");
        rep.text("- " + opts.protocol(common) + (p.trainEval() > 0 ? "; training accuracy "
                + "on the first " + p.trainEval() + " training images after every epoch (epochs.csv)" : "") + ".");
        rep.text("- Data: " + data.source() + "; " + data.train().size() + " training and " + data.test().size() + " test images.");
        rep.text(String.format(Locale.ROOT, "- Inputs: pixels scaled to [0,1], standardized with one scalar mean and std of the "
                + "training images a part uses (all %d: mean %.4f, std %.4f); features [N,784], one-hot labels.",
                data.train().size(), data.mean(), data.std()));
        rep.text("- Network: 784 → " + hidden + " (dense, no bias when followed by a norm layer) → [norm] → ReLU → 10 softmax, "
                + "cross-entropy, Xavier (Glorot) uniform init, float32, no regularization; the selu run uses SELU and LeCun "
                + "normal init without a norm layer; the wn run replaces the dense layer by WeightNormDense (data-dependent "
                + "init, with bias) and has no norm layer. The norm layers are the library's catalog entries with their "
                + "defaults (org.bn4j.layers.Catalog). Ghost batch norm uses ghost batches of " + Variant.GHOST_BATCH
                + " (at batch sizes up to " + Variant.GHOST_BATCH + " it is plain batch norm); group norm splits the "
                + hidden + " features into " + org.bn4j.layers.Catalog.GROUPS + " groups; instance norm is not run "
                + "(a feature vector has one value per channel: the layer rejects feed-forward input).");
        rep.text("- Accuracy part: " + s.updaterText() + ", batch " + s.batch() + " (reshuffled every epoch, incomplete last batch "
                + "dropped), " + p.epochs() + " epoch(s) over the first " + p.trainExamples() + " training images; evaluation "
                + "in inference mode (DL4J's Evaluation) on the whole test set after every epoch. Time per epoch is the "
                + "training time only (no evaluation).");
        rep.text("- Learning-rate part: plain SGD at lr " + s.lrs() + ", batch " + s.batch() + ", one pass over the first "
                + p.lrExamples() + " training images, evaluated on " + sweepTest + "; a rate trains when the run does not "
                + "diverge and reaches test accuracy ≥ " + s.trainsAt() + ".");
        rep.text("- Small-batch part: batch sizes " + s.batchSizes() + ", plain SGD lr " + Report.num(s.batchLr())
                + ", one pass over the first " + p.batchExamples() + " training images (so smaller batches take more steps), "
                + "evaluated on " + sweepTest + ".");
        rep.text("- Seed " + common.seed + " for initialization, batch order and noise; every run starts from the same seed. "
                + "One seed: rerun with other `--seed` values to see the spread.");
        rep.machine(r.seconds());
        return rep;
    }
}
