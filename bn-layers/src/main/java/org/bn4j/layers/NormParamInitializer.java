package org.bn4j.layers;

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
 * Parameters of the normalization layers, in this order in the flat vector, each of length nOut:
 * {@code gamma, beta} (when affine; trained) and {@code mean, var} (running statistics, when the layer has
 * them; state, not trained). Initial values: γ = gammaInit, β = betaInit, mean = 0, var = 1.
 */
public final class NormParamInitializer implements ParamInitializer {
    public static final String GAMMA = "gamma", BETA = "beta", MEAN = "mean", VAR = "var";
    public static final NormParamInitializer INSTANCE = new NormParamInitializer();

    private NormParamInitializer() {
    }

    /** True for the running statistics: state that no updater or regularizer may touch. */
    public static boolean isState(String key) {
        return MEAN.equals(key) || VAR.equals(key);
    }

    @Override
    public long numParams(NeuralNetConfiguration conf) {
        return numParams(conf.getLayer());
    }

    @Override
    public long numParams(Layer layer) {
        return paramKeys(layer).size() * ((AbstractNormLayer) layer).getNOut();
    }

    @Override
    public List<String> paramKeys(Layer layer) {
        AbstractNormLayer l = (AbstractNormLayer) layer;
        List<String> keys = new ArrayList<>(4);
        if (l.isAffine()) {
            keys.add(GAMMA);
            keys.add(BETA);
        }
        if (l.hasRunningStats()) {
            keys.add(MEAN);
            keys.add(VAR);
        }
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
        long n = l.getNOut();
        Map<String, INDArray> out = new LinkedHashMap<>();
        if (flat == null || flat.length() == 0) return out; // a layer without parameters (noise only)
        INDArray v = flat.reshape(flat.length());
        long offset = 0;
        for (String key : paramKeys(l)) {
            out.put(key, v.get(NDArrayIndex.interval(offset, offset + n)));
            offset += n;
        }
        return out;
    }
}
