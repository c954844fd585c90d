package org.bn4j.layers.weightnorm;

import org.bn4j.check.InputKind;
import org.nd4j.linalg.activations.Activation;

import java.util.function.Supplier;

/**
 * One named case of the weight-norm test registry: a layer configuration on one input kind.
 *
 * @param name       shown in every test report line
 * @param layer      a fresh configuration (nOut and geometry set; nIn and data format come from the input type)
 * @param kind       FF, CNN_NCHW or CNN_NHWC
 * @param activation the layer's activation (IDENTITY or TANH: the reference knows these)
 * @param badSpatial a spatial size (H = W) the layer must reject, or 0 if every size is valid for it
 */
public record WnCase(String name, Supplier<AbstractWeightNormLayer> layer, InputKind kind, Activation activation,
                     int badSpatial) {

    public AbstractWeightNormLayer conf() {
        return layer.get();
    }

    public boolean dataInit() {
        return conf().isDataInit();
    }

    @Override
    public String toString() {
        return name;
    }
}
