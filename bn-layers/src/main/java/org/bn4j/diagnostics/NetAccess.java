package org.bn4j.diagnostics;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.solvers.BaseOptimizer;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.NoOp;

/**
 * What the probes need from a {@link MultiLayerNetwork} or a {@link ComputationGraph}, the same way for both: the
 * flattened parameters, the updater state, the iteration and epoch counts, the parameters by layer, the order of
 * the layers, a gradient on a batch and a training-mode forward pass.
 */
abstract class NetAccess {

    /** One parameter array of one layer: its view in the network's parameters and how an optimizer treats it. */
    record Param(String layer, String name, long offset, long length, boolean trainable, boolean divideByMinibatch,
                 boolean weight) {
        /** This parameter's part of a flattened parameter or gradient vector. */
        INDArray in(INDArray flat) {
            return flat.get(NDArrayIndex.interval(offset, offset + length));
        }
    }

    final Model model;
    private List<Param> params;

    private NetAccess(Model model) {
        this.model = model;
    }

    static NetAccess of(Model model) {
        if (model instanceof MultiLayerNetwork m) {
            return new Mln(m);
        }
        if (model instanceof ComputationGraph g) {
            return new Graph(g);
        }
        throw new IllegalArgumentException("bn4j diagnostics: expected a MultiLayerNetwork or a ComputationGraph, got "
                + (model == null ? "null" : model.getClass().getName()));
    }

    abstract Layer[] layers();

    final int iterationCount() {
        return BaseOptimizer.getIterationCount(model);
    }

    final int epochCount() {
        return BaseOptimizer.getEpochCount(model);
    }

    /** Sets the iteration and epoch counts of the network and of each layer. */
    final void setCounts(int iteration, int epoch) {
        setNetworkCounts(iteration, epoch);
        for (Layer l : layers()) {
            l.setIterationCount(iteration);
            l.setEpochCount(epoch);
        }
    }

    abstract void setNetworkCounts(int iteration, int epoch);

    /** The updater's state array, or null when the network has no updater yet (none is created). */
    abstract INDArray updaterState();

    /** Sets inputs, labels and masks of the batch and computes score and gradient, as one training step does. */
    abstract double computeGradientAndScore(DataSet batch);

    /** The network's flattened gradient (valid after {@link #computeGradientAndScore}): the sum over the batch. */
    final INDArray flatGradient() {
        return model.gradient().gradient();
    }

    /** Training-mode forward pass: the output of every layer (and vertex) by name; the network input as {@code ""}. */
    abstract Map<String, INDArray> activations(DataSet batch);

    /** Names of the layers and vertices whose outputs feed layer {@code name} directly ({@code ""}: the network input). */
    abstract List<String> inputsOf(String name);

    /**
     * The batch the network was last given (inputs, labels, masks), detached copies, or null when none is set.
     *
     * @throws IllegalArgumentException for a graph with several inputs or outputs
     */
    abstract DataSet currentBatch();

    /** A copy of the network for probing: same configuration, iteration and epoch counts and parameters, no workspaces. */
    abstract NetAccess copy();

    /** Clears the layers' stored inputs and masks (not the updater). */
    abstract void clearLayers();

    /** The arrays the network holds as input, labels and masks (the references, for {@link #io(Object[])}). */
    abstract Object[] io();

    /** Sets the network's input, labels and masks back to arrays from {@link #io()}. */
    abstract void io(Object[] saved);

    final INDArray params() {
        return model.params();
    }

    final String nameOf(Layer l) {
        String n = l.conf().getLayer().getLayerName();
        return n != null ? n : String.valueOf(l.getIndex());
    }

    /** The parameters, layer by layer in the network's order. */
    final List<Param> paramList() {
        if (params == null) {
            List<Param> out = new ArrayList<>();
            INDArray flat = params();
            for (Layer l : layers()) {
                org.deeplearning4j.nn.conf.layers.Layer conf = l.conf().getLayer();
                for (Map.Entry<String, INDArray> e : l.paramTable(false).entrySet()) {
                    String p = e.getKey();
                    INDArray v = e.getValue();
                    long off = v.offset() - flat.offset();
                    if (off < 0 || off + v.length() > flat.length()) {
                        throw new IllegalStateException("bn4j diagnostics: parameter " + p + " of layer " + nameOf(l)
                                + " is not a view of the network's parameter vector");
                    }
                    out.add(new Param(nameOf(l), p, off, v.length(), !(conf.getUpdaterByParam(p) instanceof NoOp),
                            l.updaterDivideByMinibatch(p), conf.initializer().isWeightParam(conf, p)));
                }
            }
            params = out;
        }
        return params;
    }

    /** The layer with this name. */
    final Layer layer(String name) {
        for (Layer l : layers()) {
            if (name.equals(nameOf(l))) {
                return l;
            }
        }
        List<String> names = new ArrayList<>();
        for (Layer l : layers()) {
            names.add(nameOf(l));
        }
        throw new IllegalArgumentException("bn4j diagnostics: no layer named '" + name + "' in the network; its layers: " + names);
    }

    /** Layers whose output reaches layer {@code name}'s input (its ancestors), by name. */
    final Set<String> ancestors(String name) {
        layer(name);
        Set<String> seen = new HashSet<>();
        List<String> todo = new ArrayList<>(inputsOf(name));
        while (!todo.isEmpty()) {
            String n = todo.remove(todo.size() - 1);
            if (!n.isEmpty() && seen.add(n)) {
                todo.addAll(inputsOf(n));
            }
        }
        return seen;
    }

    static void checkBatch(DataSet b, String what) {
        if (b == null || b.getFeatures() == null || b.getLabels() == null) {
            throw new IllegalArgumentException("bn4j diagnostics: " + what + " needs features and labels, got "
                    + (b == null ? "no data" : b.getFeatures() == null ? "no features" : "no labels"));
        }
    }

    /** A copy outside any workspace (null stays null). */
    static INDArray detach(INDArray a) {
        if (a == null) {
            return null;
        }
        try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            return a.dup();
        }
    }

    private static final class Mln extends NetAccess {
        private final MultiLayerNetwork net;

        Mln(MultiLayerNetwork net) {
            super(net);
            this.net = net;
        }

        @Override
        Layer[] layers() {
            return net.getLayers();
        }

        @Override
        void setNetworkCounts(int iteration, int epoch) {
            net.getLayerWiseConfigurations().setIterationCount(iteration);
            net.getLayerWiseConfigurations().setEpochCount(epoch);
        }

        @Override
        INDArray updaterState() {
            var u = net.getUpdater(false);
            return u == null ? null : u.getStateViewArray();
        }

        @Override
        double computeGradientAndScore(DataSet b) {
            net.setInput(b.getFeatures());
            net.setLabels(b.getLabels());
            net.setLayerMaskArrays(b.getFeaturesMaskArray(), b.getLabelsMaskArray());
            net.computeGradientAndScore();
            return net.score();
        }

        @Override
        Map<String, INDArray> activations(DataSet b) {
            net.setLayerMaskArrays(b.getFeaturesMaskArray(), b.getLabelsMaskArray());
            List<INDArray> acts = net.feedForward(b.getFeatures(), true);
            Map<String, INDArray> out = new LinkedHashMap<>();
            out.put("", acts.get(0));
            Layer[] ls = net.getLayers();
            for (int i = 0; i < ls.length; i++) {
                out.put(nameOf(ls[i]), acts.get(i + 1));
            }
            return out;
        }

        @Override
        List<String> inputsOf(String name) {
            int i = layer(name).getIndex();
            return List.of(i == 0 ? "" : nameOf(net.getLayer(i - 1)));
        }

        @Override
        DataSet currentBatch() {
            if (net.getInput() == null || net.getLabels() == null) {
                return null;
            }
            return new DataSet(detach(net.getInput()), detach(net.getLabels()), detach(net.getMask()),
                    detach(net.getOutputLayer().getMaskArray()));
        }

        @Override
        NetAccess copy() {
            MultiLayerConfiguration c = net.getLayerWiseConfigurations().clone();
            c.setTrainingWorkspaceMode(WorkspaceMode.NONE);
            c.setInferenceWorkspaceMode(WorkspaceMode.NONE);
            MultiLayerNetwork m = new MultiLayerNetwork(c);
            m.init(detach(net.params()), false);
            NetAccess a = new Mln(m);
            a.setCounts(iterationCount(), epochCount());
            return a;
        }

        @Override
        void clearLayers() {
            net.clearLayersStates();
        }

        @Override
        Object[] io() {
            return new Object[] {net.getInput(), net.getLabels(), net.getMask(), net.getOutputLayer().getMaskArray()};
        }

        @Override
        void io(Object[] s) {
            net.setInput((INDArray) s[0]);
            net.setLabels((INDArray) s[1]);
            net.setLayerMaskArrays((INDArray) s[2], (INDArray) s[3]);
        }
    }

    private static final class Graph extends NetAccess {
        private static final Field LABELS;

        static {
            try {
                LABELS = ComputationGraph.class.getDeclaredField("labels");
                LABELS.setAccessible(true);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final ComputationGraph net;

        Graph(ComputationGraph net) {
            super(net);
            this.net = net;
        }

        @Override
        Layer[] layers() {
            return net.getLayers();
        }

        @Override
        void setNetworkCounts(int iteration, int epoch) {
            net.getConfiguration().setIterationCount(iteration);
            net.getConfiguration().setEpochCount(epoch);
        }

        @Override
        INDArray updaterState() {
            var u = net.getUpdater(false);
            return u == null ? null : u.getStateViewArray();
        }

        private void checkSingle() {
            if (net.getNumInputArrays() != 1 || net.getNumOutputArrays() != 1) {
                throw new IllegalArgumentException("bn4j diagnostics: a DataSet feeds a ComputationGraph with one input and "
                        + "one output; this graph has " + net.getNumInputArrays() + " inputs and " + net.getNumOutputArrays()
                        + " outputs");
            }
        }

        @Override
        double computeGradientAndScore(DataSet b) {
            checkSingle();
            net.setInputs(b.getFeatures());
            net.setLabels(b.getLabels());
            net.setLayerMaskArrays(b.getFeaturesMaskArray() == null ? null : new INDArray[] {b.getFeaturesMaskArray()},
                    b.getLabelsMaskArray() == null ? null : new INDArray[] {b.getLabelsMaskArray()});
            net.computeGradientAndScore();
            return net.score();
        }

        @Override
        Map<String, INDArray> activations(DataSet b) {
            checkSingle();
            net.setLayerMaskArrays(b.getFeaturesMaskArray() == null ? null : new INDArray[] {b.getFeaturesMaskArray()},
                    b.getLabelsMaskArray() == null ? null : new INDArray[] {b.getLabelsMaskArray()});
            Map<String, INDArray> acts = net.feedForward(new INDArray[] {b.getFeatures()}, true);
            Map<String, INDArray> out = new LinkedHashMap<>(acts);
            out.put("", acts.get(net.getConfiguration().getNetworkInputs().get(0)));
            return out;
        }

        @Override
        List<String> inputsOf(String name) {
            ComputationGraphConfiguration c = net.getConfiguration();
            List<String> in = c.getVertexInputs().get(name);
            if (in == null) {
                return List.of();
            }
            List<String> out = new ArrayList<>();
            for (String s : in) {
                out.add(c.getNetworkInputs().contains(s) ? "" : s);
            }
            return out;
        }

        private INDArray[] labels() {
            try {
                return (INDArray[]) LABELS.get(net);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        DataSet currentBatch() {
            INDArray[] labels = labels();
            INDArray[] in = net.getInputs();
            if (in == null || labels == null) {
                return null;
            }
            checkSingle();
            INDArray[] fm = net.getInputMaskArrays();
            INDArray[] lm = net.getLabelMaskArrays();
            return new DataSet(detach(in[0]), detach(labels[0]), fm == null ? null : detach(fm[0]), lm == null ? null : detach(lm[0]));
        }

        @Override
        NetAccess copy() {
            ComputationGraphConfiguration c = net.getConfiguration().clone();
            c.setTrainingWorkspaceMode(WorkspaceMode.NONE);
            c.setInferenceWorkspaceMode(WorkspaceMode.NONE);
            ComputationGraph g = new ComputationGraph(c);
            g.init(detach(net.params()), false);
            NetAccess a = new Graph(g);
            a.setCounts(iterationCount(), epochCount());
            return a;
        }

        @Override
        void clearLayers() {
            net.clearLayersStates();
        }

        @Override
        Object[] io() {
            return new Object[] {net.getInputs(), labels(), net.getInputMaskArrays(), net.getLabelMaskArrays()};
        }

        @Override
        void io(Object[] s) {
            net.setInputs((INDArray[]) s[0]);
            net.setLabels((INDArray[]) s[1]);
            net.setLayerMaskArrays((INDArray[]) s[2], (INDArray[]) s[3]);
        }
    }
}
