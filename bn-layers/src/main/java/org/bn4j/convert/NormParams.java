package org.bn4j.convert;

import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.runtime.NormParamInitializer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The parameters of a normalization layer in one form for every layer: γ and β (the fixed values broadcast when they
 * are not parameters), and the running mean and variance when the layer has them, each a vector of one value per
 * feature in the network's data type. The variance is the value inference uses:
 * {@code y = γ (x − mean)/sqrt(var + ε) + β}.
 *
 * <p>DL4J's {@code BatchNormalization} stores either {@code var} or, with {@code useLogStd} (DL4J's default),
 * {@code log10stdev} = log10(sqrt(var)) (ε not included); its inference computes {@code var = (10^log10stdev)²}
 * in the network's data type, and so does {@link #read}.
 */
record NormParams(INDArray gamma, INDArray beta, INDArray mean, INDArray var) {

    /**
     * Reads the parameters of {@code conf}'s layer from its parameter table.
     *
     * @param what the layer, for messages
     * @throws IllegalArgumentException if the table lacks a parameter the configuration has
     */
    static NormParams read(Layer conf, Map<String, INDArray> table, DataType dt, String what) {
        long n = ((FeedForwardLayer) conf).getNOut();
        FixedAffine fixed = FixedAffine.of(conf);
        boolean stats = conf instanceof BatchNormalization || ((AbstractNormLayer) conf).hasRunningStats();
        boolean logStd = conf instanceof BatchNormalization b && b.isUseLogStd();
        INDArray gamma = fixed.gamma() == null ? get(table, "gamma", conf, what) : Nd4j.valueArrayOf(new long[]{n}, fixed.gamma(), dt);
        INDArray beta = fixed.beta() == null ? get(table, "beta", conf, what) : Nd4j.valueArrayOf(new long[]{n}, fixed.beta(), dt);
        INDArray mean = stats ? get(table, NormParamInitializer.MEAN, conf, what) : null;
        INDArray var = null;
        if (logStd) {
            INDArray log10s = get(table, BatchNormalizationParamInitializer.GLOBAL_LOG_STD, conf, what);
            var = Transforms.pow(Nd4j.valueArrayOf(log10s.shape(), 10.0, log10s.dataType()), log10s, false); // as DL4J's preOutput
            var.muli(var);
        } else if (stats) {
            var = get(table, NormParamInitializer.VAR, conf, what);
        }
        return new NormParams(gamma, beta, mean, var);
    }

    private static INDArray get(Map<String, INDArray> table, String key, Layer conf, String what) {
        INDArray a = table.get(key);
        if (a == null) {
            throw new IllegalArgumentException(what + ": the network's parameters do not match its configuration: "
                    + conf.getClass().getSimpleName() + " needs a parameter '" + key + "', the network holds " + table.keySet());
        }
        return a.reshape(a.length());
    }

    /**
     * The parameter values of {@code target} (by key) that carry these parameters.
     *
     * @param what the layer, for messages
     * @throws IllegalArgumentException if the target holds γ or β fixed at other values than these (the trained
     *                                  values would be lost)
     */
    Map<String, INDArray> write(Layer target, String what) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        FixedAffine fixed = FixedAffine.of(target);
        if (fixed.gamma() == null) out.put("gamma", gamma);
        else requireAll(gamma, fixed.gamma(), "γ", what, target);
        if (fixed.beta() == null) out.put("beta", beta);
        else requireAll(beta, fixed.beta(), "β", what, target);
        boolean hasStats = target instanceof BatchNormalization || ((AbstractNormLayer) target).hasRunningStats();
        if (hasStats && mean != null) {
            out.put(NormParamInitializer.MEAN, mean);
            if (target instanceof BatchNormalization b && b.isUseLogStd()) {
                double[] v = var.toDoubleVector();
                double[] l = new double[v.length];
                for (int i = 0; i < v.length; i++) l[i] = 0.5 * Math.log10(v[i]);
                out.put(BatchNormalizationParamInitializer.GLOBAL_LOG_STD, Nd4j.createFromArray(l).castTo(var.dataType()));
            } else {
                out.put(NormParamInitializer.VAR, var);
            }
        }
        return out;
    }

    private static void requireAll(INDArray values, double fixed, String name, String what, Layer target) {
        for (double v : values.toDoubleVector()) {
            if (v != fixed) {
                throw new IllegalArgumentException(what + ": the replacement " + target.getClass().getSimpleName() + " holds "
                        + name + " fixed at " + fixed + ", but the trained layer has " + name + " = " + v
                        + " (the trained values would be lost; keep γ and β trainable, e.g. affine(true))");
            }
        }
    }
}
