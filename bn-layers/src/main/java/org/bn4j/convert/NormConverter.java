package org.bn4j.convert;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Replaces normalization layers of an existing DL4J network, a trained one or a configuration, by other
 * normalization layers: DL4J's {@code BatchNormalization} by a bn4j layer, one bn4j layer by another, or bn4j's
 * {@code BatchNorm} back to DL4J's layer.
 *
 * <pre>{@code
 * ComputationGraph darknet = Darknet19.builder().numClasses(10).inputShape(new int[]{3, 64, 64}).build().init();
 * ... train it ...
 * ComputationGraph bn4j = new NormConverter(NormSelector.all(), NormFactory.bn4j(BatchNorm.Builder::new))
 *         .inputTypes(InputType.convolutional(64, 64, 3))   // optional: checks every replacement against its input
 *         .convert(darknet);
 * ComputationGraph back = new NormConverter(NormSelector.ofType(BatchNorm.class), NormFactory.dl4j()).convert(bn4j);
 * }</pre>
 *
 * <p>What a conversion returns: a new network (or configuration) in which every layer the {@link NormSelector} picks
 * is replaced by the layer the {@link NormFactory} makes from it, and nothing else changes:
 * <ul>
 *   <li>every other layer keeps its configuration and its parameters bit for bit; the layers keep their order, names
 *       and wrappers ({@code FrozenLayer}, {@code FrozenLayerWithBackprop}); the network keeps its data type,
 *       workspace modes, preprocessors and iteration and epoch counts;</li>
 *   <li>a replaced layer gets the old layer's trained γ and β and its running mean and variance, as far as the new
 *       layer has them. DL4J's {@code log10stdev} (log10 of the running standard deviation, DL4J's default
 *       {@code useLogStd}) becomes the variance {@code (10^log10stdev)²} exactly as DL4J's inference computes it, so
 *       converting to bn4j's {@code BatchNorm} keeps the inference function. The running variance is copied as
 *       stored, the value inference uses: DL4J averages the biased batch variance, bn4j the unbiased one (a factor
 *       m/(m−1) for m values per feature), so further training moves the copied estimate towards the unbiased one;</li>
 *   <li>a layer without a running mean and variance (layer norm) gets none from its predecessor, and a replacement
 *       with running statistics but a predecessor without starts from mean 0, variance 1;</li>
 *   <li>the updater's state (momentum, Adam's moments) and the listeners are not carried: the new network starts
 *       with a fresh updater state, as a network built from its configuration does.</li>
 * </ul>
 *
 * <p>Errors ({@link IllegalArgumentException}, naming the layer and what was expected): a selector that matches no
 * layer, a name that is not a normalization layer of the network, a replacement with another number of features,
 * a replacement that cannot take the layer's input type (checked when the network's input types are given), a
 * replacement that holds γ or β fixed while the trained layer has other values, a network that is not initialized,
 * and a network whose parameters do not match its configuration. The given network is never modified.
 *
 * <p>User guide, with DL4J's, Keras's and PyTorch's options side by side: {@code docs/migrating.md}.
 */
public final class NormConverter {
    private final NormSelector selector;
    private final NormFactory factory;
    private final InputType[] inputTypes;

    /**
     * @param which the layers to replace
     * @param to    the replacement of each
     */
    public NormConverter(NormSelector which, NormFactory to) {
        this(which, to, null);
    }

    private NormConverter(NormSelector which, NormFactory to, InputType[] inputTypes) {
        this.selector = Objects.requireNonNull(which, "selector");
        this.factory = Objects.requireNonNull(to, "factory");
        this.inputTypes = inputTypes;
    }

    /**
     * The same converter, checking every replacement against the input type of the layer it replaces. Give the
     * network's input types, as given to {@code setInputType(s)} when it was built (DL4J's configurations do not keep
     * them); the factory also sees the layer's input type ({@link NormSource#inputType()}).
     */
    public NormConverter inputTypes(InputType... types) {
        return new NormConverter(selector, factory, types.clone());
    }

    /** A trained (initialized) network with its parameters. */
    public MultiLayerNetwork convert(MultiLayerNetwork net) {
        return replace(new MlnEdit(net.getLayerWiseConfigurations(), net, singleInputType())).buildWithParams();
    }

    /** A trained (initialized) network with its parameters. */
    public ComputationGraph convert(ComputationGraph net) {
        return replace(new GraphEdit(net.getConfiguration(), net, inputTypes)).buildWithParams();
    }

    /** A configuration (the new network gets fresh parameters when it is initialized). */
    public MultiLayerConfiguration convert(MultiLayerConfiguration conf) {
        return replace(new MlnEdit(conf, null, singleInputType())).configuration();
    }

    /** A configuration (the new network gets fresh parameters when it is initialized). */
    public ComputationGraphConfiguration convert(ComputationGraphConfiguration conf) {
        return replace(new GraphEdit(conf, null, inputTypes)).configuration();
    }

    /** The names of the layers this converter would replace in a configuration. */
    public List<String> selected(MultiLayerConfiguration conf) {
        return selectedNames(new MlnEdit(conf, null, null));
    }

    /** The names of the layers this converter would replace in a configuration. */
    public List<String> selected(ComputationGraphConfiguration conf) {
        return selectedNames(new GraphEdit(conf, null, null));
    }

    private List<String> selectedNames(NetEdit<?, ?> edit) {
        return select(edit).stream().map(edit::name).toList();
    }

    private InputType singleInputType() {
        if (inputTypes == null) return null;
        if (inputTypes.length != 1) {
            throw new IllegalArgumentException("a MultiLayerNetwork has one input; got " + inputTypes.length + " input types");
        }
        return inputTypes[0];
    }

    private <C, N extends Model> NetEdit<C, N> replace(NetEdit<C, N> edit) {
        for (String id : select(edit)) replace(edit, id);
        return edit;
    }

    /** The ids of the selected layers; errors for names that are not normalization layers, or no match. */
    private List<String> select(NetEdit<?, ?> edit) {
        List<String> norms = new ArrayList<>();
        for (String id : edit.ids()) {
            if (NormSelector.isNormLayer(NetEdit.unwrap(edit.layer(id)))) norms.add(edit.name(id));
        }
        for (String name : selector.requiredNames()) {
            String id = edit.ids().stream().filter(i -> edit.name(i).equals(name)).findFirst().orElse(null);
            if (id == null) {
                throw new IllegalArgumentException("NormSelector: the network has no layer named '" + name
                        + "'; its normalization layers are " + norms);
            }
            Layer l = NetEdit.unwrap(edit.layer(id));
            if (!NormSelector.isNormLayer(l)) {
                throw new IllegalArgumentException("NormSelector: " + edit.describe(id) + " is a " + l.getClass().getSimpleName()
                        + ", not a normalization layer; the network's normalization layers are " + norms);
            }
        }
        List<String> ids = edit.ids().stream().filter(id -> selector.matches(edit.name(id), NetEdit.unwrap(edit.layer(id))))
                .toList();
        if (ids.isEmpty()) {
            throw new IllegalArgumentException("NormSelector (" + selector + ") matched no layer; the network's normalization"
                    + " layers are " + norms);
        }
        return ids;
    }

    private void replace(NetEdit<?, ?> edit, String id) {
        String what = edit.describe(id);
        Layer old = NetEdit.unwrap(edit.layer(id));
        NormSource source = new NormSource(edit.name(id), old, edit.inputType(id));
        Layer made = factory.create(source);
        if (!NormSelector.isNormLayer(made)) {
            throw new IllegalArgumentException(what + ": the factory returned " + (made == null ? "null"
                    : made.getClass().getName()) + "; expected DL4J's BatchNormalization or a bn4j normalization layer");
        }
        Layer neu = made.clone();
        complete(neu, old, source, what);
        InputType in = edit.inputType(id);
        if (in != null) checkInputType(neu, old, in, what);
        if (edit.hasParams()) {
            NormParams p = NormParams.read(old, edit.oldLayer(id).paramTable(), edit.dataType(), what);
            edit.setParams(id, p.write(neu, what));
        }
        edit.setLayer(id, neu);
    }

    /** Features and name where the factory left them unset; the layer settings DL4J fills from the network's defaults. */
    private static void complete(Layer neu, Layer old, NormSource source, String what) {
        FeedForwardLayer f = (FeedForwardLayer) neu;
        long n = source.features();
        if (f.getNIn() <= 0) {
            f.setNIn(n);
            f.setNOut(n);
        } else if (f.getNIn() != n || f.getNOut() != n) {
            throw new IllegalArgumentException(what + ": the replacement " + neu.getClass().getSimpleName() + " has nIn "
                    + f.getNIn() + ", nOut " + f.getNOut() + "; the layer it replaces has " + n + " features");
        }
        if (neu.getLayerName() == null) neu.setLayerName(old.getLayerName());
        if (neu.getIDropout() == null) neu.setIDropout(old.getIDropout());
        if (neu.getConstraints() == null) neu.setConstraints(old.getConstraints());
        BaseLayer nb = (BaseLayer) neu, ob = (BaseLayer) old;
        if (nb.getIUpdater() == null) nb.setIUpdater(ob.getIUpdater());
        if (nb.getBiasUpdater() == null) nb.setBiasUpdater(ob.getBiasUpdater());
        if (nb.getActivationFn() == null) nb.setActivationFn(ob.getActivationFn());
        if (nb.getWeightInitFn() == null) nb.setWeightInitFn(ob.getWeightInitFn());
        if (nb.getGradientNormalization() == null) {
            nb.setGradientNormalization(ob.getGradientNormalization());
            nb.setGradientNormalizationThreshold(ob.getGradientNormalizationThreshold());
        }
    }

    /** The replacement must take the old layer's input type and give the same output type. */
    private static void checkInputType(Layer neu, Layer old, InputType in, String what) {
        InputType expected = old.getOutputType(-1, in);
        InputType got;
        try {
            neu.setNIn(in, false); // also takes the data format from the input type
            got = neu.getOutputType(-1, in);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(what + ": the replacement " + neu.getClass().getSimpleName()
                    + " cannot take the layer's input type " + in + ": " + e.getMessage(), e);
        }
        if (!expected.equals(got)) {
            throw new IllegalArgumentException(what + ": the replacement " + neu.getClass().getSimpleName() + " turns input "
                    + in + " into " + got + ", the layer it replaces into " + expected);
        }
    }
}
