package org.bn4j.runtime;

import org.bn4j.layers.weightnorm.AbstractWeightNormLayer;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.weights.IWeightInit;
import org.deeplearning4j.nn.weights.WeightInitXavier;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parameters of the weight-normalized layers, in this order in the flat vector:
 * <ul>
 *   <li>{@code v}: the direction, {@code [nIn, nOut]} (dense) or {@code [outC, inC, kH, kW]} (convolution),
 *       C order; initialized with the layer's weight init (fan in/out as DL4J's dense/convolution layer); a
 *       weight: it gets the weight regularization and weight constraints;</li>
 *   <li>{@code g}: the per-unit scale {@code [nOut]}; initialized to ‖v‖ per unit (so the layer starts as the
 *       plain layer with W = v) or to the configured {@code initialG}; no regularization;</li>
 *   <li>{@code b}: the bias {@code [nOut]} (with {@code hasBias}); initialized to {@code biasInit}; a bias;</li>
 *   <li>{@code initDone}: one value, present only with {@code dataInit}: 0 until the data-dependent
 *       initialization has run, then 1. State, not a parameter: NoOp updater, zero gradient, no
 *       regularization, no constraints. Keeping it in the parameter vector makes ModelSerializer, clone,
 *       {@code setParams} and parameter averaging carry it together with the g and b it describes.</li>
 * </ul>
 */
public final class WeightNormParamInitializer implements ParamInitializer {
    public static final String V = "v", G = "g", B = "b", INIT_DONE = "initDone";
    public static final WeightNormParamInitializer INSTANCE = new WeightNormParamInitializer();

    private WeightNormParamInitializer() {
    }

    /** True for the initialization flag: state that no updater, regularizer or constraint may touch. */
    public static boolean isState(String key) {
        return INIT_DONE.equals(key);
    }

    @Override
    public long numParams(NeuralNetConfiguration conf) {
        return numParams(conf.getLayer());
    }

    @Override
    public long numParams(Layer layer) {
        AbstractWeightNormLayer l = (AbstractWeightNormLayer) layer;
        long n = 0;
        for (String key : paramKeys(l)) n += length(l, key);
        return n;
    }

    private static long length(AbstractWeightNormLayer l, String key) {
        return switch (key) {
            case V -> product(l.vShape());
            case G, B -> l.getNOut();
            default -> 1;
        };
    }

    @Override
    public List<String> paramKeys(Layer layer) {
        AbstractWeightNormLayer l = (AbstractWeightNormLayer) layer;
        List<String> keys = new ArrayList<>(List.of(V, G));
        if (l.hasBias()) keys.add(B);
        if (l.isDataInit()) keys.add(INIT_DONE);
        return keys;
    }

    @Override
    public List<String> weightKeys(Layer layer) {
        return List.of(V);
    }

    @Override
    public List<String> biasKeys(Layer layer) {
        return ((AbstractWeightNormLayer) layer).hasBias() ? List.of(B) : List.of();
    }

    @Override
    public boolean isWeightParam(Layer layer, String key) {
        return V.equals(key);
    }

    @Override
    public boolean isBiasParam(Layer layer, String key) {
        return B.equals(key);
    }

    @Override
    public Map<String, INDArray> init(NeuralNetConfiguration conf, INDArray paramsView, boolean initializeParams) {
        AbstractWeightNormLayer l = (AbstractWeightNormLayer) conf.getLayer();
        Map<String, INDArray> views = views(l, paramsView);
        if (initializeParams) {
            IWeightInit init = l.getWeightInitFn() == null ? new WeightInitXavier() : l.getWeightInitFn();
            double[] fans = l.fans();
            INDArray v = views.get(V);
            init.init(fans[0], fans[1], l.vShape(), 'c', v.reshape(v.length()));
            if (l.getInitialG() == null) {
                views.get(G).assign(v.norm2(l.linearOp().normAxes()).reshape(l.getNOut()));
            } else {
                views.get(G).assign(l.getInitialG());
            }
            if (l.hasBias()) views.get(B).assign(Double.isNaN(l.getBiasInit()) ? 0.0 : l.getBiasInit());
            if (l.isDataInit()) views.get(INIT_DONE).assign(0.0);
        }
        views.keySet().forEach(conf::addVariable);
        return Collections.synchronizedMap(views);
    }

    @Override
    public Map<String, INDArray> getGradientsFromFlattened(NeuralNetConfiguration conf, INDArray gradientView) {
        return views((AbstractWeightNormLayer) conf.getLayer(), gradientView);
    }

    private Map<String, INDArray> views(AbstractWeightNormLayer l, INDArray flat) {
        INDArray f = flat.reshape(flat.length());
        Map<String, INDArray> out = new LinkedHashMap<>();
        long offset = 0;
        for (String key : paramKeys(l)) {
            long n = length(l, key);
            INDArray view = f.get(NDArrayIndex.interval(offset, offset + n));
            out.put(key, V.equals(key) ? view.reshape('c', l.vShape()) : view);
            offset += n;
        }
        return out;
    }

    private static long product(long[] shape) {
        long p = 1;
        for (long s : shape) p *= s;
        return p;
    }
}
