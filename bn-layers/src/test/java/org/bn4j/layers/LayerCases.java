package org.bn4j.layers;

import org.bn4j.core.NormSpec;
import org.bn4j.reference.Ref;
import org.deeplearning4j.nn.conf.layers.Layer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.IntStream;

/** The registry of named layer cases that drives the layer tests. */
public final class LayerCases {
    private LayerCases() {
    }

    private static final Kind[] ALL = Kind.values();
    private static final Kind[] FF_CNN = {Kind.FF, Kind.CNN_NCHW};

    public static List<LayerCase> all() {
        List<LayerCase> cases = new ArrayList<>();
        batchType(cases, "BatchNorm", () -> new BatchNorm.Builder().build(), Ref.Stat.variance(), 0,
                NormSpec.Noise.NONE, ALL);
        batchType(cases, "BatchNorm(affine=false)", () -> new BatchNorm.Builder().affine(false).build(),
                Ref.Stat.variance(), 0, NormSpec.Noise.NONE, Kind.FF);
        batchType(cases, "LpBatchNorm(p=1)", () -> new LpBatchNorm.Builder().p(1).build(), Ref.Stat.lp(1, true), 0,
                NormSpec.Noise.NONE, ALL);
        batchType(cases, "LpBatchNorm(p=3,plain)", () -> new LpBatchNorm.Builder().p(3).gaussianConstant(false).build(),
                Ref.Stat.lp(3, false), 0, NormSpec.Noise.NONE, FF_CNN);
        batchType(cases, "LpBatchNorm(top-1)", () -> new LpBatchNorm.Builder().topK(1).build(), Ref.Stat.topK(1, true), 0,
                NormSpec.Noise.NONE, Kind.FF, Kind.RNN_NCW);
        batchType(cases, "LpBatchNorm(top-3,plain)", () -> new LpBatchNorm.Builder().topK(3).gaussianConstant(false).build(),
                Ref.Stat.topK(3, false), 0, NormSpec.Noise.NONE, Kind.CNN_NHWC);
        batchType(cases, "GhostBatchNorm(v=4)", () -> new GhostBatchNorm.Builder().virtualBatchSize(4).build(),
                Ref.Stat.variance(), 4, NormSpec.Noise.NONE, Kind.FF, Kind.RNN_NWC);
        batchType(cases, "GhostBatchNorm(v=3)", () -> new GhostBatchNorm.Builder().virtualBatchSize(3).build(),
                Ref.Stat.variance(), 3, NormSpec.Noise.NONE, Kind.CNN_NCHW, Kind.CNN_NHWC);
        batchType(cases, "NoisyBatchNorm", () -> new NoisyBatchNorm.Builder().noise(NoiseConfig.santurkar().withSeed(5)).build(),
                Ref.Stat.variance(), 0, NormSpec.Noise.AFTER_AFFINE, ALL);
        batchType(cases, "NoisyBatchNorm(before)", () -> new NoisyBatchNorm.Builder().noiseBeforeAffine(true).build(),
                Ref.Stat.variance(), 0, NormSpec.Noise.BEFORE_AFFINE, Kind.FF, Kind.CNN_NHWC);
        for (Kind k : new Kind[]{Kind.FF, Kind.CNN_NCHW, Kind.RNN_NWC}) {
            for (boolean masked : k.isRnn() ? new boolean[]{false, true} : new boolean[]{false}) {
                cases.add(new LayerCase("NoiseInjection/" + k + (masked ? "+mask" : ""), () -> new NoiseInjection.Builder().build(),
                        k, masked, null, new int[0], false, 0, NormSpec.Noise.AFTER_AFFINE));
            }
        }
        for (Kind k : ALL) {
            int[] axes = k.isRnn() ? new int[]{k.channelAxis()} : IntStream.range(1, k.rank()).toArray();
            for (boolean masked : k.isRnn() ? new boolean[]{false, true} : new boolean[]{false}) {
                cases.add(new LayerCase("LayerNorm/" + k + (masked ? "+mask" : ""), () -> new LayerNorm.Builder().build(),
                        k, masked, Ref.Stat.variance(), axes, false, 0, NormSpec.Noise.NONE));
            }
        }
        return cases;
    }

    /** A batch-statistics layer on the given kinds (RNN kinds also with a mask). */
    private static void batchType(List<LayerCase> cases, String name, Supplier<Layer> layer, Ref.Stat stat, int ghost,
                                  NormSpec.Noise noise, Kind... kinds) {
        for (Kind k : kinds) {
            for (boolean masked : k.isRnn() ? new boolean[]{false, true} : new boolean[]{false}) {
                cases.add(new LayerCase(name + "/" + k + (masked ? "+mask" : ""), layer, k, masked, stat,
                        k.allButChannel(), true, ghost, noise));
            }
        }
    }
}
