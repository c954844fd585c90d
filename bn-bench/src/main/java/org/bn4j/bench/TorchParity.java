package org.bn4j.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.GroupNorm;
import org.bn4j.layers.InstanceNorm;
import org.bn4j.layers.LayerNorm;
import org.bn4j.layers.RMSNorm;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

/**
 * bn4j's layers against PyTorch 2.7.1's CPU functions (through DJL, in the same JVM), float64, on random shapes and
 * values: one training-mode forward and backward (y, dx, dγ, dβ for a random output gradient) and, for layers with
 * running statistics, the running mean and variance after that step. PyTorch's side:
 * <ul>
 *   <li>BatchNorm (FF and NCHW): {@code torch.batch_norm}, training, momentum 0.1 (bn4j's decay 0.9), eps 1e-5;</li>
 *   <li>LayerNorm (FF): {@code torch.layer_norm} over the features;</li>
 *   <li>InstanceNorm (NCHW, running statistics on): what {@code torch.instance_norm} does — {@code batch_norm} on the
 *       input viewed as [1, N·C, H, W] with γ, β and the running statistics repeated N times, the running statistics
 *       then averaged over the N copies;</li>
 *   <li>GroupNorm (NCHW): {@code batch_norm} without running statistics on the input viewed as [1, N·G, C/G·H·W], then
 *       γ and β per channel (the definition of {@code torch.nn.functional.group_norm});</li>
 *   <li>RMSNorm (FF): {@code x · rsqrt(mean(x², -1) + ε) · γ}, the composite {@code torch.rms_norm} runs on CPU.</li>
 * </ul>
 * Gradients come from PyTorch's autograd of those calls. The largest difference relative to the largest value is
 * printed per quantity; the run fails if any exceeds 1e-12.
 *
 * <pre>
 *   TorchParity [TRIALS]      default 20 random cases per layer
 *   mvn -B -pl bn-bench -am -DskipTests -Pbench verify -Dbench.main=org.bn4j.bench.TorchParity -Dbench.args="20"
 * </pre>
 */
public final class TorchParity {
    private static final double EPS = 1e-5, DECAY = 0.9, TOLERANCE = 1e-12;

    private TorchParity() {
    }

    /** One layer's results: y, dx, dγ, dβ, and the running mean and variance (null where the layer has none). */
    private record Result(double[][] values) {
    }

    private static final String[] WHAT = {"y", "dx", "dgamma", "dbeta", "running mean", "running var"};

    public static void main(String[] args) {
        int trials = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        Random rnd = new Random(20261201);
        double worstOverall = 0;
        try (NDManager torch = TorchKernel.rootManager().newSubManager()) {
            Map<String, double[]> worst = new LinkedHashMap<>();
            for (int t = 0; t < trials; t++) {
                // no group of 2 values: there the input gradient of a centred normalization is 0 (rounding noise on both sides)
                int n = 1 + rnd.nextInt(6), c = 2 * (2 + rnd.nextInt(3)), h = 2 + rnd.nextInt(4), w = 2 + rnd.nextInt(4);
                int groups = rnd.nextBoolean() ? 2 : c;
                long[] ff = {n + 2, c}, cnn = {n, c, h, w};
                compare(worst, "BatchNorm FF", ff, rnd, new BatchNorm.Builder().build(), TorchParity::torchBatchNorm);
                compare(worst, "BatchNorm NCHW", cnn, rnd, new BatchNorm.Builder().build(), TorchParity::torchBatchNorm);
                compare(worst, "LayerNorm FF", ff, rnd, new LayerNorm.Builder().build(), TorchParity::torchLayerNorm);
                compare(worst, "InstanceNorm NCHW, running statistics", cnn, rnd,
                        new InstanceNorm.Builder().runningStats(true).build(), TorchParity::torchInstanceNorm);
                compare(worst, "GroupNorm(" + (groups == c ? "C" : "2") + ") NCHW", cnn, rnd,
                        new GroupNorm.Builder().groups(groups).build(), in -> torchGroupNorm(in, groups));
                compare(worst, "RMSNorm FF", ff, rnd, new RMSNorm.Builder().build(), TorchParity::torchRmsNorm);
            }
            System.out.printf(Locale.ROOT, "bn4j against PyTorch %s (DJL), float64, %d random cases per layer: largest difference"
                    + " relative to the largest value%n", Engine.getEngine("PyTorch").getVersion(), trials);
            System.out.printf(Locale.ROOT, "  %-40s", "");
            for (String s : WHAT) System.out.printf(Locale.ROOT, "%13s", s);
            System.out.println();
            for (Map.Entry<String, double[]> e : worst.entrySet()) {
                System.out.printf(Locale.ROOT, "  %-40s", e.getKey());
                for (double d : e.getValue()) {
                    System.out.printf(Locale.ROOT, "%13s", Double.isNaN(d) ? "-" : String.format(Locale.ROOT, "%.2e", d));
                    if (!Double.isNaN(d)) worstOverall = Math.max(worstOverall, d);
                }
                System.out.println();
            }
        }
        if (!(worstOverall <= TOLERANCE)) {
            throw new AssertionError("bn4j differs from PyTorch by " + worstOverall + " (tolerance " + TOLERANCE + ")");
        }
        System.out.printf(Locale.ROOT, "largest difference %.2e: within %.0e%n", worstOverall, TOLERANCE);
    }

    /** The inputs of one case, shared by both sides. */
    private record Inputs(long[] shape, double[] x, double[] dy, double[] gamma, double[] beta, double[] mean, double[] var) {
    }

    private static void compare(Map<String, double[]> worst, String name, long[] shape, Random rnd,
                                org.deeplearning4j.nn.conf.layers.Layer conf, Function<Inputs, Result> torch) {
        int size = 1;
        for (long d : shape) size *= (int) d;
        int c = (int) shape[1];
        double offset = 3 * rnd.nextGaussian();
        Inputs in = new Inputs(shape, gaussian(rnd, size, offset, 2), gaussian(rnd, size, 0, 1), gaussian(rnd, c, 1, 0.3),
                gaussian(rnd, c, 0, 0.3), gaussian(rnd, c, 0, 1), uniform(rnd, c, 0.5, 2));
        double[][] a = bn4j(conf, in).values(), b = torch.apply(in).values();
        double[] row = worst.computeIfAbsent(name, k -> {
            double[] r = new double[WHAT.length];
            java.util.Arrays.fill(r, Double.NaN);
            return r;
        });
        for (int i = 0; i < WHAT.length; i++) {
            if (a[i] == null && b[i] == null) continue;
            if (a[i] == null || b[i] == null) throw new AssertionError(name + ": " + WHAT[i] + " on one side only");
            double d = relDiff(a[i], b[i]);
            row[i] = Double.isNaN(row[i]) ? d : Math.max(row[i], d);
        }
    }

    private static Result bn4j(org.deeplearning4j.nn.conf.layers.Layer conf, Inputs in) {
        long[] s = in.shape();
        InputType type = s.length == 2 ? InputType.feedForward(s[1]) : InputType.convolutional(s[2], s[3], s[1]);
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE).list()
                .layer(conf).setInputType(type).build());
        net.init();
        net.initGradientsView();
        Layer l = net.getLayer(0);
        Map<String, INDArray> params = l.paramTable();
        if (params.containsKey("gamma")) params.get("gamma").assign(Nd4j.create(in.gamma()));
        if (params.containsKey("beta")) params.get("beta").assign(Nd4j.create(in.beta()));
        boolean running = params.containsKey("mean");
        if (running) {
            params.get("mean").assign(Nd4j.create(in.mean()));
            params.get("var").assign(Nd4j.create(in.var()));
        }
        LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();
        l.setInput(Nd4j.create(in.x(), s), ws);
        INDArray y = l.activate(true, ws).dup();
        Pair<Gradient, INDArray> p = l.backpropGradient(Nd4j.create(in.dy(), s), ws);
        INDArray dGamma = p.getFirst().getGradientFor("gamma"), dBeta = p.getFirst().getGradientFor("beta");
        double[][] v = {y.data().asDouble(), p.getSecond().dup().data().asDouble(), dGamma == null ? null : dGamma.dup().data().asDouble(),
                dBeta == null ? null : dBeta.dup().data().asDouble(), null, null};
        if (running) {
            l.applyConstraints(0, 0);
            v[4] = l.getParam("mean").dup().data().asDouble();
            v[5] = l.getParam("var").dup().data().asDouble();
        }
        return new Result(v);
    }

    /** PyTorch's side: f of (x, γ, β) under autograd, dx dγ dβ for the output gradient dy (dβ only if there is a β). */
    private static Result torch(Inputs in, boolean hasBeta, TorchFn f) {
        try (NDManager m = TorchKernel.rootManager().newSubManager();
             GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
            NDArray x = m.create(in.x(), new Shape(in.shape()));
            NDArray gamma = m.create(in.gamma()), beta = m.create(in.beta());
            NDArray mean = m.create(in.mean()), var = m.create(in.var());
            x.setRequiresGradient(true);
            gamma.setRequiresGradient(true);
            if (hasBeta) beta.setRequiresGradient(true);
            NDArray y = f.apply(x, gamma, beta, mean, var);
            gc.backward(y.mul(m.create(in.dy(), new Shape(in.shape()))).sum());
            return new Result(new double[][]{y.toDoubleArray(), x.getGradient().toDoubleArray(),
                    gamma.getGradient().toDoubleArray(), hasBeta ? beta.getGradient().toDoubleArray() : null,
                    f.updatesRunning() ? mean.toDoubleArray() : null, f.updatesRunning() ? var.toDoubleArray() : null});
        }
    }

    @FunctionalInterface
    private interface TorchFn {
        NDArray apply(NDArray x, NDArray gamma, NDArray beta, NDArray mean, NDArray var);

        default boolean updatesRunning() {
            return false;
        }

        static TorchFn running(TorchFn f) {
            return new TorchFn() {
                @Override
                public NDArray apply(NDArray x, NDArray gamma, NDArray beta, NDArray mean, NDArray var) {
                    return f.apply(x, gamma, beta, mean, var);
                }

                @Override
                public boolean updatesRunning() {
                    return true;
                }
            };
        }
    }

    private static Result torchBatchNorm(Inputs in) {
        return torch(in, true, TorchFn.running((x, g, b, mean, var) ->
                JniUtils.batchNorm((PtNDArray) x, (PtNDArray) mean, (PtNDArray) var, (PtNDArray) g, (PtNDArray) b, true, 1 - DECAY, EPS)));
    }

    private static Result torchLayerNorm(Inputs in) {
        return torch(in, true, (x, g, b, mean, var) ->
                JniUtils.layerNorm((PtNDArray) x, new Shape(in.shape()[1]), (PtNDArray) g, (PtNDArray) b, EPS));
    }

    /** torch.instance_norm: batch_norm over [1, N·C, H, W] with γ, β, running statistics repeated; running averaged. */
    private static Result torchInstanceNorm(Inputs in) {
        long n = in.shape()[0], c = in.shape()[1];
        return torch(in, true, TorchFn.running((x, g, b, mean, var) -> {
            NDArray meanRep = mean.tile(n), varRep = var.tile(n);
            NDArray y = JniUtils.batchNorm((PtNDArray) x.reshape(1, n * c, in.shape()[2], in.shape()[3]), (PtNDArray) meanRep,
                    (PtNDArray) varRep, (PtNDArray) g.tile(n), (PtNDArray) b.tile(n), true, 1 - DECAY, EPS);
            try (NDArray mAvg = meanRep.reshape(n, c).mean(new int[]{0}); NDArray vAvg = varRep.reshape(n, c).mean(new int[]{0})) {
                mean.set(mAvg.toDoubleArray());
                var.set(vAvg.toDoubleArray());
            }
            return y.reshape(new Shape(in.shape()));
        }));
    }

    /** group_norm: normalize [1, N·G, C/G·H·W] with batch statistics, then γ and β per channel. */
    private static Result torchGroupNorm(Inputs in, int groups) {
        long[] s = in.shape();
        long n = s[0], c = s[1];
        return torch(in, true, (x, g, b, mean, var) -> {
            NDManager m = x.getManager();
            NDArray ones = m.ones(new Shape(n * groups), ai.djl.ndarray.types.DataType.FLOAT64);
            NDArray zeros = m.zeros(new Shape(n * groups), ai.djl.ndarray.types.DataType.FLOAT64);
            NDArray z = JniUtils.batchNorm((PtNDArray) x.reshape(1, n * groups, -1), (PtNDArray) zeros.duplicate(),
                    (PtNDArray) ones.duplicate(), (PtNDArray) ones, (PtNDArray) zeros, true, 0.1, EPS).reshape(new Shape(s));
            return z.mul(g.reshape(1, c, 1, 1)).add(b.reshape(1, c, 1, 1));
        });
    }

    /** rms_norm: x · rsqrt(mean(x², -1) + ε) · γ. */
    private static Result torchRmsNorm(Inputs in) {
        return torch(in, false, (x, g, b, mean, var) -> x.mul(x.square().mean(new int[]{-1}, true).add(EPS).sqrt().pow(-1)).mul(g));
    }

    private static double relDiff(double[] a, double[] b) {
        if (a.length != b.length) throw new AssertionError("lengths " + a.length + " and " + b.length);
        double diff = 0, max = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            max = Math.max(max, Math.abs(b[i]));
        }
        return max == 0 ? diff : diff / max;
    }

    private static double[] gaussian(Random r, int n, double mean, double sd) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = mean + sd * r.nextGaussian();
        return v;
    }

    private static double[] uniform(Random r, int n, double lo, double hi) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = lo + (hi - lo) * r.nextDouble();
        return v;
    }
}
