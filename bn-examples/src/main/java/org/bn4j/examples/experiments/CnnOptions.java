package org.bn4j.examples.experiments;

import java.util.Locale;

import org.bn4j.examples.CommonOptions;
import org.bn4j.examples.data.FashionMnist;
import org.bn4j.examples.nets.Variant;
import org.bn4j.examples.nets.VggMini;
import org.bn4j.examples.util.MetricsLog;
import org.bn4j.examples.util.StepBatches;
import org.bn4j.examples.util.Trainer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import picocli.CommandLine.Option;

/**
 * The standard setup of the CNN experiments (docs/experiments.md) as options shared by {@code noise}, {@code landscape},
 * {@code ics} and {@code lp}: VGG-mini of a given size, plain SGD, random batches, a number of steps, probes every
 * so many steps. The defaults are scaled to this project's 2-core machine (see {@link #DEFAULT_SIZE}); the paper's
 * setup is {@code --size 28:16:32:128 --steps 1000 --probe-every 50}.
 */
public class CnnOptions {

    /** Default network size: VGG-mini at half width on 14×14 inputs (the standard one needs ~2 s a step here). */
    public static final String DEFAULT_SIZE = "14:8:16:64";
    public static final String QUICK_SIZE = "14:4:8:16";

    /** The paper-sized setup of {@code --paper}. */
    public static final String PAPER_SIZE = "28:16:32:128";
    public static final int PAPER_STEPS = 1000;
    public static final int PAPER_PROBE_EVERY = 50;
    public static final int PAPER_SEEDS = 3;

    @Option(names = "--paper", description = "The paper-sized setup: --size " + PAPER_SIZE + " --steps " + PAPER_STEPS
            + " --probe-every " + PAPER_PROBE_EVERY + " and --seeds " + PAPER_SEEDS + " (options given as well win). "
            + "Run times: docs/experiments.md.")
    boolean paper;

    @Option(names = "--size", paramLabel = "S:C1:C2:D",
            description = "VGG-mini size: input side (28, or 14 = 2x2-averaged images), channels of the two conv pairs, "
                    + "dense width. Standard: 28:16:32:128. Default: " + DEFAULT_SIZE + " (" + QUICK_SIZE + " with --quick).")
    String size;

    @Option(names = "--steps", paramLabel = "N", description = "SGD steps per run (default: 300; 12 with --quick).")
    Integer steps;

    @Option(names = "--batch", paramLabel = "N", description = "Batch size (default: 128; 32 with --quick).")
    Integer batch;

    @Option(names = "--probe-every", paramLabel = "N",
            description = "Steps between probes (default: 25, 50 for ics and lp; 6 with --quick).")
    Integer probeEvery;

    /** Default of --probe-every for full-size runs (commands whose probes are costly raise it). */
    int defaultProbeEvery = 25;

    @Option(names = "--eval-every", paramLabel = "N",
            description = "Steps between evaluations on 1,000 training and 1,000 test images (default: 50; 6 with --quick).")
    Integer evalEvery;

    /** The layer helpers of the last network built ({@link org.bn4j.examples.util.OneDnnHelpers#describe}). */
    private String helpers = "";

    public VggMini.Size size(boolean quick) {
        return VggMini.Size.parse(size != null ? size : paper ? PAPER_SIZE : quick ? QUICK_SIZE : DEFAULT_SIZE);
    }

    public int steps(boolean quick) {
        return steps != null ? steps : paper ? PAPER_STEPS : quick ? 12 : 300;
    }

    public int batch(boolean quick) {
        return batch != null ? batch : quick ? 32 : 128;
    }

    public int probeEvery(boolean quick) {
        return probeEvery != null ? probeEvery : paper ? PAPER_PROBE_EVERY : quick ? 6 : defaultProbeEvery;
    }

    public int evalEvery(boolean quick) {
        return evalEvery != null ? evalEvery : quick ? 6 : 50;
    }

    /** Seeds run when {@code --seeds} is not given: {@value #PAPER_SEEDS} with {@code --paper}, else 1. */
    public int seeds() {
        return paper ? PAPER_SEEDS : 1;
    }

    /** Loads the data for these options ({@code --quick}: the first 2,000 / 500 images). */
    public CnnData data(CommonOptions common) throws java.io.IOException {
        FashionMnist d = common.loadData();
        if (common.quick) {
            d = d.limit(2000, 500);
        }
        return new CnnData(d, size(common.quick).image());
    }

    /** A fresh VGG-mini for this variant and learning rate, seeded with {@code seed}. */
    public MultiLayerNetwork net(Variant v, double lr, long seed, boolean quick) {
        Nd4j.getRandom().setSeed(seed);
        MultiLayerNetwork net = VggMini.build(v, new Sgd(lr), seed, size(quick));
        helpers = org.bn4j.examples.util.OneDnnHelpers.describe(net);
        return net;
    }

    /**
     * Trains one run: {@link #steps} random batches, evaluated every {@link #evalEvery} steps on the first training
     * and test images, with the common logs and the caller's listeners (its probes).
     */
    public Trainer.Result train(String run, MultiLayerNetwork net, CnnData data, long seed, CommonOptions common,
                                MetricsLog stepLog, MetricsLog evalLog, TrainingListener... probes) {
        boolean q = common.quick;
        int n = evalImages(q);
        StepBatches batches = new StepBatches(data.randomBatches(batch(q), seed), steps(q), evalEvery(q));
        return new Trainer(run, net, batches, evalEvery(q)).totalSteps(steps(q)).progress(!common.noProgress)
                .stepLog(stepLog).evalLog(evalLog).evaluate(data.trainHead(n), data.testHead(n)).listeners(probes)
                .run(batches.epochs());
    }

    /** Training and test images evaluated during training. */
    public static int evalImages(boolean quick) {
        return quick ? 200 : 1000;
    }

    /** Test accuracy on the whole test set (inference mode). */
    public static double testAccuracy(MultiLayerNetwork net, CnnData data) {
        return Trainer.accuracyAndLoss(net, data.test())[0];
    }

    /** One line describing the setup, for summaries. */
    public String describe(CnnData data, boolean quick, String lrs) {
        int n = evalImages(quick);
        return String.format(Locale.ROOT, "VGG-mini %s; inputs %s; plain SGD (no momentum, no weight decay), lr %s, "
                        + "batch %d of distinct images drawn at random, %d steps; Xavier uniform init; no bias before a norm "
                        + "layer; evaluations every %d steps on the first %d training and %d test images (inference "
                        + "mode), final test accuracy on the whole test set (%d images)",
                size(quick).describe(), data.describe(), lrs, batch(quick), steps(quick), evalEvery(quick), n, n, data.testSize())
                + (helpers.isEmpty() ? "" : "; " + helpers);
    }
}
