package org.bn4j.bench;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.LayerNorm;
import org.nd4j.linalg.api.ops.impl.transforms.custom.LayerNormBp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J's layer normalization. DL4J 1.0.0-M2.1 has no stand-alone layer-norm layer: {@code DenseLayer}
 * with {@code hasLayerNorm(true)} calls ND4J's {@code layer_norm} / {@code layer_norm_bp} ops, which are
 * run here directly on a [minibatch, features] input, normalizing over the features (dimension 1), with
 * gain and bias, outputs allocated per call as a layer would without workspaces. Layer norm has no
 * separate training mode, so forward is the same in training and inference.
 */
public final class Nd4jLayerNormKernel implements Kernel {

    private final Shape shape;
    private final INDArray x;
    private final INDArray gain;
    private final INDArray bias;
    private final INDArray eps;

    public Nd4jLayerNormKernel(Shape shape) {
        if (shape.rank() != 2) {
            throw new IllegalArgumentException("layer norm bench takes [minibatch, features]: " + shape);
        }
        this.shape = shape;
        Nd4j.getRandom().setSeed(42);
        long f = shape.dims()[1];
        this.x = Nd4j.randn(DataType.FLOAT, shape.dims());
        this.gain = Nd4j.ones(DataType.FLOAT, f);
        this.bias = Nd4j.zeros(DataType.FLOAT, f);
        this.eps = Nd4j.randn(DataType.FLOAT, shape.dims());
    }

    @Override
    public Object fwd() {
        INDArray y = Nd4j.createUninitialized(DataType.FLOAT, x.shape());
        Nd4j.exec(new LayerNorm(x, gain, bias, y, true, 1));
        return y;
    }

    @Override
    public Object fwdbwd() {
        fwd();
        INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, x.shape());
        INDArray dg = Nd4j.createUninitialized(DataType.FLOAT, gain.shape());
        INDArray db = Nd4j.createUninitialized(DataType.FLOAT, bias.shape());
        Nd4j.exec(new LayerNormBp(x, gain, bias, eps, dx, dg, db, true, 1));
        return dx;
    }

    @Override
    public float[][] compute(float[] xs, float[] dys) {
        x.assign(Nd4j.create(xs, x.shape(), 'c'));
        eps.assign(Nd4j.create(dys, x.shape(), 'c'));
        return new float[][] {((INDArray) fwd()).dup('c').data().asFloat(),
                ((INDArray) fwdbwd()).dup('c').data().asFloat()};
    }

    @Override
    public Kernel tiny() {
        return new Nd4jLayerNormKernel(shape.tiny());
    }
}
