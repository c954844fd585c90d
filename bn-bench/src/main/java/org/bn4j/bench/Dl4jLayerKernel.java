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
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;

import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Any DL4J layer configuration (DL4J's own or a bn4j one) run through the DL4J {@link Layer} API, the way
 * a {@link MultiLayerNetwork} runs it: a one-layer network is built for the input type, then
 * {@code activate(x, training=true)} and {@code backpropGradient(eps)} are called on its layer. By default the
 * activations, activation gradients and working memory live in workspaces opened the way
 * {@code MultiLayerNetwork.fit} opens them (what a user's training loop pays); {@code workspaces=false} runs with
 * {@code LayerWorkspaceMgr.noWorkspaces()} instead (every output a fresh array, paying first-touch page faults).
 * An input preprocessor that DL4J inserts for the input type is applied in both directions.
 *
 * <p>With {@code rnnAsFeedForward}, an NCW input [N,C,T] is run the way DL4J users normalize recurrent
 * activations with a feed-forward layer: {@code RnnToFeedForwardPreProcessor} ([N·T, C]), the layer, then
 * {@code FeedForwardToRnnPreProcessor}; the preprocessors' copies are part of the timed work. (DL4J's
 * built-in BatchNormalization in 1.0.0-M2.1 mis-handles rank-3 input: it reshapes [N,C,T] to [1,N,C,T]
 * and takes N as the channel axis.)
 */
public final class Dl4jLayerKernel implements Kernel {

    private static final WorkspaceConfiguration WS = WorkspaceConfiguration.builder().initialSize(0)
            .overallocationLimit(0.05).policyLearning(LearningPolicy.FIRST_LOOP).policyReset(ResetPolicy.BLOCK_LEFT)
            .policySpill(SpillPolicy.REALLOCATE).policyAllocation(AllocationPolicy.OVERALLOCATE).build();

    private final Supplier<org.deeplearning4j.nn.conf.layers.Layer> conf;
    private final Shape shape;
    private final boolean rnnAsFeedForward;
    private final boolean workspaces;
    private final LayerWorkspaceMgr mgr;
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
        this(conf, shape, rnnAsFeedForward, true);
    }

    public Dl4jLayerKernel(Supplier<org.deeplearning4j.nn.conf.layers.Layer> conf, Shape shape,
                           boolean rnnAsFeedForward, boolean workspaces) {
        this.conf = conf;
        this.shape = shape;
        this.rnnAsFeedForward = rnnAsFeedForward;
        this.workspaces = workspaces;
        this.mgr = !workspaces ? LayerWorkspaceMgr.noWorkspaces() : LayerWorkspaceMgr.builder()
                .with(ArrayType.ACTIVATIONS, "BENCH_ACT", WS)
                .with(ArrayType.INPUT, "BENCH_ACT", WS)
                .with(ArrayType.ACTIVATION_GRAD, "BENCH_GRAD", WS)
                .with(ArrayType.FF_WORKING_MEM, "BENCH_WORK", WS)
                .with(ArrayType.BP_WORKING_MEM, "BENCH_WORK", WS)
                .noWorkspaceFor(ArrayType.RNN_FF_LOOP_WORKING_MEM).noWorkspaceFor(ArrayType.RNN_BP_LOOP_WORKING_MEM)
                .noWorkspaceFor(ArrayType.UPDATER_WORKING_MEM)
                .build();
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
        INDArray in = pre == null ? x : pre.preProcess(x, minibatch, mgr);
        INDArray y = layer.activate(in, true, mgr);
        return post == null ? y : post.preProcess(y, minibatch, mgr);
    }

    private INDArray backward() {
        INDArray e = post == null ? eps : post.backprop(eps, minibatch, mgr);
        Pair<Gradient, INDArray> p = layer.backpropGradient(e, mgr);
        INDArray dx = p.getSecond();
        return pre == null ? dx : pre.backprop(dx, minibatch, mgr);
    }

    /** Runs the pass inside the workspace scopes fit opens (activations, then gradients), then hands its output on. */
    private <T> T run(boolean backward, Function<INDArray, T> out) {
        try (MemoryWorkspace a = mgr.notifyScopeEntered(ArrayType.ACTIVATIONS)) {
            INDArray y = forward();
            if (!backward) return out.apply(y);
            try (MemoryWorkspace g = mgr.notifyScopeEntered(ArrayType.ACTIVATION_GRAD)) {
                return out.apply(backward());
            }
        }
    }

    @Override
    public Object fwd() {
        return run(false, y -> y);
    }

    @Override
    public Object fwdbwd() {
        return run(true, dx -> dx);
    }

    @Override
    public float[][] compute(float[] xs, float[] dys) {
        x.assign(Nd4j.create(xs, x.shape(), 'c'));
        eps.assign(Nd4j.create(dys, x.shape(), 'c').reshape(eps.shape()));
        float[] y = run(false, a -> a.dup('c').data().asFloat());
        float[] dx = run(true, a -> a.dup('c').data().asFloat());
        return new float[][] {y, dx};
    }

    @Override
    public Kernel tiny() {
        return new Dl4jLayerKernel(conf, shape.tiny(), rnnAsFeedForward, workspaces);
    }
}
