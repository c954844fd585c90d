package org.bn4j.convert;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An editable copy of a network's configuration, with the parameters of the network it came from (if any): what
 * the converter and the folder change, seen the same way for a MultiLayerNetwork (layers by index) and a
 * ComputationGraph (layer vertices by name). The given network and configuration are never modified.
 *
 * @param <C> the configuration type
 * @param <N> the network type built from it
 */
abstract class NetEdit<C, N extends Model> {

    /** New parameter values by layer id, replacing the old layer's (only the keys given). */
    private final Map<String, Map<String, INDArray>> paramOverrides = new LinkedHashMap<>();
    /** The network the configuration belongs to, or null when editing a configuration. */
    protected final N old;

    /**
     * @param old the network, or null
     * @throws IllegalArgumentException if the network is not initialized
     */
    NetEdit(N old) {
        boolean initialized = old == null || (old instanceof MultiLayerNetwork m ? m.getLayers() != null
                : ((ComputationGraph) old).getVertices() != null);
        if (!initialized) {
            throw new IllegalArgumentException(old.getClass().getSimpleName() + " is not initialized: call init() first,"
                    + " or convert its configuration");
        }
        this.old = old;
    }

    /** The layer ids in network (topological) order; ids of removed layers are gone. */
    abstract List<String> ids();

    /** The layer's name: its layer name in a MultiLayerNetwork, its vertex name in a ComputationGraph. */
    abstract String name(String id);

    /** "layer 3 'bn'" or "vertex 'bn'", for messages. */
    abstract String describe(String id);

    /** The layer's configuration, as stored (possibly wrapped in a frozen layer). */
    abstract NeuralNetConfiguration layerConf(String id);

    /** The old network's layer (null when editing a configuration). */
    abstract org.deeplearning4j.nn.api.Layer oldLayer(String id);

    /** The layer's input type after its preprocessor, or null without the network's input types. */
    abstract InputType inputType(String id);

    /**
     * The only layer feeding {@code id} directly (no preprocessor or other vertex between).
     *
     * @param layer  its id, or null if there is none
     * @param reason why there is none, or null
     */
    record Input(String layer, String reason) {
        static Input none(String reason) {
            return new Input(null, reason);
        }
    }

    /** The only layer feeding {@code id} directly, or why there is none. */
    abstract Input soleInputLayer(String id);

    /** True if other vertices than {@code consumer} (or the network's outputs) read the output of {@code id}. */
    abstract boolean hasOtherConsumers(String id, String consumer);

    /** Removes a layer whose output equals its input: its consumers read its input instead. */
    abstract void bypass(String id);

    /** The edited configuration (a new copy per call). */
    abstract C configuration();

    /** A new network of this configuration (not initialized). */
    abstract N create(C conf);

    /** Builds and initializes a network from the edited configuration. */
    N build() {
        N net = create(configuration());
        net.init();
        return net;
    }

    /** The built network's layer for an id. */
    abstract org.deeplearning4j.nn.api.Layer layer(N net, String id);

    /** The network's data type. */
    abstract DataType dataType();

    /** True when editing a network (with parameters), false for a configuration. */
    boolean hasParams() {
        return old != null;
    }

    Layer layer(String id) {
        return layerConf(id).getLayer();
    }

    /** The layer inside a frozen wrapper, or the layer itself. */
    static Layer unwrap(Layer l) {
        if (l instanceof FrozenLayer f) return f.getLayer();
        if (l instanceof FrozenLayerWithBackprop f) return f.getUnderlying();
        return l;
    }

    /** {@code inner} in the same wrapper as {@code outer}. */
    static Layer rewrap(Layer outer, Layer inner) {
        if (outer instanceof FrozenLayer f) {
            FrozenLayer w = new FrozenLayer(inner);
            w.setLayerName(f.getLayerName());
            w.setIDropout(f.getIDropout());
            w.setConstraints(f.getConstraints());
            return w;
        }
        if (outer instanceof FrozenLayerWithBackprop f) {
            FrozenLayerWithBackprop w = (FrozenLayerWithBackprop) f.clone();
            w.setUnderlying(inner);
            return w;
        }
        return inner;
    }

    /** Replaces a layer's configuration (inside its wrapper); its parameter list is rebuilt when the network is. */
    void setLayer(String id, Layer inner) {
        NeuralNetConfiguration c = layerConf(id);
        c.setLayer(rewrap(c.getLayer(), inner));
        c.clearVariables();
    }

    /** The current parameters of a layer: the overrides set so far over the old network's. */
    Map<String, INDArray> params(String id) {
        Map<String, INDArray> p = new LinkedHashMap<>(oldLayer(id).paramTable());
        p.putAll(paramOverrides.getOrDefault(id, Map.of()));
        return p;
    }

    void setParams(String id, Map<String, INDArray> params) {
        paramOverrides.computeIfAbsent(id, k -> new LinkedHashMap<>()).putAll(params);
    }

    /**
     * Checks that every layer of the old network holds as many parameter values as its configuration describes.
     *
     * @throws IllegalArgumentException naming the first layer that does not
     */
    void checkParamsMatchConfiguration() {
        for (String id : ids()) {
            Layer conf = layer(id);
            org.deeplearning4j.nn.api.Layer l = oldLayer(id);
            long expected = conf.initializer().numParams(conf);
            Map<String, INDArray> table = l == null ? Map.of() : l.paramTable();
            long held = table.values().stream().mapToLong(INDArray::length).sum();
            if (l == null || held != expected) {
                throw new IllegalArgumentException(describe(id) + ": the network's parameters do not match its configuration:"
                        + " the configuration (" + unwrap(conf).getClass().getSimpleName() + ", " + describeSize(conf)
                        + ") has " + expected + " parameter values, the network holds " + (l == null ? "no layer"
                        : held + " " + shapes(table)));
            }
        }
    }

    private static String describeSize(Layer conf) {
        Layer l = unwrap(conf);
        return l instanceof FeedForwardLayer f ? "nIn " + f.getNIn() + ", nOut " + f.getNOut() : l.getClass().getSimpleName();
    }

    private static String shapes(Map<String, INDArray> table) {
        StringBuilder s = new StringBuilder("{");
        table.forEach((k, v) -> s.append(s.length() > 1 ? ", " : "").append(k).append(Arrays.toString(v.shape())));
        return s.append('}').toString();
    }

    /**
     * Builds the network and sets its parameters: the overrides, and every other parameter copied from the old
     * network (bit-exact, same data type).
     *
     * @throws IllegalArgumentException if a copied parameter's shape differs from the new layer's
     */
    N buildWithParams() {
        N net = build();
        if (!hasParams()) return net;
        for (String id : ids()) {
            org.deeplearning4j.nn.api.Layer to = layer(net, id);
            Map<String, INDArray> from = params(id);
            for (Map.Entry<String, INDArray> p : to.paramTable().entrySet()) {
                INDArray src = from.get(p.getKey());
                if (src == null) {
                    if (paramOverrides.containsKey(id)) continue; // a new layer's parameter the old one lacks: initial value
                    throw new IllegalArgumentException(describe(id) + ": the old network has no parameter '" + p.getKey() + "'");
                }
                if (src.length() != p.getValue().length()) {
                    throw new IllegalArgumentException(describe(id) + ": parameter '" + p.getKey() + "' has shape "
                            + Arrays.toString(src.shape()) + " in the network but " + Arrays.toString(p.getValue().shape())
                            + " from its configuration");
                }
                p.getValue().assign(src.reshape(p.getValue().shape()));
            }
        }
        return net;
    }
}
