package org.bn4j.convert;

import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.weightnorm.AbstractWeightNormLayer;
import org.bn4j.layers.weightnorm.WeightNormConv2D;
import org.bn4j.layers.weightnorm.WeightNormDense;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.jackson.core.JsonProcessingException;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Folds batch normalization into the layer before it, for inference. A batch-norm-family layer with running
 * statistics (DL4J's {@code BatchNormalization}; bn4j's {@code BatchNorm}, {@code LpBatchNorm},
 * {@code GhostBatchNorm}, {@code NoisyBatchNorm}) computes at inference the per-channel affine map
 * <pre>
 *   y = γ (z − mean)/sqrt(var + ε) + β = s·z + t,    s = γ/sqrt(var + ε),   t = β − s·mean
 * </pre>
 * so when z is the output of a layer {@code z = W x + b} with the identity activation, the two are one layer with
 * {@code W' = s·W} (each output unit's weights scaled) and {@code b' = s·b + t}. Weight-norm layers
 * ({@code w = g·v/‖v‖}) take {@code g' = s·g} and {@code b' = s·b + t}, v unchanged.
 *
 * <pre>{@code
 * FoldResult<ComputationGraph> r = NormFolder.fold(trained);
 * ComputationGraph inference = r.network();
 * System.out.println(r);    // which layers were folded, which kept and why
 * }</pre>
 *
 * <p>A normalization layer is folded when it follows directly (no preprocessor, no other vertex between) a
 * {@code DenseLayer} (without DL4J's layer norm), a 2-D {@code ConvolutionLayer} (NCHW or NHWC, the same format as
 * the normalization layer) or a bn4j {@code WeightNormDense}/{@code WeightNormConv2D}, with or without bias, whose
 * activation is the identity and whose output nothing else reads. A layer without bias gets one. Chains fold in
 * turn (conv → bn → bn). Everything else is kept and reported with the reason ({@link FoldResult#kept()}); the
 * other layers keep their parameters bit for bit. The new weights are computed in double precision and stored in
 * the network's data type.
 *
 * <p>The folded network is for inference: it computes the same inference function (up to rounding), but it has no
 * batch statistics left, so training it trains a different network. Weight-norm layers lose their data-dependent
 * initialization flag (the folded values are final). The given network is not modified. User guide:
 * {@code docs/migrating.md}.
 */
public final class NormFolder {

    private NormFolder() {
    }

    /** Folds what can be folded in a trained MultiLayerNetwork. */
    public static FoldResult<MultiLayerNetwork> fold(MultiLayerNetwork net) {
        return fold(new MlnEdit(net.getLayerWiseConfigurations(), net, null));
    }

    /** Folds what can be folded in a trained ComputationGraph. */
    public static FoldResult<ComputationGraph> fold(ComputationGraph net) {
        return fold(new GraphEdit(net.getConfiguration(), net, null));
    }

    private static <N extends Model> FoldResult<N> fold(NetEdit<?, N> edit) {
        List<FoldResult.Folded> folded = new ArrayList<>();
        List<FoldResult.Kept> kept = new ArrayList<>();
        for (String id : edit.ids()) {
            Layer norm = NetEdit.unwrap(edit.layer(id));
            if (!NormSelector.isNormLayer(norm)) continue;
            NetEdit.Input in = edit.soleInputLayer(id);
            String why = in.layer() == null ? in.reason() : whyNot(edit, id, norm, in.layer());
            if (why != null) {
                kept.add(new FoldResult.Kept(edit.name(id), why));
                continue;
            }
            foldInto(edit, id, norm, in.layer());
            folded.add(new FoldResult.Folded(edit.name(id), edit.name(in.layer())));
            edit.bypass(id);
        }
        return new FoldResult<>(edit.buildWithParams(), List.copyOf(folded), List.copyOf(kept));
    }

    /** Why the normalization layer {@code id} cannot be folded into the layer {@code prev} before it, or null. */
    private static String whyNot(NetEdit<?, ?> edit, String id, Layer norm, String prev) {
        if (norm instanceof AbstractNormLayer n && !n.hasRunningStats()) {
            return "it has no running statistics (" + norm.getClass().getSimpleName() + " is not an affine map at inference)";
        }
        Layer p = NetEdit.unwrap(edit.layer(prev));
        String before = "the layer before it, '" + edit.name(prev) + "', ";
        if (!foldable(p)) {
            return before + "is a " + p.getClass().getSimpleName() + (p instanceof DenseLayer
                    ? " with layer norm" : "") + " (only DenseLayer, 2-D ConvolutionLayer, WeightNormDense and"
                    + " WeightNormConv2D fold)";
        }
        if (!(((BaseLayer) p).getActivationFn() instanceof ActivationIdentity)) {
            return before + "has activation " + ((BaseLayer) p).getActivationFn() + " (folding needs the identity)";
        }
        if (edit.hasOtherConsumers(prev, id)) {
            return before + "has its output read by other vertices too (or is a network output)";
        }
        CNN2DFormat pf = p instanceof ConvolutionLayer c ? c.getCnn2dDataFormat()
                : p instanceof WeightNormConv2D w ? w.getDataFormat() : null;
        CNN2DFormat nf = new NormSource(edit.name(id), norm, null).cnn2dFormat();
        if (pf != null && pf != nf) {
            return before + "writes " + pf + ", the normalization layer reads " + nf;
        }
        long units = ((FeedForwardLayer) p).getNOut(), features = ((FeedForwardLayer) norm).getNOut();
        if (units != features) {
            return before + "has " + units + " outputs, the normalization layer " + features + " features";
        }
        return null;
    }

    private static boolean foldable(Layer p) {
        return p.getClass() == DenseLayer.class && !((DenseLayer) p).isHasLayerNorm()
                || p.getClass() == ConvolutionLayer.class
                || p instanceof WeightNormDense || p instanceof WeightNormConv2D;
    }

    /** Sets the new weights and bias of {@code prev}, and its configuration with a bias. */
    private static void foldInto(NetEdit<?, ?> edit, String id, Layer norm, String prev) {
        DataType dt = edit.dataType();
        NormParams bn = NormParams.read(norm, edit.params(id), dt, edit.describe(id));
        double eps = new NormSource(edit.name(id), norm, null).eps();
        double[] gamma = bn.gamma().toDoubleVector(), beta = bn.beta().toDoubleVector(),
                mean = bn.mean().toDoubleVector(), var = bn.var().toDoubleVector();
        int n = gamma.length;
        double[] s = new double[n], t = new double[n];
        for (int c = 0; c < n; c++) {
            s[c] = gamma[c] / Math.sqrt(var[c] + eps);
            t[c] = beta[c] - s[c] * mean[c];
        }
        Layer p = NetEdit.unwrap(edit.layer(prev));
        Map<String, INDArray> params = edit.params(prev);
        boolean weightNorm = p instanceof AbstractWeightNormLayer;
        String scaled = weightNorm ? "g" : "W";
        INDArray w = params.get(scaled).castTo(DataType.DOUBLE);
        INDArray scale = Nd4j.createFromArray(s);
        INDArray w2 = weightNorm ? w.reshape(n).mul(scale)
                : p instanceof DenseLayer ? w.mulRowVector(scale.reshape(1, n))
                : w.mul(scale.reshape(n, 1, 1, 1));
        INDArray b = params.get("b");
        double[] bias = b == null ? new double[n] : b.toDoubleVector();
        for (int c = 0; c < n; c++) bias[c] = s[c] * bias[c] + t[c];
        Map<String, INDArray> out = new LinkedHashMap<>();
        out.put(scaled, w2.castTo(dt));
        out.put("b", Nd4j.createFromArray(bias).castTo(dt));
        edit.setParams(prev, out);
        if (b == null || p instanceof AbstractWeightNormLayer wn && wn.isDataInit()) edit.setLayer(prev, withBias(p));
    }

    /** The layer's configuration with a bias (and, for weight norm, without the data-dependent initialization). */
    private static Layer withBias(Layer p) {
        ObjectMapper m = NeuralNetConfiguration.mapper();
        try {
            ObjectNode node = (ObjectNode) m.readTree(m.writeValueAsString(p));
            node.put("hasBias", true);
            if (p instanceof AbstractWeightNormLayer) node.put("dataInit", false);
            Layer l = m.treeToValue(node, Layer.class);
            boolean biased = l instanceof AbstractWeightNormLayer w ? w.hasBias()
                    : l instanceof DenseLayer d ? d.hasBias() : ((ConvolutionLayer) l).hasBias();
            if (!biased) throw new IllegalStateException("could not give " + p.getClass().getSimpleName() + " a bias");
            return l;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("could not copy the configuration of " + p.getClass().getSimpleName(), e);
        }
    }
}
