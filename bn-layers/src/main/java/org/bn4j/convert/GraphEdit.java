package org.bn4j.convert;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.buffer.DataType;
import org.deeplearning4j.nn.graph.ComputationGraph;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@link NetEdit} of a ComputationGraph: ids are the names of its layer vertices. */
final class GraphEdit extends NetEdit<ComputationGraphConfiguration, ComputationGraph> {
    private final ComputationGraphConfiguration conf;
    private final Map<String, InputType> inputTypes;

    /**
     * @param conf       the configuration (copied)
     * @param old        the network the configuration belongs to, or null
     * @param inputTypes the network's input types (one per network input), or null
     */
    GraphEdit(ComputationGraphConfiguration conf, ComputationGraph old, InputType[] inputTypes) {
        super(old);
        this.conf = copy(conf);
        this.inputTypes = inputTypes == null ? null : inputTypes(conf, inputTypes);
        if (old != null) checkParamsMatchConfiguration();
    }

    /** A copy with the counters DL4J's clone() leaves out. */
    private static ComputationGraphConfiguration copy(ComputationGraphConfiguration conf) {
        ComputationGraphConfiguration c = conf.clone();
        c.setIterationCount(conf.getIterationCount());
        c.setEpochCount(conf.getEpochCount());
        return c;
    }

    /** The input type of every layer vertex, after its preprocessor (computed on a copy: DL4J's method sets nIn). */
    private static Map<String, InputType> inputTypes(ComputationGraphConfiguration conf, InputType[] inputTypes) {
        if (inputTypes.length != conf.getNetworkInputs().size()) {
            throw new IllegalArgumentException("expected " + conf.getNetworkInputs().size() + " input types for the network"
                    + " inputs " + conf.getNetworkInputs() + ", got " + inputTypes.length);
        }
        ComputationGraphConfiguration copy = conf.clone();
        Map<String, InputType> out = copy.getLayerActivationTypes(true, false, inputTypes);
        Map<String, InputType> in = new HashMap<>();
        for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
            if (!(e.getValue() instanceof LayerVertex v)) continue;
            InputType t = out.get(conf.getVertexInputs().get(e.getKey()).get(0));
            in.put(e.getKey(), v.getPreProcessor() == null ? t : v.getPreProcessor().getOutputType(t));
        }
        return in;
    }

    /** Layer vertices in topological order (Kahn's algorithm; ties in the configuration's order). */
    @Override
    List<String> ids() {
        Map<String, Integer> pending = new LinkedHashMap<>();
        for (String v : conf.getVertices().keySet()) {
            List<String> ins = conf.getVertexInputs().get(v);
            pending.put(v, ins == null ? 0 : ins.size());
        }
        List<String> ready = new ArrayList<>(conf.getNetworkInputs());
        List<String> order = new ArrayList<>();
        while (!ready.isEmpty()) {
            String v = ready.remove(0);
            if (conf.getVertices().get(v) instanceof LayerVertex) order.add(v);
            for (Map.Entry<String, List<String>> e : conf.getVertexInputs().entrySet()) {
                for (String in : e.getValue()) {
                    if (in.equals(v) && pending.merge(e.getKey(), -1, Integer::sum) == 0) ready.add(e.getKey());
                }
            }
        }
        return order;
    }

    @Override
    String name(String id) {
        return id;
    }

    @Override
    String describe(String id) {
        return "vertex '" + id + "'";
    }

    @Override
    NeuralNetConfiguration layerConf(String id) {
        return ((LayerVertex) conf.getVertices().get(id)).getLayerConf();
    }

    @Override
    org.deeplearning4j.nn.api.Layer oldLayer(String id) {
        return old == null || old.getVertex(id) == null || !old.getVertex(id).hasLayer() ? null : old.getLayer(id);
    }

    @Override
    InputType inputType(String id) {
        return inputTypes == null ? null : inputTypes.get(id);
    }

    @Override
    Input soleInputLayer(String id) {
        List<String> ins = conf.getVertexInputs().get(id);
        if (ins.size() != 1) return Input.none("it has " + ins.size() + " inputs");
        String in = ins.get(0);
        if (conf.getNetworkInputs().contains(in)) return Input.none("its input is the network input '" + in + "'");
        if (!(conf.getVertices().get(in) instanceof LayerVertex)) {
            return Input.none("its input '" + in + "' is a " + conf.getVertices().get(in).getClass().getSimpleName()
                    + ", not a layer");
        }
        LayerVertex v = (LayerVertex) conf.getVertices().get(id);
        if (v.getPreProcessor() != null) {
            return Input.none("an input preprocessor (" + v.getPreProcessor().getClass().getSimpleName() + ") stands before it");
        }
        return new Input(in, null);
    }

    @Override
    boolean hasOtherConsumers(String id, String consumer) {
        if (conf.getNetworkOutputs().contains(id)) return true;
        return conf.getVertexInputs().entrySet().stream()
                .anyMatch(e -> !e.getKey().equals(consumer) && e.getValue().contains(id));
    }

    @Override
    void bypass(String id) {
        String in = conf.getVertexInputs().get(id).get(0);
        conf.getVertices().remove(id);
        conf.getVertexInputs().remove(id);
        conf.getVertexInputs().values().forEach(ins -> ins.replaceAll(s -> s.equals(id) ? in : s));
        conf.getNetworkOutputs().replaceAll(s -> s.equals(id) ? in : s);
    }

    @Override
    ComputationGraphConfiguration configuration() {
        return copy(conf);
    }

    @Override
    ComputationGraph create(ComputationGraphConfiguration conf) {
        return new ComputationGraph(conf);
    }

    @Override
    org.deeplearning4j.nn.api.Layer layer(ComputationGraph net, String id) {
        return net.getLayer(id);
    }

    @Override
    DataType dataType() {
        return conf.getDataType();
    }
}
