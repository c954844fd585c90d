package org.bn4j.examples.convert;

import org.bn4j.convert.FoldResult;
import org.bn4j.convert.NormConverter;
import org.bn4j.convert.NormFactory;
import org.bn4j.convert.NormFolder;
import org.bn4j.convert.NormSelector;
import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.GhostBatchNorm;
import org.bn4j.layers.LayerNorm;
import org.bn4j.layers.LpBatchNorm;
import org.bn4j.layers.NoiseConfig;
import org.bn4j.layers.NoisyBatchNorm;
import org.bn4j.examples.data.FashionMnist;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.model.Darknet19;
import org.deeplearning4j.zoo.model.ResNet50;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * Converts a zoo network trained with DL4J's BatchNormalization to each bn4j variant ({@link NormConverter}), folds
 * each ({@link NormFolder}) and prints one table: layers replaced, parameter values carried, the inference output
 * difference to the DL4J network, and the inference time before and after folding.
 *
 * <pre>
 * mvn -B -q -pl bn-examples -am install -DskipTests
 * mvn -B -q -pl bn-examples exec:java -Dexec.args="convert"
 * </pre>
 *
 * The network is the zoo's configuration (no pretrained weights), trained for a few steps on Fashion-MNIST (grey
 * images repeated into 3 channels and zero-padded, or for ResNet50 enlarged 6× and padded, to the network's input
 * size) with DL4J's own layers, so that its running statistics are DL4J's.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Convert a zoo network's batch norms to each bn4j variant, fold them, and print what was carried,"
                + " the output differences and the inference times before and after folding.")
public class ConvertCommand implements Callable<Integer> {

    @Option(names = "--net", defaultValue = "darknet19", paramLabel = "NAME",
            description = "Zoo network: darknet19 (input 32×32) or resnet50 (input 192×192) (default: ${DEFAULT-VALUE}).")
    String net;

    @Option(names = "--steps", defaultValue = "20", paramLabel = "N",
            description = "DL4J training steps before converting (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--batch", defaultValue = "32", paramLabel = "N",
            description = "Batch size for training, for the compared outputs and for the timed inference (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--rounds", defaultValue = "15", paramLabel = "N",
            description = "Timing rounds; each round runs every network once, in turn (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "N", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Fashion-MNIST directory, or 'subset' for the bundled subset (default: "
                    + FashionMnist.SYSTEM_DIR_NAME + " if present, else the subset).")
    String data;

    @Option(names = "--variants", split = ",", paramLabel = "NAME",
            defaultValue = "bn,ghost,lp1,lpinf,noisy,ln",
            description = "bn4j variants to convert to, of bn, ghost, lp1, lpinf, noisy, ln (default: ${DEFAULT-VALUE}).")
    List<String> variantNames;

    @Option(names = "--quick", description = "A small fast run: 2 training steps, batch 8, 3 timing rounds.")
    boolean quick;

    /**
     * A bn4j variant the network is converted to.
     *
     * @param title   its name in the table
     * @param builder a fresh builder per layer
     */
    record Variant(String title, Supplier<AbstractNormLayer.Builder<?>> builder) {
    }

    /** The variants by their option name. */
    static Map<String, Variant> variants(long seed) {
        Map<String, Variant> v = new LinkedHashMap<>();
        v.put("bn", new Variant("BatchNorm", BatchNorm.Builder::new));
        v.put("ghost", new Variant("GhostBatchNorm(32)", () -> new GhostBatchNorm.Builder().virtualBatchSize(32)));
        v.put("lp1", new Variant("LpBatchNorm(p=1)", () -> new LpBatchNorm.Builder().p(1)));
        v.put("lpinf", new Variant("LpBatchNorm(top-1)", () -> new LpBatchNorm.Builder().topK(1)));
        v.put("noisy", new Variant("NoisyBatchNorm", () -> new NoisyBatchNorm.Builder().noise(NoiseConfig.santurkar().withSeed(seed))));
        v.put("ln", new Variant("LayerNorm", LayerNorm.Builder::new));
        return v;
    }

    /** One row of the table. */
    record Row(String name, int replaced, long carried, double diff, int folded, int kept, double foldDiff,
               double ms, double foldedMs) {
    }

    @Override
    public Integer call() throws Exception {
        if (quick) {
            steps = Math.min(steps, 2);
            batch = Math.min(batch, 8);
            rounds = Math.min(rounds, 3);
        }
        int size = switch (net) {
            case "darknet19" -> 32;
            case "resnet50" -> 192;
            default -> throw new IllegalArgumentException("--net: expected darknet19 or resnet50, got '" + net + "'");
        };
        Map<String, Variant> known = variants(seed);
        for (String v : variantNames) {
            if (!known.containsKey(v)) {
                throw new IllegalArgumentException("--variants: unknown variant '" + v + "'; known: " + known.keySet());
            }
        }
        FashionMnist mnist = FashionMnist.load(data, System.out::println);
        ComputationGraph dl4j = new ComputationGraph(conf(size));
        dl4j.init();
        System.out.printf(Locale.ROOT, "%s at %d×%d, float32; %d DL4J training steps of batch %d on Fashion-MNIST%n",
                net, size, size, steps, batch);
        for (int s = 0; s < steps; s++) {
            DataSet d = images(mnist.train(), s * batch, size);
            dl4j.fit(d);
        }
        INDArray x = images(mnist.test(), 0, size).getFeatures();
        INDArray reference = dl4j.outputSingle(x);

        List<String> selected = new NormConverter(NormSelector.all(), NormFactory.bn4j(BatchNorm.Builder::new))
                .selected(dl4j.getConfiguration());
        Map<String, ComputationGraph> nets = new LinkedHashMap<>();
        Map<String, FoldResult<ComputationGraph>> folds = new LinkedHashMap<>();
        nets.put("DL4J BatchNormalization", dl4j);
        folds.put("DL4J BatchNormalization", NormFolder.fold(dl4j));
        for (String name : variantNames) {
            Variant v = known.get(name);
            ComputationGraph c = new NormConverter(NormSelector.all(), NormFactory.bn4j(v.builder()))
                    .inputTypes(InputType.convolutional(size, size, 3)).convert(dl4j);
            nets.put(v.title(), c);
            folds.put(v.title(), NormFolder.fold(c));
        }

        Map<String, Runnable> jobs = new LinkedHashMap<>();
        nets.forEach((name, n) -> {
            jobs.put(name, () -> n.outputSingle(x));
            jobs.put(name + " folded", () -> folds.get(name).network().outputSingle(x));
        });
        String loadBefore = loadAverage();
        Map<String, Double> ms = medianMs(jobs, rounds);
        String loadAfter = loadAverage();

        List<Row> rows = new ArrayList<>();
        nets.forEach((name, n) -> {
            FoldResult<ComputationGraph> f = folds.get(name);
            boolean original = n == dl4j;
            rows.add(new Row(name, original ? 0 : selected.size(), original ? 0 : carried(n, selected),
                    original ? 0 : rel(n.outputSingle(x), reference), f.folded().size(), f.kept().size(),
                    rel(f.network().outputSingle(x), n.outputSingle(x)), ms.get(name), ms.get(name + " folded")));
        });
        System.out.println();
        System.out.print(table(rows));
        System.out.printf(Locale.ROOT, "%nOutput difference: max |a − b| / max |b| over the %d test images' class"
                        + " probabilities (inference mode); folded diff: the folded network against the unfolded one."
                        + " Times: median of %d interleaved rounds, batch %d, float32, OMP_NUM_THREADS=%s, %d cores;"
                        + " load average before %s, after %s.%n", x.size(0), rounds, x.size(0),
                System.getenv().getOrDefault("OMP_NUM_THREADS", "unset"), Runtime.getRuntime().availableProcessors(),
                loadBefore, loadAfter);
        folds.forEach((name, f) -> f.kept().stream().findFirst().ifPresent(k ->
                System.out.println(name + ": " + f.kept().size() + " kept, e.g. " + k.norm() + ": " + k.reason())));
        return 0;
    }

    private ComputationGraphConfiguration conf(int size) {
        int[] shape = {3, size, size};
        return net.equals("darknet19") ? Darknet19.builder().seed(seed).numClasses(FashionMnist.CLASSES).inputShape(shape).build().conf()
                : ResNet50.builder().seed(seed).numClasses(FashionMnist.CLASSES).inputShape(shape).build().graphBuilder().build();
    }

    /** {@code batch} images from {@code start} (wrapping around), as [N, 3, size, size] with one-hot labels. */
    DataSet images(FashionMnist.Split split, int start, int size) {
        int[] idx = new int[batch];
        for (int i = 0; i < batch; i++) idx[i] = (start + i) % split.size();
        DataSet d = split.batch(idx, FashionMnist.Shape.IMAGE);
        INDArray g = d.getFeatures();
        int scale = size / FashionMnist.ROWS;                       // 1 for 32, 6 for 192
        if (scale > 1) g = g.repeat(2, scale).repeat(3, scale);
        int pad = (size - FashionMnist.ROWS * scale) / 2;
        INDArray padded = Nd4j.pad(g, new int[][]{{0, 0}, {0, 0}, {pad, pad}, {pad, pad}});
        return new DataSet(Nd4j.concat(1, padded, padded, padded), d.getLabels());
    }

    /** Parameter values the selected layers of {@code converted} hold (γ, β, running mean and variance carried). */
    private static long carried(ComputationGraph converted, List<String> layers) {
        long n = 0;
        for (String name : layers) {
            Layer l = converted.getLayer(name);
            for (INDArray p : l.paramTable().values()) n += p.length();
        }
        return n;
    }

    /** Median milliseconds per call of each job, running every job once per round, in turn, after one warm-up round. */
    static Map<String, Double> medianMs(Map<String, Runnable> jobs, int rounds) {
        jobs.values().forEach(Runnable::run);
        Map<String, double[]> t = new LinkedHashMap<>();
        jobs.keySet().forEach(k -> t.put(k, new double[rounds]));
        for (int r = 0; r < rounds; r++) {
            for (Map.Entry<String, Runnable> j : jobs.entrySet()) {
                long t0 = System.nanoTime();
                j.getValue().run();
                t.get(j.getKey())[r] = (System.nanoTime() - t0) / 1e6;
            }
        }
        Map<String, Double> out = new LinkedHashMap<>();
        t.forEach((k, v) -> {
            double[] s = v.clone();
            Arrays.sort(s);
            out.put(k, s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2);
        });
        return out;
    }

    static double rel(INDArray a, INDArray b) {
        INDArray bd = b.castTo(DataType.DOUBLE);
        return a.castTo(DataType.DOUBLE).sub(bd).amaxNumber().doubleValue() / bd.amaxNumber().doubleValue();
    }

    static String table(List<Row> rows) {
        StringBuilder s = new StringBuilder();
        s.append("| layers | replaced | values carried | output diff | folded | kept | folded diff | inference ms | folded ms |\n");
        s.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            s.append(String.format(Locale.ROOT, "| %s | %d | %d | %s | %d | %d | %.2g | %.1f | %.1f |%n", r.name(),
                    r.replaced(), r.carried(), r.replaced() == 0 ? "(reference)" : String.format(Locale.ROOT, "%.2g", r.diff()),
                    r.folded(), r.kept(), r.foldDiff(), r.ms(), r.foldedMs()));
        }
        return s.toString();
    }

    private static String loadAverage() {
        try {
            return String.join(" ", Arrays.copyOf(Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+"), 3));
        } catch (Exception e) {
            return "unknown";
        }
    }
}
