package org.bn4j.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;

/**
 * PyTorch's CPU kernels ({@code torch.batch_norm} in training mode, {@code torch.layer_norm}) called
 * through DJL's JNI layer, float32. Forward runs with grad mode off; forward+backward turns grad mode on,
 * makes a fresh leaf view of the input that requires grad (so the input gradient is written fresh each
 * call, as with PyTorch's default {@code zero_grad(set_to_none=True)}) and calls
 * {@code torch.autograd.backward(y, dy)} for a fixed upstream gradient. Gamma and beta require grad too.
 * Every array made during one call is freed at its end.
 */
public final class TorchKernel implements Kernel {

    public enum Op { BATCH_NORM, LAYER_NORM }

    private static PtNDManager root;

    private final Op op;
    private final Shape shape;
    private final PtNDManager manager;
    private final PtNDArray x;
    private final PtNDArray dy;
    private final PtNDArray gamma;
    private final PtNDArray beta;
    private final PtNDArray runMean;
    private final PtNDArray runVar;
    private final ai.djl.ndarray.types.Shape normShape;

    /** The PyTorch engine, started once per JVM (offline, from the jars on the class path). */
    public static synchronized PtNDManager rootManager() {
        if (root == null) {
            Engine engine = Engine.getEngine("PyTorch");
            root = (PtNDManager) engine.newBaseManager(Device.cpu());
        }
        return root;
    }

    public TorchKernel(Op op, Shape shape) {
        this.op = op;
        this.shape = shape;
        this.manager = (PtNDManager) rootManager().newSubManager();
        JniUtils.setGradMode(false);
        ai.djl.ndarray.types.Shape s = new ai.djl.ndarray.types.Shape(shape.dims());
        manager.getEngine().setRandomSeed(42);
        this.x = (PtNDArray) manager.randomNormal(s, DataType.FLOAT32);
        this.dy = (PtNDArray) manager.randomNormal(s, DataType.FLOAT32);
        long c;
        if (op == Op.BATCH_NORM) {
            c = shape.channels();
            this.normShape = null;
        } else {
            if (shape.rank() != 2) {
                throw new IllegalArgumentException("layer norm bench takes [minibatch, features]: " + shape);
            }
            c = shape.dims()[1];
            this.normShape = new ai.djl.ndarray.types.Shape(c);
        }
        this.gamma = (PtNDArray) manager.ones(new ai.djl.ndarray.types.Shape(c), DataType.FLOAT32);
        this.beta = (PtNDArray) manager.zeros(new ai.djl.ndarray.types.Shape(c), DataType.FLOAT32);
        this.runMean = (PtNDArray) manager.zeros(new ai.djl.ndarray.types.Shape(c), DataType.FLOAT32);
        this.runVar = (PtNDArray) manager.ones(new ai.djl.ndarray.types.Shape(c), DataType.FLOAT32);
    }

    private PtNDArray apply(PtNDArray in) {
        if (op == Op.BATCH_NORM) {
            return JniUtils.batchNorm(in, runMean, runVar, gamma, beta, true, 0.1, 1e-5);
        }
        return JniUtils.layerNorm(in, normShape, gamma, beta, 1e-5);
    }

    @Override
    public Object fwd() {
        PtNDArray y = apply(x);
        y.close();
        return y;
    }

    @Override
    public Object fwdbwd() {
        boolean prev = JniUtils.isGradMode();
        JniUtils.setGradMode(true);
        try (NDManager call = manager.newSubManager()) {
            if (!JniUtils.requiresGrad(gamma)) {
                JniUtils.attachGradient(gamma, true);
                JniUtils.attachGradient(beta, true);
            }
            PtNDArray xi = JniUtils.detachGradient(x);
            xi.attach(call);
            JniUtils.attachGradient(xi, true);
            PtNDArray y = apply(xi);
            JniUtils.backward(y, dy, false, false);
            return JniUtils.getGradient(xi);
        } finally {
            JniUtils.setGradMode(prev);
        }
    }

    @Override
    public float[][] compute(float[] xs, float[] dys) {
        x.set(java.nio.FloatBuffer.wrap(xs));
        dy.set(java.nio.FloatBuffer.wrap(dys));
        float[] y;
        try (PtNDArray out = apply(x)) {
            y = out.toFloatArray();
        }
        boolean prev = JniUtils.isGradMode();
        JniUtils.setGradMode(true);
        try (NDManager call = manager.newSubManager()) {
            PtNDArray xi = JniUtils.detachGradient(x);
            xi.attach(call);
            JniUtils.attachGradient(xi, true);
            PtNDArray out = apply(xi);
            JniUtils.backward(out, dy, false, false);
            return new float[][] {y, JniUtils.getGradient(xi).toFloatArray()};
        } finally {
            JniUtils.setGradMode(prev);
        }
    }

    @Override
    public Kernel tiny() {
        return new TorchKernel(op, shape.tiny());
    }

    @Override
    public void close() {
        manager.close();
    }
}
