package org.bn4j.bench;

import org.bn4j.examples.nets.Variant;
import org.bn4j.examples.nets.VggMini;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.layers.IOutputLayer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.LayerHelper;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.convolution.Convolution;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where one training step of the standard VGG-mini ({@code org.bn4j.examples.nets.VggMini}, {@code Size.STANDARD}:
 * 28×28×1 input, conv 3×3 16-16-32-32, two max-pools, dense 128, 10 outputs; batch 128, plain SGD, float32)
 * spends its time in DL4J 1.0.0-M2.1, and what changes it. All measurements of one part run in one JVM,
 * interleaved round by round; medians over rounds are printed (see docs/cnn-speed.md).
 *
 * <pre>
 *   StepProfile [rounds=N] [parts=step,layers,ops,dcheck,bpcheck,layoutcheck] [variants=none,dl4j-bn,bn]
 *               [settings=base,helpers-on,helpers,ws-none,nhwc,nhwc-helpers]
 * </pre>
 * Defaults: 5 rounds, parts step,layers,ops, all three variants, the six settings named above; {@code rounds=0}
 * makes the step part print only its equivalence checks.
 * <ul>
 *   <li>{@code step}: {@code MultiLayerNetwork.fit(DataSet)} of one batch, per variant and setting. Settings:
 *       {@code base} (DL4J's defaults: layer helpers off, NCHW, workspaces ENABLED); {@code helpers-on} (system
 *       property {@code org.eclipse.deeplearning4j.helpers.disable=false} while the network is created: in M2.1
 *       this alone creates no helper, see {@code shimLoader}, unless a class {@code org.nd4j.nativeblas.Nd4jCpu}
 *       is on the class path, and bn-examples, which this module depends on, now supplies one: here it equals
 *       {@code helpers}); {@code helpers} (the property, and DL4J's oneDNN
 *       helper check answered by a stand-in class); {@code ws-none} (training workspace mode NONE); {@code nhwc}
 *       and {@code nhwc-helpers} (every convolution, pooling and DL4J batch-norm layer in NHWC; not for bn4j's
 *       layers, which are NCHW only); {@code helpers-ws-none}; {@code helpers-conv} and {@code helpers-pool}
 *       (helpers kept in the convolution, or pooling, layers only). Before timing, each setting's network gets the
 *       base network's parameters (the dense layer's rows permuted for NHWC), and the largest difference of its
 *       output, of conv1's weights after one step and of all parameters after three steps from the base
 *       network's is printed.</li>
 *   <li>{@code layers}: the same step taken layer by layer through DL4J's Layer API ({@code activate(x, true, mgr)},
 *       then {@code backpropGradient} from the output layer down, activations and gradients in workspaces the way
 *       {@code fit} opens them), forward and backward milliseconds per layer, for settings base and helpers.</li>
 *   <li>{@code ops}: ND4J's raw {@code conv2d}/{@code conv2d_bp} at the four convolution shapes (oneDNN, ND4J's
 *       built-in kernel with {@code Nd4j.getEnvironment().allowHelpers(false)}, and NHWC), {@code maxpool2d}/{@code
 *       maxpool2d_bp}, and the im2col, matrix products and col2im that DL4J's ConvolutionLayer runs without helpers.</li>
 *   <li>{@code dcheck}: one step in float64 (built-in path) as the reference for conv1's weights after one step
 *       with the float32 built-in path and with the float32 helpers, per variant. {@code bpcheck}: {@code conv2d_bp}
 *       through oneDNN and the built-in kernel, with and without a bias input, compared. {@code layoutcheck}: bn4j's and DL4J's batch norm on c-order input against the same values in
 *       a permuted view.</li>
 * </ul>
 * See docs/cnn-speed.md for the figures.
 * Threads come from the environment (OMP_NUM_THREADS); run it through the bench profile (bn-bench/pom.xml) with
 * {@code -Dbench.threads=N} and another ND4J build with {@code -Dnd4j.classifier=...}.
 */
public final class StepProfile {

    static final String HELPER_PROPERTY = "org.eclipse.deeplearning4j.helpers.disable";
    static final int BATCH = 128;
    static final long SEED = 42;

    private StepProfile() {
    }

    /** A way of building and running the network. */
    record Setting(String name, boolean helpers, boolean shim, CNN2DFormat format, WorkspaceMode ws) {
        static Setting of(String name) {
            switch (name) {
                case "base": return new Setting(name, false, false, CNN2DFormat.NCHW, WorkspaceMode.ENABLED);
                case "helpers-on": return new Setting(name, true, false, CNN2DFormat.NCHW, WorkspaceMode.ENABLED);
                case "helpers": return new Setting(name, true, true, CNN2DFormat.NCHW, WorkspaceMode.ENABLED);
                case "ws-none": return new Setting(name, false, false, CNN2DFormat.NCHW, WorkspaceMode.NONE);
                case "nhwc": return new Setting(name, false, false, CNN2DFormat.NHWC, WorkspaceMode.ENABLED);
                case "nhwc-helpers": return new Setting(name, true, true, CNN2DFormat.NHWC, WorkspaceMode.ENABLED);
                case "helpers-ws-none": return new Setting(name, true, true, CNN2DFormat.NCHW, WorkspaceMode.NONE);
                case "helpers-conv": return new Setting(name, true, true, CNN2DFormat.NCHW, WorkspaceMode.ENABLED);
                case "helpers-pool": return new Setting(name, true, true, CNN2DFormat.NCHW, WorkspaceMode.ENABLED);
                default:
                    throw new IllegalArgumentException("StepProfile: unknown setting '" + name + "'; expected base, "
                            + "helpers-on, helpers, ws-none, nhwc, nhwc-helpers, helpers-ws-none, helpers-conv or helpers-pool");
            }
        }
    }

    public static void main(String[] args) {
        Map<String, String> a = new LinkedHashMap<>();
        for (String s : args) {
            int eq = s.indexOf('=');
            if (eq < 0) throw new IllegalArgumentException("StepProfile: expected key=value arguments, got '" + s + "'");
            a.put(s.substring(0, eq), s.substring(eq + 1));
        }
        int rounds = Integer.parseInt(a.getOrDefault("rounds", "5"));
        List<String> parts = Arrays.asList(a.getOrDefault("parts", "step,layers,ops").split(","));
        List<String> variants = Arrays.asList(a.getOrDefault("variants", "none,dl4j-bn,bn").split(","));
        List<Setting> settings = new ArrayList<>();
        for (String s : a.getOrDefault("settings", "base,helpers-on,helpers,ws-none,nhwc,nhwc-helpers").split(",")) settings.add(Setting.of(s));

        Nd4j.getRandom().setSeed(SEED);
        System.out.printf(Locale.ROOT, "StepProfile: VGG-mini %s, batch %d, float32, plain SGD lr 0.1%n",
                VggMini.Size.STANDARD.describe(), BATCH);
        System.out.printf(Locale.ROOT, "threads: OMP_NUM_THREADS=%s, ND4J maxThreads=%d maxMasterThreads=%d; ND4J build %s; "
                        + "oneDNN in this build (Environment.isUseONEDNN): %s; ND4J helpersAllowed: %s%n",
                System.getenv("OMP_NUM_THREADS"), Nd4j.getEnvironment().maxThreads(), Nd4j.getEnvironment().maxMasterThreads(),
                System.getProperty("bench.nd4j", "?"), useMkldnn(), Nd4j.getEnvironment().helpersAllowed());
        System.out.printf(Locale.ROOT, "rounds %d, parts %s; load average at start %s%n", rounds, parts, CoreProfile.loadAverage());
        long t0 = System.nanoTime();
        if (parts.contains("step")) step(variants, settings, rounds);
        if (parts.contains("layers")) layers(variants, rounds);
        if (parts.contains("ops")) ops(rounds);
        if (parts.contains("bpcheck")) bpCheck();
        if (parts.contains("layoutcheck")) layoutCheck();
        if (parts.contains("dcheck")) for (String vn : variants) doubleCheck(Variant.of(vn, SEED));
        System.out.printf(Locale.ROOT, "%nload average at end %s; wall time %.0f s%n", CoreProfile.loadAverage(),
                (System.nanoTime() - t0) / 1e9);
    }

    static String useMkldnn() {
        try {
            Class<?> c = Class.forName(REAL_ENV);
            Object env = c.getMethod("getInstance").invoke(null);
            return String.valueOf(c.getMethod("isUseONEDNN").invoke(env));
        } catch (ReflectiveOperationException | LinkageError e) {
            return "n/a (" + e + ")";
        }
    }

    /** ND4J M2.1's native environment class. */
    static final String REAL_ENV = "org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment";

    /**
     * DL4J M2.1's oneDNN layer helpers ask {@code BaseMKLDNNHelper.mklDnnEnabled()}, which looks up the class
     * {@code org.nd4j.nativeblas.Nd4jCpu$Environment} and its method {@code isUseMKLDNN()}; ND4J M2.1 has neither
     * (its class is {@code org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment}, the method {@code isUseONEDNN()}),
     * so the check fails and no helper is ever created. For measurement only, this compiles a class of the old name
     * that answers from the real environment and hands DL4J a class loader that sees it
     * ({@code DL4JClassLoading.setDl4jClassloader}). Returns the loader, or null when no compiler is available.
     */
    static ClassLoader shimLoader() {
        if (shim != null) return shim;
        try {
            java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("bn4j-helper-shim");
            java.nio.file.Path src = dir.resolve("org/nd4j/nativeblas/Nd4jCpu.java");
            java.nio.file.Files.createDirectories(src.getParent());
            java.nio.file.Files.writeString(src, "package org.nd4j.nativeblas;\n"
                    + "public class Nd4jCpu { public static class Environment {\n"
                    + "  private static final Environment I = new Environment();\n"
                    + "  public static Environment getInstance() { return I; }\n"
                    + "  public boolean isUseMKLDNN() { try { Class<?> c = Class.forName(\"" + REAL_ENV + "\");\n"
                    + "    Object e = c.getMethod(\"getInstance\").invoke(null); return (Boolean) c.getMethod(\"isUseONEDNN\").invoke(e);\n"
                    + "  } catch (ReflectiveOperationException ex) { throw new IllegalStateException(ex); } } } }\n");
            javax.tools.JavaCompiler jc = javax.tools.ToolProvider.getSystemJavaCompiler();
            if (jc == null || jc.run(null, null, null, "-d", dir.toString(), src.toString()) != 0) return null;
            shim = new java.net.URLClassLoader(new java.net.URL[]{dir.toUri().toURL()}, StepProfile.class.getClassLoader());
            return shim;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static ClassLoader shim;

    static void dropHelper(Layer l) {
        for (Class<?> c = l.getClass(); c != null; c = c.getSuperclass()) {
            try {
                java.lang.reflect.Field f = c.getDeclaredField("helper");
                f.setAccessible(true);
                f.set(l, null);
                return;
            } catch (NoSuchFieldException e) {
                // look in the superclass
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
        throw new IllegalStateException("StepProfile: no helper field in " + l.getClass());
    }

    /** BaseMKLDNNHelper remembers a failed check for good (static FAILED_CHECK); forget it so that settings can be mixed. */
    static void resetHelperCheck() {
        try {
            java.lang.reflect.Field f = org.deeplearning4j.nn.layers.mkldnn.BaseMKLDNNHelper.class.getDeclaredField("FAILED_CHECK");
            f.setAccessible(true);
            f.set(null, null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("StepProfile: cannot reset BaseMKLDNNHelper.FAILED_CHECK", e);
        }
    }

    // ------------------------------------------------------------------------------------------------ networks

    static MultiLayerConfiguration conf(Variant v, Setting s) {
        MultiLayerConfiguration c = VggMini.conf(v, new Sgd(0.1), SEED, VggMini.Size.STANDARD);
        c.setTrainingWorkspaceMode(s.ws());
        c.setInferenceWorkspaceMode(s.ws());
        if (s.format() == CNN2DFormat.NHWC) {
            for (NeuralNetConfiguration nc : c.getConfs()) {
                org.deeplearning4j.nn.conf.layers.Layer l = nc.getLayer();
                if (l instanceof ConvolutionLayer cl) cl.setCnn2dDataFormat(CNN2DFormat.NHWC);
                else if (l instanceof SubsamplingLayer sl) sl.setCnn2dDataFormat(CNN2DFormat.NHWC);
                else if (l instanceof BatchNormalization bl) bl.setCnn2DFormat(CNN2DFormat.NHWC);
                else if (l.getClass().getName().startsWith("org.bn4j")) {
                    throw new IllegalArgumentException("StepProfile: setting " + s.name() + " needs NHWC layers, but "
                            + l.getClass().getSimpleName() + " of variant " + v.name() + " is NCHW only");
                }
            }
            Map<Integer, InputPreProcessor> pre = c.getInputPreProcessors();
            for (Map.Entry<Integer, InputPreProcessor> e : pre.entrySet()) {
                if (e.getValue() instanceof CnnToFeedForwardPreProcessor p) {
                    e.setValue(new CnnToFeedForwardPreProcessor(p.getInputHeight(), p.getInputWidth(), p.getNumChannels(),
                            CNN2DFormat.NHWC));
                }
            }
        }
        return c;
    }

    /** Builds the network of this setting; DL4J's layer helpers are chosen when the layers are created. */
    static MultiLayerNetwork build(Variant v, Setting s) {
        String old = System.getProperty(HELPER_PROPERTY);
        ClassLoader oldLoader = org.deeplearning4j.config.DL4JClassLoading.getDl4jClassloader();
        System.setProperty(HELPER_PROPERTY, String.valueOf(!s.helpers()));
        if (s.shim()) {
            ClassLoader l = shimLoader();
            if (l == null) throw new IllegalStateException("StepProfile: setting " + s.name() + " needs a JDK (javax.tools compiler)");
            org.deeplearning4j.config.DL4JClassLoading.setDl4jClassloader(l);
        }
        try {
            MultiLayerNetwork net = new MultiLayerNetwork(conf(v, s));
            net.init();
            // helpers-conv / helpers-pool: keep the helpers of the convolution (pooling) layers only
            if (s.name().equals("helpers-conv") || s.name().equals("helpers-pool")) {
                for (Layer l : net.getLayers()) {
                    boolean conv = l instanceof org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
                    boolean keep = s.name().equals("helpers-conv") == conv;
                    if (!keep && l.getHelper() != null) dropHelper(l);
                }
            }
            return net;
        } finally {
            if (old == null) System.clearProperty(HELPER_PROPERTY);
            else System.setProperty(HELPER_PROPERTY, old);
            org.deeplearning4j.config.DL4JClassLoading.setDl4jClassloader(oldLoader);
            resetHelperCheck();
        }
    }

    /** The helpers the network's layers hold, e.g. "conv1:MKLDNNConvHelper pool1:-". */
    static String helpers(MultiLayerNetwork net) {
        StringBuilder b = new StringBuilder();
        for (Layer l : net.getLayers()) {
            LayerHelper h = l.getHelper();
            if (l instanceof org.deeplearning4j.nn.layers.convolution.ConvolutionLayer
                    || l instanceof org.deeplearning4j.nn.layers.convolution.subsampling.SubsamplingLayer
                    || l instanceof org.deeplearning4j.nn.layers.normalization.BatchNormalization) {
                b.append(l.conf().getLayer().getLayerName()).append(':').append(h == null ? "-" : h.getClass().getSimpleName()).append(' ');
            }
        }
        return b.toString().trim();
    }

    /** Base network's parameters in a network of another setting (dense rows permuted from NCHW to NHWC order). */
    static void copyParams(MultiLayerNetwork from, MultiLayerNetwork to, Setting s) {
        to.setParams(from.params().dup());
        if (s.format() == CNN2DFormat.NHWC) {
            Layer fc5 = to.getLayers()[indexOf(to, "fc5")];
            INDArray w = from.getLayers()[indexOf(from, "fc5")].getParam("W");    // rows c*49 + h*7 + w
            long n = w.size(1);
            INDArray p = w.reshape('c', 32, 7, 7, n).permute(1, 2, 0, 3).dup('c').reshape('c', 32 * 7 * 7, n);
            fc5.setParam("W", p);
        }
    }

    static int indexOf(MultiLayerNetwork net, String name) {
        Layer[] ls = net.getLayers();
        for (int i = 0; i < ls.length; i++) if (name.equals(ls[i].conf().getLayer().getLayerName())) return i;
        throw new IllegalArgumentException("StepProfile: no layer named " + name);
    }

    /** One random batch: standard-normal images and one-hot labels (fixed seed). */
    static DataSet batch(CNN2DFormat f) {
        Nd4j.getRandom().setSeed(SEED);
        INDArray x = Nd4j.randn(DataType.FLOAT, BATCH, 1, 28, 28);
        INDArray y = Nd4j.zeros(DataType.FLOAT, BATCH, 10);
        for (int i = 0; i < BATCH; i++) y.putScalar(i, (i * 7) % 10, 1f);
        // one channel: NHWC [N,28,28,1] holds the same numbers in the same order
        return new DataSet(f == CNN2DFormat.NHWC ? x.reshape('c', BATCH, 28, 28, 1) : x, y);
    }

    // ------------------------------------------------------------------------------------------------ part: step

    static void step(List<String> variants, List<Setting> settings, int rounds) {
        Map<String, Runnable> jobs = new LinkedHashMap<>();
        System.out.printf(Locale.ROOT, "%n== whole step: MultiLayerNetwork.fit(DataSet) of one batch of %d%n", BATCH);
        System.out.println("   equivalence with the base setting (same parameters; output, then parameters after 3 steps):");
        for (String vn : variants) {
            Variant v = Variant.of(vn, SEED);
            MultiLayerNetwork ref = build(v, Setting.of("base"));
            for (Setting s : settings) {
                if (s.format() == CNN2DFormat.NHWC && v.hasNorm() && !"dl4j-bn".equals(vn)) continue;
                MultiLayerNetwork net = build(v, s);
                copyParams(ref, net, s);
                DataSet ds = batch(s.format());
                System.out.printf(Locale.ROOT, "   %-8s %-16s helpers [%s] %s%n", vn, s.name(), helpers(net), equivalence(v, ref, s));
                jobs.put(vn + " " + s.name(), () -> net.fit(ds));
            }
        }
        if (rounds == 0) return;
        Map<String, double[]> t = times(jobs, rounds, 1);
        System.out.printf(Locale.ROOT, "   %-24s %10s %10s %10s %14s%n", "variant setting", "median ms", "min ms", "max ms",
                "median/base");
        t.forEach((k, v) -> {
            double[] b = t.get(k.substring(0, k.indexOf(' ')) + " base");
            System.out.printf(Locale.ROOT, "   %-24s %10.1f %10.1f %10.1f %14s%n", k, CoreProfile.median(v), min(v), max(v),
                    b == null ? "" : String.format(Locale.ROOT, "%.2f", CoreProfile.median(v) / CoreProfile.median(b)));
        });
    }

    /** Largest absolute difference of the outputs and of the parameters after three steps, against the base network. */
    static String equivalence(Variant v, MultiLayerNetwork ref, Setting s) {
        MultiLayerNetwork b = build(v, Setting.of("base"));
        copyParams(ref, b, Setting.of("base"));
        MultiLayerNetwork n = build(v, s);
        copyParams(ref, n, s);
        DataSet db = batch(CNN2DFormat.NCHW), dn = batch(s.format());
        double out = maxAbsDiff(b.output(db.getFeatures(), false), n.output(dn.getFeatures(), false));
        String first = "";
        INDArray w0 = b.paramTable().get("0_W").dup();
        for (int i = 0; i < 3; i++) {
            b.fit(db);
            n.fit(dn);
            if (i == 0 && s.format() == CNN2DFormat.NCHW) {
                // after one step: conv1's weight change (lr × its gradient) and the difference between the settings
                first = String.format(Locale.ROOT, "after 1 step: conv1 W %.3g (largest |change| %.3g); ",
                        maxAbsDiff(b.paramTable().get("0_W"), n.paramTable().get("0_W")),
                        maxAbsDiff(b.paramTable().get("0_W"), w0));
            }
        }
        MultiLayerNetwork back = build(v, Setting.of("base"));
        // parameters compared in the base layout (the dense rows permuted back for NHWC)
        INDArray pn = n.params().dup();
        if (s.format() == CNN2DFormat.NHWC) {
            back.setParams(pn);
            INDArray w = n.getLayers()[indexOf(n, "fc5")].getParam("W");
            long k = w.size(1);
            back.getLayers()[indexOf(back, "fc5")].setParam("W",
                    w.reshape('c', 7, 7, 32, k).permute(2, 0, 1, 3).dup('c').reshape('c', 32 * 7 * 7, k));
            pn = back.params();
        }
        double par = maxAbsDiff(b.params(), pn);
        double outAfter = maxAbsDiff(b.output(db.getFeatures(), false), n.output(dn.getFeatures(), false));
        // where the largest parameter difference sits (layer_param), and that parameter's largest magnitude
        String where = "";
        if (s.format() == CNN2DFormat.NCHW && par > 0) {
            double worst = -1;
            for (Map.Entry<String, INDArray> e : b.paramTable().entrySet()) {
                INDArray other = n.paramTable().get(e.getKey());
                double d = maxAbsDiff(e.getValue(), other);
                if (d > worst) {
                    worst = d;
                    where = String.format(Locale.ROOT, " (largest in %s, whose largest |value| is %.3g)", e.getKey(),
                            e.getValue().amaxNumber().doubleValue());
                }
            }
        }
        return String.format(Locale.ROOT, "output max|diff| %.3g; %safter 3 steps: parameters %.3g%s, output %.3g", out, first,
                par, where, outAfter);
    }

    static double maxAbsDiff(INDArray x, INDArray y) {
        return x.castTo(DataType.DOUBLE).sub(y.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }

    // ------------------------------------------------------------------------------------------------ part: layers

    private static final WorkspaceConfiguration WS = WorkspaceConfiguration.builder().initialSize(0)
            .overallocationLimit(0.05).policyLearning(LearningPolicy.FIRST_LOOP).policyReset(ResetPolicy.BLOCK_LEFT)
            .policySpill(SpillPolicy.REALLOCATE).policyAllocation(AllocationPolicy.OVERALLOCATE).build();

    /** One training pass through the network's layers, one at a time, timing each layer's forward and backward. */
    static final class LayerPass implements Runnable {
        final MultiLayerNetwork net;
        final DataSet ds;
        final LayerWorkspaceMgr mgr;
        final String[] names;
        final List<double[]> fwd = new ArrayList<>();
        final List<double[]> bwd = new ArrayList<>();

        LayerPass(MultiLayerNetwork net, DataSet ds, String tag) {
            this.net = net;
            this.ds = ds;
            net.initGradientsView();
            this.mgr = LayerWorkspaceMgr.builder()
                    .with(ArrayType.ACTIVATIONS, "SP_ACT_" + tag, WS)
                    .with(ArrayType.INPUT, "SP_ACT_" + tag, WS)
                    .with(ArrayType.ACTIVATION_GRAD, "SP_GRAD_" + tag, WS)
                    .with(ArrayType.FF_WORKING_MEM, "SP_WORK_" + tag, WS)
                    .with(ArrayType.BP_WORKING_MEM, "SP_WORK_" + tag, WS)
                    .noWorkspaceFor(ArrayType.RNN_FF_LOOP_WORKING_MEM).noWorkspaceFor(ArrayType.RNN_BP_LOOP_WORKING_MEM)
                    .noWorkspaceFor(ArrayType.UPDATER_WORKING_MEM)
                    .build();
            Layer[] ls = net.getLayers();
            names = new String[ls.length];
            for (int i = 0; i < ls.length; i++) names[i] = ls[i].conf().getLayer().getLayerName();
        }

        @Override
        public void run() {
            Layer[] ls = net.getLayers();
            double[] f = new double[ls.length], b = new double[ls.length];
            MultiLayerConfiguration c = net.getLayerWiseConfigurations();
            try (MemoryWorkspace act = mgr.notifyScopeEntered(ArrayType.ACTIVATIONS)) {
                INDArray a = ds.getFeatures();
                for (int i = 0; i < ls.length; i++) {
                    long t0 = System.nanoTime();
                    InputPreProcessor pre = c.getInputPreProcess(i);
                    if (pre != null) a = pre.preProcess(a, BATCH, mgr);
                    if (ls[i] instanceof IOutputLayer o) o.setLabels(ds.getLabels());
                    a = ls[i].activate(a, true, mgr);
                    f[i] = (System.nanoTime() - t0) / 1e6;
                }
                try (MemoryWorkspace grad = mgr.notifyScopeEntered(ArrayType.ACTIVATION_GRAD)) {
                    INDArray eps = null;
                    for (int i = ls.length - 1; i >= 0; i--) {
                        long t0 = System.nanoTime();
                        Pair<Gradient, INDArray> p = ls[i].backpropGradient(eps, mgr);
                        eps = p.getSecond();
                        InputPreProcessor pre = c.getInputPreProcess(i);
                        if (pre != null && eps != null) eps = pre.backprop(eps, BATCH, mgr);
                        b[i] = (System.nanoTime() - t0) / 1e6;
                    }
                }
            }
            fwd.add(f);
            bwd.add(b);
        }

        void reset() {
            fwd.clear();
            bwd.clear();
        }
    }

    static void layers(List<String> variants, int rounds) {
        Map<String, Runnable> jobs = new LinkedHashMap<>();
        Map<String, LayerPass> passes = new LinkedHashMap<>();
        for (String vn : variants) {
            Variant v = Variant.of(vn, SEED);
            for (String sn : List.of("base", "helpers")) {
                Setting s = Setting.of(sn);
                LayerPass p = new LayerPass(build(v, s), batch(s.format()), vn.replace('-', '_') + "_" + sn);
                passes.put(vn + " " + sn, p);
                jobs.put(vn + " " + sn, p);
            }
        }
        System.out.printf(Locale.ROOT, "%n== layer by layer: activate(training) then backpropGradient, workspaces as in fit%n");
        for (Runnable r : jobs.values()) for (int i = 0; i < 2; i++) r.run();
        passes.values().forEach(LayerPass::reset);
        Map<String, double[]> t = times(jobs, rounds, 0);
        passes.forEach((k, p) -> {
            double total = CoreProfile.median(t.get(k));
            System.out.printf(Locale.ROOT, "%n   %s: whole pass median %.1f ms (sum of the layers' medians below may differ a little)%n", k, total);
            System.out.printf(Locale.ROOT, "   %-8s %12s %12s %12s %8s%n", "layer", "forward ms", "backward ms", "fwd+bwd ms", "share");
            double[] fm = new double[p.names.length], bm = new double[p.names.length];
            double sum = 0;
            for (int i = 0; i < p.names.length; i++) {
                final int j = i;
                fm[i] = CoreProfile.median(p.fwd.stream().mapToDouble(r -> r[j]).toArray());
                bm[i] = CoreProfile.median(p.bwd.stream().mapToDouble(r -> r[j]).toArray());
                sum += fm[i] + bm[i];
            }
            for (int i = 0; i < p.names.length; i++) {
                System.out.printf(Locale.ROOT, "   %-8s %12.1f %12.1f %12.1f %7.1f%%%n", p.names[i], fm[i], bm[i], fm[i] + bm[i],
                        100 * (fm[i] + bm[i]) / sum);
            }
            System.out.printf(Locale.ROOT, "   %-8s %12.1f %12.1f %12.1f%n", "sum", Arrays.stream(fm).sum(), Arrays.stream(bm).sum(), sum);
        });
    }

    // ------------------------------------------------------------------------------------------------ part: ops

    /** The four convolutions of the standard VGG-mini: channels in, channels out, side. */
    static final int[][] CONVS = {{1, 16, 28}, {16, 16, 28}, {16, 32, 14}, {32, 32, 14}};

    static void ops(int rounds) {
        Map<String, Runnable> jobs = new LinkedHashMap<>();
        double[] macs = new double[CONVS.length];
        for (int k = 0; k < CONVS.length; k++) {
            int ci = CONVS[k][0], co = CONVS[k][1], h = CONVS[k][2];
            macs[k] = (double) BATCH * h * h * ci * co * 9;
            String shape = String.format(Locale.ROOT, "conv%d %dx%dx%dx%d->%d", k + 1, BATCH, ci, h, h, co);
            for (int fmt = 0; fmt < 2; fmt++) {
                INDArray x = Nd4j.randn(DataType.FLOAT, fmt == 0 ? new long[]{BATCH, ci, h, h} : new long[]{BATCH, h, h, ci});
                INDArray w = Nd4j.randn(DataType.FLOAT, co, ci, 3, 3).muli(0.1);
                INDArray y = Nd4j.create(DataType.FLOAT, fmt == 0 ? new long[]{BATCH, co, h, h} : new long[]{BATCH, h, h, co});
                INDArray gy = Nd4j.randn(DataType.FLOAT, y.shape());
                INDArray gx = Nd4j.create(DataType.FLOAT, x.shape());
                INDArray gw = Nd4j.create(DataType.FLOAT, w.shape());
                int[] iargs = {3, 3, 1, 1, 1, 1, 1, 1, 1, fmt, 1};
                DynamicCustomOp fw = DynamicCustomOp.builder("conv2d").addInputs(x, w).addOutputs(y).addIntegerArguments(iargs).build();
                DynamicCustomOp bw = DynamicCustomOp.builder("conv2d_bp").addInputs(x, w, gy).addOutputs(gx, gw)
                        .addIntegerArguments(iargs).build();
                String f = fmt == 0 ? "NCHW" : "NHWC";
                jobs.put(shape + " conv2d " + f + " onednn", () -> Nd4j.exec(fw));
                jobs.put(shape + " conv2d_bp " + f + " onednn", () -> Nd4j.exec(bw));
                if (fmt == 0) {
                    jobs.put(shape + " conv2d NCHW builtin", () -> noHelpers(() -> Nd4j.exec(fw)));
                    jobs.put(shape + " conv2d_bp NCHW builtin", () -> noHelpers(() -> Nd4j.exec(bw)));
                    // what DL4J's ConvolutionLayer runs without helpers (its preOutput and backpropGradient)
                    INDArray col = Nd4j.createUninitialized(DataType.FLOAT, new long[]{BATCH, h, h, ci, 3, 3}, 'c');
                    INDArray col2 = col.permute(0, 3, 4, 5, 1, 2);
                    INDArray im2col2d = col.reshape('c', (long) BATCH * h * h, ci * 9L);
                    INDArray w2d = w.reshape('c', co, ci * 9L).transpose();
                    INDArray z2d = Nd4j.createUninitialized(DataType.FLOAT, new long[]{(long) BATCH * h * h, co}, 'f');
                    INDArray delta2d = gy.permute(1, 0, 2, 3).dup('c').reshape('c', co, (long) BATCH * h * h);
                    INDArray gw2d = Nd4j.create(DataType.FLOAT, co, ci * 9L).transpose();
                    INDArray wPermuted = w.permute(3, 2, 1, 0).reshape('f', ci * 9L, co);
                    INDArray eps2d = Nd4j.createUninitialized(DataType.FLOAT, new long[]{ci * 9L, (long) BATCH * h * h}, 'f');
                    INDArray eps6d = eps2d.reshape('f', 3, 3, ci, h, h, BATCH).permute(5, 2, 1, 0, 4, 3);
                    INDArray gxT = Nd4j.createUninitialized(DataType.FLOAT, new long[]{ci, BATCH, h, h}, 'c').permute(1, 0, 2, 3);
                    jobs.put(shape + " dl4j im2col", () -> Convolution.im2col(x, 3, 3, 1, 1, 1, 1, 1, 1, true, col2));
                    jobs.put(shape + " dl4j gemm fwd", () -> im2col2d.mmul(w2d, z2d));
                    jobs.put(shape + " dl4j gemm dW", () -> Nd4j.gemm(im2col2d, delta2d, gw2d, true, true, 1.0, 0.0));
                    jobs.put(shape + " dl4j gemm dX", () -> wPermuted.mmul(delta2d, eps2d));
                    jobs.put(shape + " dl4j col2im", () -> Convolution.col2im(eps6d, gxT, 1, 1, 1, 1, h, h, 1, 1));
                }
            }
        }
        for (int[] p : new int[][]{{16, 28}, {32, 14}}) {
            INDArray x = Nd4j.randn(DataType.FLOAT, BATCH, p[0], p[1], p[1]);
            INDArray y = Nd4j.create(DataType.FLOAT, BATCH, p[0], p[1] / 2, p[1] / 2);
            INDArray gy = Nd4j.randn(DataType.FLOAT, y.shape());
            INDArray gx = Nd4j.create(DataType.FLOAT, x.shape());
            int[] iargs = {2, 2, 2, 2, 0, 0, 1, 1, 1, 0, 0};
            DynamicCustomOp fw = DynamicCustomOp.builder("maxpool2d").addInputs(x).addOutputs(y).addIntegerArguments(iargs).build();
            DynamicCustomOp bw = DynamicCustomOp.builder("maxpool2d_bp").addInputs(x, gy).addOutputs(gx).addIntegerArguments(iargs).build();
            String shape = String.format(Locale.ROOT, "pool %dx%dx%dx%d", BATCH, p[0], p[1], p[1]);
            jobs.put(shape + " maxpool2d NCHW onednn", () -> Nd4j.exec(fw));
            jobs.put(shape + " maxpool2d_bp NCHW onednn", () -> Nd4j.exec(bw));
            jobs.put(shape + " maxpool2d NCHW builtin", () -> noHelpers(() -> Nd4j.exec(fw)));
            jobs.put(shape + " maxpool2d_bp NCHW builtin", () -> noHelpers(() -> Nd4j.exec(bw)));
        }
        System.out.printf(Locale.ROOT, "%n== ND4J ops at VGG-mini's shapes (\"onednn\": ND4J helpers allowed, the default; "
                + "\"builtin\": Nd4j.getEnvironment().allowHelpers(false))%n");
        Map<String, double[]> t = times(jobs, rounds, 3);
        System.out.printf(Locale.ROOT, "   %-52s %10s %10s %10s%n", "", "median ms", "min ms", "GMAC/s");
        t.forEach((k, v) -> {
            double med = CoreProfile.median(v);
            String gmac = "";
            if (k.startsWith("conv") && (k.contains(" conv2d ") || k.contains("gemm"))) {
                gmac = String.format(Locale.ROOT, "%.1f", macs[k.charAt(4) - '1'] / med / 1e6);
            } else if (k.startsWith("conv") && k.contains("conv2d_bp")) {
                gmac = String.format(Locale.ROOT, "%.1f", 2 * macs[k.charAt(4) - '1'] / med / 1e6);
            }
            System.out.printf(Locale.ROOT, "   %-52s %10.2f %10.2f %10s%n", k, med, min(v), gmac);
        });
    }

    /**
     * ND4J's conv2d_bp at the four shapes, with and without a (zero) bias input, through oneDNN and through the
     * built-in kernel: largest differences of dW and dX from the built-in kernel with bias, against the largest
     * |value|.
     */
    static void bpCheck() {
        System.out.printf(Locale.ROOT, "%n== conv2d_bp with and without bias, oneDNN and built-in (max |diff| against built-in with bias)%n");
        for (int[] c : CONVS) {
            int ci = c[0], co = c[1], h = c[2];
            Nd4j.getRandom().setSeed(SEED);
            INDArray x = Nd4j.randn(DataType.FLOAT, BATCH, ci, h, h);
            INDArray w = Nd4j.randn(DataType.FLOAT, co, ci, 3, 3).muli(0.1);
            INDArray b = Nd4j.zeros(DataType.FLOAT, co);
            INDArray gy = Nd4j.randn(DataType.FLOAT, BATCH, co, h, h);
            int[] iargs = {3, 3, 1, 1, 1, 1, 1, 1, 1, 0, 1};
            INDArray[][] r = new INDArray[4][];
            for (int k = 0; k < 4; k++) {
                boolean bias = k % 2 == 0, builtin = k < 2;
                INDArray gx = Nd4j.create(DataType.FLOAT, x.shape()), gw = Nd4j.create(DataType.FLOAT, w.shape());
                DynamicCustomOp.DynamicCustomOpsBuilder ob = DynamicCustomOp.builder("conv2d_bp").addIntegerArguments(iargs);
                if (bias) ob.addInputs(x, w, b, gy).addOutputs(gx, gw, Nd4j.create(DataType.FLOAT, co));
                else ob.addInputs(x, w, gy).addOutputs(gx, gw);
                DynamicCustomOp op = ob.build();
                if (builtin) noHelpers(() -> Nd4j.exec(op));
                else Nd4j.exec(op);
                r[k] = new INDArray[]{gx, gw};
            }
            String[] names = {"built-in, bias", "built-in, no bias", "oneDNN, bias", "oneDNN, no bias"};
            for (int k = 1; k < 4; k++) {
                System.out.printf(Locale.ROOT, "   conv %d->%d %dx%d  %-18s dX %.3g (max |dX| %.3g)  dW %.3g (max |dW| %.3g)%n", ci, co, h, h,
                        names[k], maxAbsDiff(r[0][0], r[k][0]), r[0][0].amaxNumber().doubleValue(),
                        maxAbsDiff(r[0][1], r[k][1]), r[0][1].amaxNumber().doubleValue());
            }
        }
    }

    /**
     * A batch-norm layer's forward and backward on the same NCHW values held c-order (what the oneDNN helper
     * returns) and as DL4J's built-in convolution returns them (a permuted view of NHWC-ordered memory).
     */
    static void layoutCheck() {
        System.out.printf(Locale.ROOT, "%n== batch norm on c-order input against the same values in a permuted (NHWC-memory) view%n");
        Nd4j.getRandom().setSeed(SEED);
        INDArray x = Nd4j.randn(DataType.FLOAT, BATCH, 16, 28, 28);
        INDArray eps = Nd4j.randn(DataType.FLOAT, BATCH, 16, 28, 28);
        INDArray xv = x.permute(0, 2, 3, 1).dup('c').permute(0, 3, 1, 2);
        INDArray ev = eps.permute(0, 2, 3, 1).dup('c').permute(0, 3, 1, 2);
        Map<String, java.util.function.Supplier<org.deeplearning4j.nn.conf.layers.Layer>> layers = new LinkedHashMap<>();
        layers.put("bn4j BatchNorm", () -> new org.bn4j.layers.BatchNorm.Builder().build());
        layers.put("DL4J BatchNormalization", () -> new BatchNormalization.Builder().build());
        for (Map.Entry<String, java.util.function.Supplier<org.deeplearning4j.nn.conf.layers.Layer>> e : layers.entrySet()) {
            double[][] r = new double[4][];
            INDArray[] y = new INDArray[4], dx = new INDArray[4];
            int k = 0;
            for (INDArray[] in : new INDArray[][]{{x, eps}, {xv, eps}, {x, ev}, {xv, ev}}) {
                MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(SEED).dataType(DataType.FLOAT)
                        .updater(new org.nd4j.linalg.learning.config.NoOp()).list().layer(e.getValue().get())
                        .setInputType(org.deeplearning4j.nn.conf.inputs.InputType.convolutional(28, 28, 16)).build());
                net.init();
                net.initGradientsView();
                Layer l = net.getLayer(0);
                y[k] = l.activate(in[0], true, LayerWorkspaceMgr.noWorkspaces()).dup('c');
                dx[k] = l.backpropGradient(in[1], LayerWorkspaceMgr.noWorkspaces()).getSecond().dup('c');
                k++;
            }
            String[] names = {"x view", "eps view", "both views"};
            for (int i = 1; i < 4; i++) {
                System.out.printf(Locale.ROOT, "   %-24s %-10s y %.3g, dx %.3g (max |dx| %.3g)%n", e.getKey(), names[i - 1],
                        maxAbsDiff(y[0], y[i]), maxAbsDiff(dx[0], dx[i]), dx[0].amaxNumber().doubleValue());
            }
        }
    }

    /**
     * One step of the network in float64 (built-in path) as the reference: how far conv1's weights after one
     * step are from it with the float32 built-in path (base) and with the float32 oneDNN helpers.
     */
    static void doubleCheck(Variant v) {
        MultiLayerNetwork ref = build(v, Setting.of("base"));
        MultiLayerConfiguration dc = conf(v, Setting.of("base"));
        dc.setDataType(DataType.DOUBLE);
        for (NeuralNetConfiguration nc : dc.getConfs()) nc.setDataType(DataType.DOUBLE);
        MultiLayerNetwork d = new MultiLayerNetwork(dc);
        d.init();
        d.setParams(ref.params().castTo(DataType.DOUBLE));
        DataSet ds = batch(CNN2DFormat.NCHW);
        d.fit(new DataSet(ds.getFeatures().castTo(DataType.DOUBLE), ds.getLabels().castTo(DataType.DOUBLE)));
        INDArray wd = d.paramTable().get("0_W");
        System.out.printf(Locale.ROOT, "%n== %s: conv1 W after one step against float64 (built-in path); largest |change| in float64 %.3g%n",
                v.name(), maxAbsDiff(wd, ref.paramTable().get("0_W")));
        for (String sn : List.of("base", "helpers")) {
            MultiLayerNetwork n = build(v, Setting.of(sn));
            copyParams(ref, n, Setting.of(sn));
            n.fit(ds);
            System.out.printf(Locale.ROOT, "   float32 %-8s max |diff| %.3g%n", sn, maxAbsDiff(wd, n.paramTable().get("0_W")));
        }
    }

    static void noHelpers(Runnable r) {
        Nd4j.getEnvironment().allowHelpers(false);
        try {
            r.run();
        } finally {
            Nd4j.getEnvironment().allowHelpers(true);
        }
    }

    // ------------------------------------------------------------------------------------------------ timing

    /** Interleaved rounds: every job once per round (inner calls each, 0 meaning one call), after 2 warm-up calls. */
    static Map<String, double[]> times(Map<String, Runnable> jobs, int rounds, int inner) {
        if (inner > 0) for (Runnable r : jobs.values()) for (int i = 0; i < 2; i++) r.run();
        int n = Math.max(1, inner);
        Map<String, double[]> out = new LinkedHashMap<>();
        for (String k : jobs.keySet()) out.put(k, new double[rounds]);
        for (int r = 0; r < rounds; r++) {
            for (Map.Entry<String, Runnable> e : jobs.entrySet()) {
                System.gc();
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) e.getValue().run();
                out.get(e.getKey())[r] = (System.nanoTime() - t0) / 1e6 / n;
            }
        }
        return out;
    }

    static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }
}
