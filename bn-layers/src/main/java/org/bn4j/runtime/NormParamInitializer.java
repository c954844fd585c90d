package org.bn4j.runtime;

import org.bn4j.layers.AbstractNormLayer;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parameters of the normalization layers, in this order in the flat vector: {@code gamma}, {@code beta} (each of
 * length nOut, when learned; trained), {@code mean} (running mean, layers with running statistics that centre),
 * {@code var} (running variance equivalent, layers with running statistics), each of length nOut, and {@code steps}
 * (one value: statistics updates so far, for the cumulative average and batch renormalization). The last three are
 * state: no updater (NoOp), no regularization, zero gradient, updated by the layer once per optimizer step. Initial
 * values: γ = gammaInit, β = betaInit, mean = 0, var = 1, steps = 0.
 */
public final class NormParamInitializer implements ParamInitializer {
    public static final String GAMMA = "gamma", BETA = "beta", MEAN = "mean", VAR = "var", STEPS = "steps";
    public static final NormParamInitializer INSTANCE = new NormParamInitializer();

    private NormParamInitializer() {
    }

    /** True for the running statistics and the step count: state that no updater or regularizer may touch. */
    public static boolean isState(String key) {
        return MEAN.equals(key) || VAR.equals(key) || STEPS.equals(key);
    }

    @Override
    public long numParams(NeuralNetConfiguration conf) {
        return numParams(conf.getLayer());
    }

    @Override
    public long numParams(Layer layer) {
        long n = 0;
        for (String k : paramKeys(layer)) n += length((AbstractNormLayer) layer, k);
        return n;
    }

    private static long length(AbstractNormLayer l, String key) {
        return STEPS.equals(key) ? 1 : l.getNOut();
    }

    @Override
    public List<String> paramKeys(Layer layer) {
        AbstractNormLayer l = (AbstractNormLayer) layer;
        List<String> keys = new ArrayList<>(5);
        if (l.learnsGamma()) keys.add(GAMMA);
        if (l.learnsBeta()) keys.add(BETA);
        if (l.hasRunningStats()) {
            if (l.isCenter()) keys.add(MEAN);
            keys.add(VAR);
        }
        if (l.countsSteps()) keys.add(STEPS);
        return keys;
    }

    @Override
    public List<String> weightKeys(Layer layer) {
        return Collections.emptyList();
    }

    @Override
    public List<String> biasKeys(Layer layer) {
        return Collections.emptyList();
    }

    @Override
    public boolean isWeightParam(Layer layer, String key) {
        return false;
    }

    @Override
    public boolean isBiasParam(Layer layer, String key) {
        return false;
    }

    @Override
    public Map<String, INDArray> init(NeuralNetConfiguration conf, INDArray paramsView, boolean initializeParams) {
        AbstractNormLayer l = (AbstractNormLayer) conf.getLayer();
        Map<String, INDArray> views = views(l, paramsView);
        if (initializeParams) {
            for (Map.Entry<String, INDArray> e : views.entrySet()) {
                e.getValue().assign(switch (e.getKey()) {
                    case GAMMA -> l.getGammaInit();
                    case BETA -> l.getBetaInit();
                    case VAR -> 1.0;
                    default -> 0.0;
                });
            }
        }
        views.keySet().forEach(conf::addVariable);
        return Collections.synchronizedMap(views);
    }

    @Override
    public Map<String, INDArray> getGradientsFromFlattened(NeuralNetConfiguration conf, INDArray gradientView) {
        return views((AbstractNormLayer) conf.getLayer(), gradientView);
    }

    private Map<String, INDArray> views(AbstractNormLayer l, INDArray flat) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        if (flat == null || flat.length() == 0) return out; // a layer without parameters (noise only)
        INDArray v = flat.reshape(flat.length());
        long offset = 0;
        for (String key : paramKeys(l)) {
            long n = length(l, key);
            out.put(key, v.get(NDArrayIndex.interval(offset, offset + n)));
            offset += n;
        }
        return out;
    }
}
