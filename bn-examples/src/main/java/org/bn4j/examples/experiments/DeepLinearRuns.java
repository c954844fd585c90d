package org.bn4j.examples.experiments;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.bn4j.examples.nets.DeepLinear;
import org.bn4j.examples.nets.Variant;
import org.bn4j.examples.util.MetricsLog;
import org.bn4j.examples.util.StepBatches;
import org.bn4j.examples.util.Trainer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import picocli.CommandLine.Option;

/**
 * Options and runs of the 25-layer deep linear network (Santurkar et al. 2018): 10×10 linear maps, loss
 * ‖W_25…W_1 x − A x‖², 1,000 Gaussian inputs, full-batch gradient descent. Shared by {@code ics} and {@code lp}.
 */
public class DeepLinearRuns {

    @Option(names = "--dln-steps", paramLabel = "N", description = "Gradient-descent steps of the deep linear network "
            + "(default: 300; 10 with --quick).")
    Integer steps;

    @Option(names = "--dln-lr", paramLabel = "X", description = "Learning rate of the deep linear network (default: 1e-3).")
    Double lr;

    @Option(names = "--dln-samples", paramLabel = "N", defaultValue = "1000",
            description = "Gaussian inputs, one full batch (default: ${DEFAULT-VALUE}).")
    int samples;

    @Option(names = "--dln-probe-every", paramLabel = "N",
            description = "Steps between probes of the deep linear network (default: 25; 5 with --quick).")
    Integer probeEvery;

    int steps(boolean quick) {
        return steps != null ? steps : quick ? 10 : 300;
    }

    double lr() {
        return lr != null ? lr : 1e-3;
    }

    int probeEvery(boolean quick) {
        return probeEvery != null ? probeEvery : quick ? 5 : 25;
    }

    String describe(boolean quick) {
        return String.format(Locale.ROOT, "deep linear network: %d linear layers of %d×%d without bias (a norm layer after "
                        + "each of the first %d when normalized), Xavier uniform init, loss ‖W_%d…W_1 x − A x‖² (squared error "
                        + "summed over the 10 outputs, averaged over the samples), A with N(0,1) entries, %d inputs x ~ N(0, I), "
                        + "full-batch gradient descent, lr %s, %d steps", DeepLinear.DEPTH, DeepLinear.WIDTH, DeepLinear.WIDTH,
                DeepLinear.DEPTH - 1, DeepLinear.DEPTH, samples, org.bn4j.examples.util.Report.num(lr()), steps(quick));
    }

    /** The network of a variant, seeded. */
    MultiLayerNetwork net(Variant v, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return DeepLinear.build(DeepLinear.DEPTH, DeepLinear.WIDTH, v, new Sgd(lr()), seed);
    }

    DataSet data(long seed) {
        return DeepLinear.data(samples, DeepLinear.WIDTH, seed);
    }

    /** Trains one run by full-batch gradient descent (loss logged every step), with the caller's listeners. */
    Trainer.Result train(String run, MultiLayerNetwork net, DataSet data, boolean quick, boolean progress, MetricsLog stepLog,
                         TrainingListener... probes) {
        int n = steps(quick);
        return new Trainer(run, net, new StepBatches(() -> data, n, n), n).progress(progress).stepLog(stepLog)
                .listeners(probes).run(1);
    }

    /** Layers watched by the ICS probe. */
    static List<String> icsLayers() {
        List<String> l = new ArrayList<>();
        for (int k = 5; k <= DeepLinear.DEPTH; k += 5) {
            l.add("lin" + k);
        }
        return l;
    }
}
