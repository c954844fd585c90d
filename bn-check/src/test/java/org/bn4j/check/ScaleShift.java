package org.bn4j.check;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.samediff.SDLayerParams;
import org.deeplearning4j.nn.conf.layers.samediff.SameDiffLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/** The small custom layer of docs/check.md: y = g ⊙ x + b per feature, for feed-forward input. */
public class ScaleShift extends SameDiffLayer {
    private long n;

    public ScaleShift() {
        // for JSON
    }

    @Override
    public SDVariable defineLayer(SameDiff sd, SDVariable x, Map<String, SDVariable> p, SDVariable mask) {
        return x.mul(p.get("g")).add(p.get("b"));
    }

    @Override
    public void defineParameters(SDLayerParams params) {
        params.addWeightParam("g", 1, n);
        params.addBiasParam("b", 1, n);
    }

    @Override
    public void initializeParameters(Map<String, INDArray> params) {
        params.get("g").assign(1);
        params.get("b").assign(0);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType in) {
        return in;
    }

    @Override
    public void setNIn(InputType in, boolean override) {
        if (n == 0 || override) n = ((InputType.InputTypeFeedForward) in).getSize();
    }

    public long getN() {
        return n;
    }

    public void setN(long n) {
        this.n = n;
    }
}
