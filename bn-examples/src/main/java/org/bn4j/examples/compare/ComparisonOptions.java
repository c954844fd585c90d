package org.bn4j.examples.compare;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;

import org.bn4j.examples.CommonOptions;
import org.bn4j.examples.data.FashionMnist;
import org.nd4j.linalg.learning.config.IUpdater;
import picocli.CommandLine.Option;

/**
 * The options of a {@link Comparison} that {@code compare} and {@code compare-model} share (a picocli mixin): the
 * parts, the sizes ({@code --full}, {@code --epochs}, the sweeps) and the rates; and the {@link Comparison.Settings}
 * they make.
 */
public class ComparisonOptions {

    @Option(names = "--full", description = "The longer protocol of the documented results: 5 epochs, sweeps over 10,000 "
            + "images, every evaluation on the whole test set, training accuracy on 5,000 images after each epoch "
            + "(default: 1 epoch over the first 30,000 training images, sweeps over 5,000 (lr) and 1,000 (small batches) "
            + "images evaluated on 2,000 test images, no training accuracy).")
    boolean full;

    @Option(names = "--parts", paramLabel = "LIST", split = ",", defaultValue = "accuracy,lr,batch",
            description = "Parts to run (default: ${DEFAULT-VALUE}).")
    List<String> parts;

    @Option(names = "--epochs", paramLabel = "N",
            description = "Epochs (default: 1, 5 with --full; on the bundled subset 5, 20 with --full; 2 with --quick).")
    Integer epochs;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "128", description = "Minibatch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--lr", paramLabel = "X", description = "Learning rate (default: 0.1 for sgd, 0.001 for adam; the small-batch "
            + "part uses it with plain SGD, default 0.1).")
    Double lr;

    @Option(names = "--max-train", paramLabel = "N", description = "Use only the first N training images, all of them in "
            + "the accuracy part (default: all, the first 30,000 in the accuracy part without --full; 2000 with --quick).")
    Integer maxTrain;

    @Option(names = "--max-test", paramLabel = "N", description = "Use only the first N test images (default: all; 1000 with --quick).")
    Integer maxTest;

    @Option(names = "--train-eval", paramLabel = "N",
            description = "Training images evaluated (inference mode) after each epoch (default: 0, 5000 with --full and --quick).")
    Integer trainEval;

    @Option(names = "--lrs", paramLabel = "LIST", split = ",", defaultValue = "0.03,0.1,0.3,1,3,10",
            description = "Learning rates of the sweep, plain SGD (default: ${DEFAULT-VALUE}; 0.1,1,10 with --quick).")
    List<Double> lrs;

    @Option(names = "--batch-sizes", paramLabel = "LIST", split = ",", defaultValue = "4,8,32,128",
            description = "Batch sizes of the small-batch part (default: ${DEFAULT-VALUE}; 8,32 with --quick).")
    List<Integer> batchSizes;

    @Option(names = "--sweep-examples", paramLabel = "N",
            description = "Training images seen by each run of the lr and batch parts: one pass (default: 5000 for the lr "
                    + "part and 1000 for the batch part; 10000 with --full; 1000 with --quick).")
    Integer sweepExamples;

    @Option(names = "--trains-at", paramLabel = "ACC", defaultValue = "0.7",
            description = "A sweep run 'trains' when it does not diverge and reaches this test accuracy (default: ${DEFAULT-VALUE}).")
    double trainsAt;

    /** The data limited by {@code --max-train} and {@code --max-test} (2,000 and 1,000 with {@code --quick}). */
    FashionMnist limit(FashionMnist data, CommonOptions common) {
        boolean q = common.quick;
        return data.limit(maxTrain != null ? maxTrain : q ? 2000 : Integer.MAX_VALUE,
                maxTest != null ? maxTest : q ? 1000 : Integer.MAX_VALUE);
    }

    /**
     * The settings of a run on {@code data} (already {@link #limit limited}).
     *
     * @param subset      whether the data are the bundled subset (more epochs by default)
     * @param updater     updater of the accuracy part, or null for the networks' own
     * @param updaterText the updater in words
     */
    Comparison.Settings settings(FashionMnist data, boolean subset, CommonOptions common, IUpdater updater, String updaterText,
                                 FashionMnist.Shape shape) {
        boolean q = common.quick;
        Comparison.Plan base = q ? Comparison.Plan.QUICK : full ? Comparison.Plan.FULL : Comparison.Plan.FAST;
        int nEpochs = epochs != null ? epochs : q ? 2 : subset ? (full ? 20 : 5) : base.epochs();
        int n = data.train().size();
        Comparison.Plan plan = new Comparison.Plan(nEpochs, maxTrain != null ? n : Math.min(n, base.trainExamples()),
                Math.min(n, trainEval != null ? trainEval : base.trainEval()),
                Math.min(n, sweepExamples != null ? sweepExamples : base.lrExamples()),
                Math.min(n, sweepExamples != null ? sweepExamples : base.batchExamples()),
                Math.min(data.test().size(), base.sweepTest()));
        List<Double> sweepLrs = q && !explicit(common, "--lrs") ? List.of(0.1, 1.0, 10.0) : lrs;
        List<Integer> sizes = q && !explicit(common, "--batch-sizes") ? List.of(8, 32) : batchSizes;
        return new Comparison.Settings(plan, new LinkedHashSet<>(parts), batch, updater, updaterText, sweepLrs, sizes,
                batchLr(), trainsAt, common.seed, shape, !common.noProgress);
    }

    /** Learning rate of the small-batch part (plain SGD). */
    double batchLr() {
        return lr != null ? lr : 0.1;
    }

    /** The protocol in words, for the summaries. */
    String protocol(CommonOptions common) {
        return common.quick ? "`--quick`" : full ? "`--full` protocol" : "Default (fast) protocol; `--full` runs 5 epochs "
                + "and sweeps over 10,000 images evaluated on the whole test set";
    }

    /** The protocol's name, for the first printed line. */
    String protocolName(CommonOptions common) {
        return common.quick ? "--quick" : full ? "--full" : "default; --full for the longer protocol";
    }

    /** Checks the parts and sizes; the message names the option. */
    void validate() {
        for (String p : parts) {
            if (!Comparison.PARTS.contains(p.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("--parts: unknown part '" + p + "'; known: " + String.join(", ", Comparison.PARTS));
            }
        }
        if (batch < 1) {
            throw new IllegalArgumentException("--batch: expected a batch size >= 1, got " + batch);
        }
        for (int b : batchSizes) {
            if (b < 1) {
                throw new IllegalArgumentException("--batch-sizes: expected batch sizes >= 1, got " + b);
            }
        }
    }

    private static boolean explicit(CommonOptions common, String option) {
        var pr = common.parseResult();
        return pr != null && pr.hasMatchedOption(option);
    }
}
