package org.bn4j.bench;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToRnnPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.RnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;

import java.util.function.Supplier;

/**
 * Any DL4J layer configuration (DL4J's own or a bn4j one) run through the DL4J {@link Layer} API, the way
 * a {@link MultiLayerNetwork} runs it: a one-layer network is built for the input type, then
 * {@code activate(x, training=true)} and {@code backpropGradient(eps)} are called on its layer, without
 * workspaces. An input preprocessor that DL4J inserts for the input type is applied in both directions.
 *
 * <p>With {@code rnnAsFeedForward}, an NCW input [N,C,T] is run the way DL4J users normalize recurrent
 * activations with a feed-forward layer: {@code RnnToFeedForwardPreProcessor} ([N·T, C]), the layer, then
 * {@code FeedForwardToRnnPreProcessor}; the preprocessors' copies are part of the timed work. (DL4J's
 * built-in BatchNormalization in 1.0.0-M2.1 mis-handles rank-3 input: it reshapes [N,C,T] to [1,N,C,T]
 * and takes N as the channel axis.)
 */
public final class Dl4jLayerKernel implements Kernel {

    private final Supplier<org.deeplearning4j.nn.conf.layers.Layer> conf;
    private final Shape shape;
    private final boolean rnnAsFeedForward;
    private final Layer layer;
    private final InputPreProcessor pre;
    private final InputPreProcessor post;
    private final INDArray x;
    private final INDArray eps;
    private final int minibatch;

    public Dl4jLayerKernel(Supplier<org.deeplearning4j.nn.conf.layers.Layer> conf, Shape shape) {
        this(conf, shape, false);
    }

    public Dl4jLayerKernel(Supplier<org.deeplearning4j.nn.conf.layers.Layer> conf, Shape shape,
                           boolean rnnAsFeedForward) {
        this.conf = conf;
        this.shape = shape;
        this.rnnAsFeedForward = rnnAsFeedForward;
        boolean viaFf = rnnAsFeedForward && shape.rank() == 3;
        MultiLayerConfiguration c = new NeuralNetConfiguration.Builder()
                .seed(12345)
                .dataType(DataType.FLOAT)
                .updater(new NoOp())
                .list()
                .layer(conf.get())
                .setInputType(viaFf ? InputType.feedForward(shape.channels()) : inputType(shape))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(c);
        net.init();
        net.initGradientsView();
        this.layer = net.getLayer(0);
        if (viaFf) {
            this.pre = new RnnToFeedForwardPreProcessor(RNNFormat.NCW);
            this.post = new FeedForwardToRnnPreProcessor(RNNFormat.NCW);
        } else {
            this.pre = c.getInputPreProcess(0);
            this.post = null;
        }
        this.minibatch = (int) shape.dims()[0];
        Nd4j.getRandom().setSeed(42);
        this.x = Nd4j.randn(DataType.FLOAT, shape.dims());
        // normalization layers keep the shape of their (preprocessed) input
        this.eps = Nd4j.randn(DataType.FLOAT, post != null || pre == null ? shape.dims()
                : pre.preProcess(x, minibatch, LayerWorkspaceMgr.noWorkspaces()).shape());
    }

    public static InputType inputType(Shape s) {
        long[] d = s.dims();
        switch (s.rank()) {
            case 2:
                return InputType.feedForward(d[1]);
            case 3:
                return InputType.recurrent(d[1], d[2], RNNFormat.NCW);
            case 4:
                return InputType.convolutional(d[2], d[3], d[1], CNN2DFormat.NCHW);
            default:
                throw new IllegalArgumentException("unsupported rank: " + s);
        }
    }

    private INDArray forward() {
        LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
        INDArray in = pre == null ? x : pre.preProcess(x, minibatch, mgr);
        INDArray y = layer.activate(in, true, mgr);
        return post == null ? y : post.preProcess(y, minibatch, mgr);
    }

    @Override
    public Object fwd() {
        return forward();
    }

    @Override
    public Object fwdbwd() {
        LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
        forward();
        INDArray e = post == null ? eps : post.backprop(eps, minibatch, mgr);
        Pair<Gradient, INDArray> p = layer.backpropGradient(e, mgr);
        INDArray dx = p.getSecond();
        return pre == null ? dx : pre.backprop(dx, minibatch, mgr);
    }

    @Override
    public float[][] compute(float[] xs, float[] dys) {
        x.assign(Nd4j.create(xs, x.shape(), 'c'));
        eps.assign(Nd4j.create(dys, x.shape(), 'c').reshape(eps.shape()));
        float[] y = ((INDArray) fwd()).dup('c').data().asFloat();
        float[] dx = ((INDArray) fwdbwd()).dup('c').data().asFloat();
        return new float[][] {y, dx};
    }

    @Override
    public Kernel tiny() {
        return new Dl4jLayerKernel(conf, shape.tiny(), rnnAsFeedForward);
    }
}
