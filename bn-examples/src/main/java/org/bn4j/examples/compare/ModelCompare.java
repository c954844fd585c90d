package org.bn4j.examples.compare;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import org.bn4j.convert.NormConverter;
import org.bn4j.convert.NormFactory;
import org.bn4j.convert.NormSelector;
import org.bn4j.examples.data.FashionMnist;
import org.bn4j.examples.nets.Variant;
import org.bn4j.examples.util.Report;
import org.bn4j.layers.Catalog;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * Compares normalization variants on your own network: the network's normalization layers (DL4J's
 * {@code BatchNormalization} or any bn4j layer) are replaced by each chosen variant with bn4j's {@link NormConverter},
 * and every variant is trained and measured as {@code compare} measures its MLP ({@link Comparison}: test accuracy,
 * training loss of every step, time per epoch, the largest learning rate that trains, accuracy at small batch sizes).
 *
 * <pre>{@code
 * MultiLayerNetwork mine = ...;                                // with DL4J's BatchNormalization layers
 * ModelCompare mc = ModelCompare.of(mine, List.of("model", "bn", "gn", "rms"));
 * FashionMnist data = FashionMnist.fromDirectory(Path.of("/usr/share/datasets/fashion-mnist"));
 * Path out = Path.of("results/my-model");
 * Comparison.Result r = mc.run(data, out, mc.defaults());    // compare's default protocol (Plan.FAST)
 * mc.report(r, out, "ModelCompare on my network");          // prints the table, draws the plots, writes summary.md
 * }</pre>
 *
 * <p>What each run starts from, so that the comparison is fair: every layer other than the normalization layers gets
 * the same weights in every run, those of a network built from the model's configuration and initialized with the
 * seed (the default), or the model's own weights ({@code fromModelWeights} of
 * {@link #of(Model, String, List, boolean, long, boolean)}, to compare on a trained network); the normalization
 * layers start with fresh parameters (γ = 1, β = 0, fresh running statistics), the model's own layers too in the
 * {@code model} run. The given network is never modified.
 *
 * <p>Variants: {@code model} (the model's own normalization layers, not converted), {@code dl4j-bn} (DL4J's
 * {@code BatchNormalization} with decay 0.9, ε 1e-5), and every normalization entry of the examples' {@link Variant}
 * list, which are the library's {@link Catalog} entries with their defaults (bn, lp1, lpinf, ghost, noisy, noise,
 * renorm, ln, gn, in, rms, ghost-lp1) and lp2. A variant that cannot take a layer's input (group norm whose 32 groups
 * do not divide the channels, instance norm on feature vectors) is an error naming the layer.
 *
 * <p>Data: Fashion-MNIST's IDX files ({@link FashionMnist}), features {@code [N, 784]}. A network whose input is
 * convolutional gets them reshaped to {@code [N, 1, 28, 28]} (NCHW); the network must give 10 class probabilities.
 * User guide: {@code docs/compare-your-model.md}.
 */
public final class ModelCompare {

    /** The variants {@code compare-model} runs by default (those that cannot take the model's layers are skipped). */
    public static final List<String> DEFAULT_VARIANTS = List.of("model", "bn", "lp1", "ghost", "renorm", "ln", "gn", "rms");

    /** The variant that keeps the model's own normalization layers. */
    public static final String MODEL = "model";

    private final Model model;
    private final String source;
    private final InputType inputType;
    private final FashionMnist.Shape shape;
    private final List<String> normLayers;
    private final long seed;
    private final boolean fromModelWeights;
    private final Model base;
    private final Map<String, Object> configurations = new LinkedHashMap<>();
    private final Map<String, String> descriptions = new LinkedHashMap<>();
    private final Map<String, String> skipped = new LinkedHashMap<>();

    private ModelCompare(Model model, String source, List<String> variants, boolean skipUnfit, long seed, boolean fromModelWeights) {
        this.model = model;
        this.source = source;
        this.seed = seed;
        this.fromModelWeights = fromModelWeights;
        this.inputType = detectInput();
        this.shape = inputType.getType() == InputType.Type.CNN ? FashionMnist.Shape.IMAGE : FashionMnist.Shape.FLAT;
        this.normLayers = normLayers(model);
        if (normLayers.isEmpty()) {
            throw new IllegalArgumentException(source + " has no normalization layer to replace (expected DL4J's "
                    + "BatchNormalization or a bn4j layer); its layers are " + layerList(model));
        }
        if (variants.isEmpty()) {
            throw new IllegalArgumentException("no variant to compare; known: " + String.join(", ", knownVariants()));
        }
        this.base = baseNetwork();
        for (String v : variants) {
            String name = v.trim().toLowerCase(Locale.ROOT);
            if (configurations.containsKey(name)) {
                continue;
            }
            try {
                prepare(name);
            } catch (IllegalArgumentException e) {
                if (!skipUnfit || !knownVariants().contains(name)) {
                    throw e;
                }
                skipped.put(name, e.getMessage());
            }
        }
        if (configurations.isEmpty()) {
            throw new IllegalArgumentException("none of the variants " + variants + " can replace the normalization layers of "
                    + source + ": " + skipped);
        }
    }

    /**
     * A comparison on {@code model} (not modified), every layer except the normalization layers starting from the weights
     * of a fresh network built from its configuration with seed 42.
     *
     * @param model    a {@link MultiLayerNetwork} or a {@link ComputationGraph} (one input, one output), initialized
     * @param variants the variant names ({@link #knownVariants()})
     * @throws IllegalArgumentException for a model without normalization layers, a model that does not take
     *                                  Fashion-MNIST, an unknown variant or one that cannot replace the model's layers
     */
    public static ModelCompare of(Model model, List<String> variants) {
        return new ModelCompare(checked(model), describe(model), variants, false, 42, false);
    }

    /**
     * As {@link #of(Model, List)}, with the options of the command line.
     *
     * @param source           how the model is named in messages and summaries ("model.zip")
     * @param skipUnfit        skip (instead of rejecting) known variants that cannot replace the model's layers; the
     *                         reasons are in {@link #skipped()}
     * @param seed             seed of the fresh initialization and of the noisy variants' noise
     * @param fromModelWeights start the shared layers from the model's own weights instead of a fresh initialization
     */
    public static ModelCompare of(Model model, String source, List<String> variants, boolean skipUnfit, long seed,
                                  boolean fromModelWeights) {
        return new ModelCompare(checked(model), source, variants, skipUnfit, seed, fromModelWeights);
    }

    /** The names a variant may have: {@code model}, {@code dl4j-bn} and the normalization entries of {@link Variant}. */
    public static List<String> knownVariants() {
        List<String> out = new ArrayList<>(List.of(MODEL));
        for (String n : Variant.NAMES) {
            if (Variant.of(n, 0).hasNorm()) {
                out.add(n);
            }
        }
        return out;
    }

    /**
     * Loads a network: a {@code ModelSerializer} zip of a {@link MultiLayerNetwork} or a {@link ComputationGraph}
     * (read, never written), or the name of a class on the class path that gives one: {@code com.example.Nets#small} (a
     * public static method without arguments), or {@code com.example.Nets} (its only public static no-argument method
     * that returns a network or a configuration; else its public no-argument constructor, when the class is itself a
     * network or a {@link Supplier} of one). A configuration is built and initialized.
     *
     * @throws IllegalArgumentException when the argument is neither, naming what was expected and what came
     */
    public static Model load(String fileOrClass) throws IOException {
        Path p = Path.of(fileOrClass);
        if (Files.isRegularFile(p)) {
            return loadFile(p);
        }
        if (!fileOrClass.matches("[\\p{L}_$][\\p{L}\\p{N}_$]*(\\.[\\p{L}_$][\\p{L}\\p{N}_$]*)*(#[\\p{L}_$][\\p{L}\\p{N}_$]*)?")) {
            throw new IllegalArgumentException("--model '" + fileOrClass + "': expected a ModelSerializer zip file or a class "
                    + "name (com.example.Nets or com.example.Nets#method); there is no such file");
        }
        return loadFactory(fileOrClass);
    }

    private static Model loadFile(Path p) throws IOException {
        String conf;
        try (ZipFile zip = new ZipFile(p.toFile())) {
            ZipEntry e = zip.getEntry("configuration.json");
            if (e == null || zip.getEntry("coefficients.bin") == null) {
                throw new IllegalArgumentException("--model " + p + ": expected a ModelSerializer zip (configuration.json and "
                        + "coefficients.bin), got a zip with " + zip.stream().map(ZipEntry::getName).toList());
            }
            try (InputStream in = zip.getInputStream(e)) {
                conf = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        } catch (java.util.zip.ZipException ex) {
            throw new IllegalArgumentException("--model " + p + ": expected a ModelSerializer zip file or a class name, got a "
                    + "file that is not a zip (" + ex.getMessage() + ")");
        }
        return conf.contains("\"vertices\"") ? ModelSerializer.restoreComputationGraph(p.toFile(), false)
                : ModelSerializer.restoreMultiLayerNetwork(p.toFile(), false);
    }

    private static Model loadFactory(String spec) {
        String[] parts = spec.split("#", 2);
        Class<?> c;
        try {
            c = Class.forName(parts[0]);
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("--model '" + spec + "': expected a ModelSerializer zip file or a class on the "
                    + "class path; there is no such file and no class " + parts[0]);
        }
        try {
            Object made;
            if (parts.length == 2) {
                Method m = c.getMethod(parts[1]);
                if (!Modifier.isStatic(m.getModifiers())) {
                    throw new IllegalArgumentException("--model '" + spec + "': expected a public static method without "
                            + "arguments, got an instance method");
                }
                made = m.invoke(null);
            } else {
                List<Method> ms = new ArrayList<>();
                for (Method m : c.getMethods()) {
                    if (Modifier.isStatic(m.getModifiers()) && m.getParameterCount() == 0 && isNetworkType(m.getReturnType())) {
                        ms.add(m);
                    }
                }
                if (ms.size() > 1) {
                    throw new IllegalArgumentException("--model '" + spec + "': the class has " + ms.size() + " public static "
                            + "methods giving a network " + ms.stream().map(Method::getName).toList() + "; name one: "
                            + spec + "#" + ms.get(0).getName());
                }
                if (ms.size() == 1) {
                    made = ms.get(0).invoke(null);
                } else {
                    Constructor<?> k;
                    try {
                        k = c.getConstructor();
                    } catch (NoSuchMethodException e) {
                        throw new IllegalArgumentException("--model '" + spec + "': expected a public static method without "
                                + "arguments that returns a network or a configuration, or a public no-argument constructor; "
                                + "the class has neither");
                    }
                    made = k.newInstance();
                    if (made instanceof Supplier<?> s) {
                        made = s.get();
                    }
                }
            }
            return asNetwork(made, spec);
        } catch (NoSuchMethodException e) {
            throw new IllegalArgumentException("--model '" + spec + "': the class has no public method " + parts[1] + "()");
        } catch (IllegalAccessException | InstantiationException e) {
            throw new IllegalArgumentException("--model '" + spec + "': cannot call it: " + e);
        } catch (InvocationTargetException e) {
            throw new IllegalArgumentException("--model '" + spec + "': the factory threw " + e.getCause(), e.getCause());
        }
    }

    private static boolean isNetworkType(Class<?> t) {
        return Model.class.isAssignableFrom(t) || t == MultiLayerConfiguration.class || t == ComputationGraphConfiguration.class;
    }

    private static Model asNetwork(Object made, String spec) {
        if (made instanceof MultiLayerNetwork n) {
            if (n.params() == null) {
                n.init();
            }
            return n;
        }
        if (made instanceof ComputationGraph g) {
            if (g.params() == null) {
                g.init();
            }
            return g;
        }
        if (made instanceof MultiLayerConfiguration c) {
            MultiLayerNetwork n = new MultiLayerNetwork(c);
            n.init();
            return n;
        }
        if (made instanceof ComputationGraphConfiguration c) {
            ComputationGraph g = new ComputationGraph(c);
            g.init();
            return g;
        }
        throw new IllegalArgumentException("--model '" + spec + "': expected a MultiLayerNetwork, a ComputationGraph or their "
                + "configuration, got " + (made == null ? "null" : made.getClass().getName()));
    }

    private static Model checked(Model m) {
        if (!(m instanceof MultiLayerNetwork) && !(m instanceof ComputationGraph)) {
            throw new IllegalArgumentException("ModelCompare: expected a MultiLayerNetwork or a ComputationGraph, got "
                    + (m == null ? "null" : m.getClass().getName()));
        }
        if (m.params() == null) {
            throw new IllegalArgumentException("ModelCompare: the network is not initialized (call init() first)");
        }
        if (m instanceof ComputationGraph g && (g.getConfiguration().getNetworkInputs().size() != 1
                || g.getConfiguration().getNetworkOutputs().size() != 1)) {
            throw new IllegalArgumentException("ModelCompare: expected a ComputationGraph with one input and one output, got inputs "
                    + g.getConfiguration().getNetworkInputs() + " and outputs " + g.getConfiguration().getNetworkOutputs());
        }
        return m;
    }

    private static String describe(Model m) {
        return "the " + m.getClass().getSimpleName();
    }

    // ---- the model's input and layers

    /** Fashion-MNIST's feature vectors, or its images when the model does not take vectors. */
    private InputType detectInput() {
        Map<InputType, String> why = new LinkedHashMap<>();
        for (InputType t : List.of(InputType.feedForward(FashionMnist.PIXELS),
                InputType.convolutional(FashionMnist.ROWS, FashionMnist.COLS, 1))) {
            InputType out;
            try {
                out = model instanceof MultiLayerNetwork n
                        ? last(n.getLayerWiseConfigurations().clone().getLayerActivationTypes(t))
                        : outputType((ComputationGraph) model, t);
            } catch (RuntimeException e) {
                why.put(t, e.getMessage());
                continue;
            }
            if (out.getType() != InputType.Type.FF || out.arrayElementsPerExample() != FashionMnist.CLASSES) {
                throw new IllegalArgumentException(source + " gives " + out + "; expected the " + FashionMnist.CLASSES
                        + " class probabilities of Fashion-MNIST (feed-forward output of size " + FashionMnist.CLASSES + ")");
            }
            return t;
        }
        throw new IllegalArgumentException(source + " takes neither Fashion-MNIST's feature vectors [N, 784] nor its images "
                + "[N, 1, 28, 28]: " + why);
    }

    private static InputType last(List<InputType> types) {
        return types.get(types.size() - 1);
    }

    private static InputType outputType(ComputationGraph g, InputType in) {
        ComputationGraphConfiguration c = g.getConfiguration().clone();
        return c.getLayerActivationTypes(in).get(c.getNetworkOutputs().get(0));
    }

    private static Layer unwrap(Layer l) {
        while (true) {
            if (l instanceof FrozenLayer f) {
                l = f.getLayer();
            } else if (l instanceof BaseWrapperLayer w) {
                l = w.getUnderlying();
            } else {
                return l;
            }
        }
    }

    /** Layer configurations by name (MultiLayerNetwork: in order). */
    private static Map<String, Layer> layers(Object confOrNet) {
        Map<String, Layer> out = new LinkedHashMap<>();
        if (confOrNet instanceof MultiLayerNetwork n) {
            confOrNet = n.getLayerWiseConfigurations();
        } else if (confOrNet instanceof ComputationGraph g) {
            confOrNet = g.getConfiguration();
        }
        if (confOrNet instanceof MultiLayerConfiguration c) {
            int i = 0;
            for (NeuralNetConfiguration nc : c.getConfs()) {
                Layer l = nc.getLayer();
                out.put(l.getLayerName() != null ? l.getLayerName() : String.valueOf(i), l);
                i++;
            }
        } else {
            for (Map.Entry<String, GraphVertex> e : ((ComputationGraphConfiguration) confOrNet).getVertices().entrySet()) {
                if (e.getValue() instanceof LayerVertex lv) {
                    out.put(e.getKey(), lv.getLayerConf().getLayer());
                }
            }
        }
        return out;
    }

    private static List<String> normLayers(Object confOrNet) {
        List<String> out = new ArrayList<>();
        layers(confOrNet).forEach((name, l) -> {
            if (NormSelector.isNormLayer(unwrap(l))) {
                out.add(name);
            }
        });
        return out;
    }

    private static List<String> layerList(Object confOrNet) {
        List<String> out = new ArrayList<>();
        layers(confOrNet).forEach((name, l) -> out.add(name + " (" + unwrap(l).getClass().getSimpleName() + ")"));
        return out;
    }

    // ---- the networks

    /** The network whose non-normalization weights every run starts from. */
    private Model baseNetwork() {
        if (fromModelWeights) {
            return model instanceof MultiLayerNetwork n ? n.clone() : ((ComputationGraph) model).clone();
        }
        if (model instanceof MultiLayerNetwork n) {
            MultiLayerConfiguration c = n.getLayerWiseConfigurations().clone();
            c.getConfs().forEach(nc -> nc.setSeed(seed));
            MultiLayerNetwork fresh = new MultiLayerNetwork(c);
            fresh.init();
            return fresh;
        }
        ComputationGraphConfiguration c = ((ComputationGraph) model).getConfiguration().clone();
        c.getDefaultConfiguration().setSeed(seed);
        for (GraphVertex v : c.getVertices().values()) {
            if (v instanceof LayerVertex lv) {
                lv.getLayerConf().setSeed(seed);
            }
        }
        ComputationGraph fresh = new ComputationGraph(c);
        fresh.init();
        return fresh;
    }

    /** Converts the configuration for one variant (the checks of the converter included) and records it. */
    private void prepare(String name) {
        if (name.equals(MODEL)) {
            configurations.put(name, model instanceof MultiLayerNetwork n ? n.getLayerWiseConfigurations().clone()
                    : ((ComputationGraph) model).getConfiguration().clone());
            descriptions.put(name, "the model's own normalization layers (" + normTypes(configurations.get(name)) + ")");
            return;
        }
        Variant v;
        try {
            v = Variant.of(name, seed);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown variant '" + name + "'; known: " + String.join(", ", knownVariants()));
        }
        if (!v.hasNorm()) {
            throw new IllegalArgumentException("variant '" + name + "' (" + v.describe() + ") has no normalization layer to put "
                    + "in place of the model's; the variants that have one: " + String.join(", ", knownVariants()));
        }
        NormFactory factory = old -> v.norm().get();
        NormConverter converter = new NormConverter(NormSelector.all(), factory).inputTypes(inputType);
        Object conf;
        try {
            conf = model instanceof MultiLayerNetwork n ? converter.convert(n.getLayerWiseConfigurations())
                    : converter.convert(((ComputationGraph) model).getConfiguration());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("variant '" + name + "' cannot replace the normalization layers of " + source
                    + ": " + e.getMessage(), e);
        }
        configurations.put(name, conf);
        descriptions.put(name, v.describe());
    }

    private static String normTypes(Object conf) {
        Map<String, Layer> ls = layers(conf);
        return String.join(", ", new LinkedHashSet<>(normLayers(conf).stream()
                .map(n -> unwrap(ls.get(n)).getClass().getSimpleName()).toList()));
    }

    /**
     * A fresh network of one variant: the converted configuration, every normalization layer with fresh parameters,
     * every other layer with the weights all runs start from.
     *
     * @param variant a name given to the constructor (and not skipped)
     * @param updater the updater of every trainable layer, or null for the model's own
     */
    public Model network(String variant, IUpdater updater) {
        Object conf = configurations.get(variant);
        if (conf == null) {
            throw new IllegalArgumentException("variant '" + variant + "' is not in this comparison; it has "
                    + configurations.keySet() + (skipped.isEmpty() ? "" : ", skipped " + skipped.keySet()));
        }
        Model net;
        if (conf instanceof MultiLayerConfiguration c) {
            MultiLayerConfiguration cc = c.clone();
            if (updater != null) {
                cc.getConfs().forEach(nc -> setUpdater(nc.getLayer(), updater));
            }
            MultiLayerNetwork n = new MultiLayerNetwork(cc);
            n.init();
            MultiLayerNetwork b = (MultiLayerNetwork) base;
            for (int i = 0; i < n.getnLayers(); i++) {
                if (!NormSelector.isNormLayer(unwrap(cc.getConf(i).getLayer()))) {
                    copy(b.getLayer(i).params(), n.getLayer(i).params(), n.getLayer(i).conf().getLayer().getLayerName());
                }
            }
            net = n;
        } else {
            ComputationGraphConfiguration cc = ((ComputationGraphConfiguration) conf).clone();
            if (updater != null) {
                for (GraphVertex v : cc.getVertices().values()) {
                    if (v instanceof LayerVertex lv) {
                        setUpdater(lv.getLayerConf().getLayer(), updater);
                    }
                }
            }
            ComputationGraph g = new ComputationGraph(cc);
            g.init();
            ComputationGraph b = (ComputationGraph) base;
            for (org.deeplearning4j.nn.api.Layer l : g.getLayers()) {
                Layer lc = l.conf().getLayer();
                if (!NormSelector.isNormLayer(unwrap(lc))) {
                    copy(b.getLayer(lc.getLayerName()).params(), l.params(), lc.getLayerName());
                }
            }
            net = g;
        }
        return net;
    }

    private static void setUpdater(Layer l, IUpdater u) {
        if (l instanceof BaseLayer b) {
            b.setIUpdater(u.clone());
            b.setBiasUpdater(null);
        } else if (l instanceof BaseWrapperLayer w && !(l instanceof FrozenLayer)) {
            setUpdater(w.getUnderlying(), u);
        }
    }

    private static void copy(INDArray from, INDArray to, String layer) {
        if (to == null || to.length() == 0) {
            return;
        }
        if (from == null || from.length() != to.length()) {
            throw new IllegalStateException("layer '" + layer + "': " + to.length() + " parameters, the starting network has "
                    + (from == null ? 0 : from.length()));
        }
        to.assign(from.castTo(to.dataType()).reshape(to.shape()));
    }

    // ---- running and reporting

    /** The variants that will run, in order. */
    public List<String> variants() {
        return List.copyOf(configurations.keySet());
    }

    /** Known variants left out because they cannot replace the model's layers (only with {@code skipUnfit}), and why. */
    public Map<String, String> skipped() {
        return Map.copyOf(skipped);
    }

    /** The normalization layers of the model, by name. */
    public List<String> normLayers() {
        return normLayers;
    }

    /** The input the model takes: Fashion-MNIST's vectors {@code [N, 784]} or images {@code [N, 1, 28, 28]}. */
    public FashionMnist.Shape shape() {
        return shape;
    }

    /** Where the model came from, as named in messages. */
    public String source() {
        return source;
    }

    /**
     * {@code compare}'s default protocol ({@link Comparison.Plan#FAST}) for this model: the model's own updater in the
     * accuracy part, plain SGD in the sweeps, seed 42, a progress bar.
     */
    public Comparison.Settings defaults() {
        return new Comparison.Settings(Comparison.Plan.FAST, new LinkedHashSet<>(Comparison.PARTS), 128, null,
                "the model's own updater", List.of(0.03, 0.1, 0.3, 1.0, 3.0, 10.0), List.of(4, 8, 32, 128), 0.1, 0.7, 42, shape,
                true);
    }

    /**
     * Trains every variant ({@link Comparison#run}) and writes the CSV files to {@code dir}. Checks first that the model
     * takes the data: one forward pass on two test images.
     *
     * @param s the settings; its {@link Comparison.Settings#shape()} must be {@link #shape()}
     */
    public Comparison.Result run(FashionMnist data, Path dir, Comparison.Settings s) throws IOException {
        if (s.shape() != shape) {
            throw new IllegalArgumentException("ModelCompare: the model takes " + shape + " input, the settings say " + s.shape());
        }
        DataSet probe = data.test().batch(new int[] {0, 1}, shape);
        try {
            if (base instanceof MultiLayerNetwork n) {
                n.output(probe.getFeatures(), false);
            } else {
                ((ComputationGraph) base).outputSingle(false, probe.getFeatures());
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(source + " does not take Fashion-MNIST's input " + java.util.Arrays.toString(
                    probe.getFeatures().shape()) + ": " + e.getMessage(), e);
        }
        Files.createDirectories(dir);
        List<Comparison.Run> runs = new ArrayList<>();
        for (String v : configurations.keySet()) {
            runs.add(new Comparison.Run(v, descriptions.get(v), u -> network(v, u)));
        }
        return Comparison.run(dir, data, s, runs);
    }

    /**
     * Prints the figures, draws the plots and writes {@code summary.md} to {@code dir}.
     *
     * @param commandLine how the comparison was run, for the summary's first lines (the command line, or a few words)
     */
    public void report(Comparison.Result r, Path dir, String commandLine) throws IOException {
        Comparison.print(r, dir, "Fashion-MNIST, " + source);
        Report rep = new Report("compare-model: normalization variants in " + source, commandLine);
        Comparison.table(r, rep);
        FashionMnist data = r.data();
        Comparison.Settings s = r.settings();
        Comparison.Plan p = s.plan();
        String sweepTest = p.sweepTestImages(data.test().size());
        rep.heading("Setup");
        rep.text("- Model: " + source + " (" + model.getClass().getSimpleName() + ", " + model.numParams() + " parameters); "
                + "normalization layers replaced: " + normLayers + ".");
        rep.text("- Input: " + (shape == FashionMnist.Shape.IMAGE ? "the model's input is convolutional, so the [N,784] "
                + "features are reshaped to [N,1,28,28] (NCHW)" : "features [N,784]") + "; pixels scaled to [0,1] and "
                + String.format(Locale.ROOT, "standardized with one scalar mean and std of the training images a part uses "
                + "(all %d: mean %.4f, std %.4f)", data.train().size(), data.mean(), data.std())
                + "; one-hot labels. Data: " + data.source() + "; " + data.train().size() + " training and "
                + data.test().size() + " test images.");
        rep.text("- Start: every layer other than the normalization layers starts from the same weights in every run ("
                + (fromModelWeights ? "the model's own" : "a fresh initialization of the model's configuration with seed " + seed)
                + "); the normalization layers start fresh (γ = 1, β = 0, fresh running statistics).");
        if (!skipped.isEmpty()) {
            rep.text("- Skipped (they cannot replace the model's layers): " + String.join("; ", skipped.entrySet().stream()
                    .map(e -> e.getKey() + ": " + e.getValue()).toList()) + ".");
        }
        rep.text("- Accuracy part: " + s.updaterText() + ", batch " + s.batch() + " (reshuffled every epoch, incomplete last "
                + "batch dropped), " + p.epochs() + " epoch(s) over the first " + Math.min(p.trainExamples(), data.train().size())
                + " training images; evaluation in inference mode on the whole test set after every epoch. Time per epoch is "
                + "the training time only.");
        rep.text("- Learning-rate part: plain SGD on every layer at lr " + s.lrs() + ", batch " + s.batch() + ", one pass over "
                + "the first " + p.lrExamples() + " training images, evaluated on " + sweepTest + "; a rate trains when the "
                + "run does not diverge and reaches test accuracy ≥ " + s.trainsAt() + ".");
        rep.text("- Small-batch part: batch sizes " + s.batchSizes() + ", plain SGD lr " + Report.num(s.batchLr())
                + ", one pass over the first " + p.batchExamples() + " training images, evaluated on " + sweepTest + ".");
        rep.machine(r.seconds());
        rep.write(dir.resolve("summary.md"));
        System.out.println();
        System.out.println("Wrote " + dir.toAbsolutePath() + "/{epochs.csv,steps.csv,lr_sweep.csv,batch_sizes.csv,*.png,summary.md}");
    }
}
