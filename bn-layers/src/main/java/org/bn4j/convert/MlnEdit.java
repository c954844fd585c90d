package org.bn4j.convert;

import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.buffer.DataType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** {@link NetEdit} of a MultiLayerNetwork: ids are the original layer indices. */
final class MlnEdit extends NetEdit<MultiLayerConfiguration, MultiLayerNetwork> {
    private final MultiLayerConfiguration conf;
    /** The original indices of the layers still present, in order. */
    private final List<Integer> present = new ArrayList<>();
    private final InputType[] inputTypes;

    /**
     * @param conf       the configuration (copied)
     * @param old        the network the configuration belongs to, or null
     * @param inputType  the network's input type, or null
     */
    MlnEdit(MultiLayerConfiguration conf, MultiLayerNetwork old, InputType inputType) {
        super(old);
        this.conf = conf.clone();
        for (int i = 0; i < conf.getConfs().size(); i++) present.add(i);
        this.inputTypes = inputType == null ? null : inputTypes(conf, inputType);
        if (old != null) checkParamsMatchConfiguration();
    }

    /** The input type of every layer, after its preprocessor (computed on a copy: DL4J's method sets nIn). */
    private static InputType[] inputTypes(MultiLayerConfiguration conf, InputType inputType) {
        MultiLayerConfiguration copy = conf.clone();
        List<InputType> out = copy.getLayerActivationTypes(inputType);
        InputType[] in = new InputType[out.size()];
        for (int i = 0; i < in.length; i++) {
            InputType t = i == 0 ? inputType : out.get(i - 1);
            InputPreProcessor p = conf.getInputPreProcess(i);
            in[i] = p == null ? t : p.getOutputType(t);
        }
        return in;
    }

    @Override
    List<String> ids() {
        return present.stream().map(String::valueOf).toList();
    }

    @Override
    String name(String id) {
        String n = layer(id).getLayerName();
        return n == null ? "layer" + id : n;
    }

    @Override
    String describe(String id) {
        return "layer " + id + " '" + name(id) + "'";
    }

    @Override
    NeuralNetConfiguration layerConf(String id) {
        return conf.getConf(Integer.parseInt(id));
    }

    @Override
    org.deeplearning4j.nn.api.Layer oldLayer(String id) {
        int i = Integer.parseInt(id);
        return old == null || i >= old.getnLayers() ? null : old.getLayer(i);
    }

    @Override
    InputType inputType(String id) {
        return inputTypes == null ? null : inputTypes[Integer.parseInt(id)];
    }

    @Override
    Input soleInputLayer(String id) {
        int pos = present.indexOf(Integer.parseInt(id));
        if (pos == 0) return Input.none("its input is the network input");
        InputPreProcessor p = conf.getInputPreProcess(Integer.parseInt(id));
        if (p != null) return Input.none("an input preprocessor (" + p.getClass().getSimpleName() + ") stands before it");
        return new Input(String.valueOf(present.get(pos - 1)), null);
    }

    @Override
    boolean hasOtherConsumers(String id, String consumer) {
        return false; // a layer's only consumer is the next layer
    }

    @Override
    void bypass(String id) {
        present.remove(Integer.valueOf(id));
    }

    @Override
    MultiLayerConfiguration configuration() {
        MultiLayerConfiguration c = conf.clone();
        List<NeuralNetConfiguration> confs = new ArrayList<>();
        Map<Integer, InputPreProcessor> pre = new HashMap<>();
        for (int i : present) {
            InputPreProcessor p = conf.getInputPreProcess(i);
            if (p != null) pre.put(confs.size(), p.clone());
            confs.add(conf.getConf(i).clone());
        }
        c.setConfs(confs);
        c.setInputPreProcessors(pre);
        return c;
    }

    @Override
    MultiLayerNetwork create(MultiLayerConfiguration conf) {
        return new MultiLayerNetwork(conf);
    }

    @Override
    org.deeplearning4j.nn.api.Layer layer(MultiLayerNetwork net, String id) {
        return net.getLayer(present.indexOf(Integer.parseInt(id)));
    }

    @Override
    DataType dataType() {
        return conf.getDataType();
    }
}
