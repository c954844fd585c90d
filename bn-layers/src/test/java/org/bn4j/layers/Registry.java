package org.bn4j.layers;

import org.bn4j.check.InputKind;
import org.bn4j.check.LayerCheck;
import org.bn4j.check.Size;
import org.bn4j.core.Statistic;
import org.bn4j.reference.RefModel;
import org.bn4j.reference.RefModel.Axes;
import org.nd4j.linalg.activations.Activation;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The one registry of the layer tests: every activation-normalizing layer of the library (a base case per layer with
 * test-friendly settings), the options a layer can take, and their product. Each case names itself, knows the input
 * kinds it takes and the reference model of what it computes.
 */
public final class Registry {
    private Registry() {
    }

    /** Every input kind. */
    public static final List<InputKind> ALL = List.of(InputKind.values());
    /** The default size: a batch of 6, 3 channels, side or length 4. */
    public static final Size SIZE = new Size(6, 3, 4);
    /** A second size for the product: an odd batch (ghost remainders), 2 channels, side 3. */
    public static final Size SMALL = new Size(9, 2, 3);

    /**
     * One named case.
     *
     * @param name   shown in every test name
     * @param layer  fresh configurations
     * @param axes   where the documentation says the statistics are taken
     * @param groups channel groups (group norm), else 0
     * @param kinds  the input kinds the layer takes
     * @param sizes  the sizes the case runs at
     */
    public record Case(String name, Supplier<AbstractNormLayer> layer, Axes axes, int groups, List<InputKind> kinds,
                       List<Size> sizes, Set<LayerCheck.Check> skip) {
        /** The case's checks with its reference (the kit's defaults otherwise), at its sizes on its kinds. */
        public LayerCheck check() {
            return check(sizes, kinds);
        }

        /** The case's checks at these sizes, on those of these kinds the layer takes. */
        public LayerCheck check(List<Size> at, java.util.Collection<InputKind> on) {
            return LayerCheck.of(name, layer).on(kinds.stream().filter(on::contains).toArray(InputKind[]::new))
                    .sizes(at.toArray(new Size[0]))
                    .reference(in -> new RefModel(layer.get(), axes, groups).compute(in)).clearErrors()
                    .without(skip.toArray(new LayerCheck.Check[0]));
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** A layer of the library with the settings its tests use. */
    private record Base(String name, Supplier<AbstractNormLayer.Builder<?>> builder, Axes axes, int groups,
                        List<InputKind> kinds, List<Size> sizes, Set<LayerCheck.Check> skip) {
        Base(String name, Supplier<AbstractNormLayer.Builder<?>> builder, Axes axes, int groups, List<InputKind> kinds,
             List<Size> sizes) {
            this(name, builder, axes, groups, kinds, sizes, Set.of());
        }
    }

    /**
     * Batch renormalization's r and d are constants for the gradient by definition (the paper's stop-gradient), so its
     * backward is the derivative of its forward only where they are clipped at constant bounds: gradient checks run
     * with bounds r_max = 1, d_max = 0 (r = 1, d = 0 through the renormalization graphs), the reference comparisons with
     * open bounds too.
     */
    private static final Set<LayerCheck.Check> GRADIENTS = Set.of(LayerCheck.Check.GRADIENTS_MLN,
            LayerCheck.Check.GRADIENTS_MLN_TRAINED, LayerCheck.Check.GRADIENTS_GRAPH, LayerCheck.Check.GRADIENTS_GRAPH_TRAINED);

    /** An option, as a change to a builder, with the layers it applies to. */
    private record Option(String name, Predicate<Base> appliesTo, Function<AbstractNormLayer.Builder<?>, AbstractNormLayer.Builder<?>> apply) {
    }

    private static final List<InputKind> NOT_FF = ALL.stream().filter(k -> k != InputKind.FF).toList();

    private static List<Base> bases() {
        List<Base> b = new ArrayList<>();
        List<Size> one = List.of(SIZE), four = List.of(new Size(6, 8, 4));
        b.add(new Base("BatchNorm", BatchNorm.Builder::new, Axes.BATCH, 0, ALL, one));
        b.add(new Base("LpBatchNorm(p=1)", () -> new LpBatchNorm.Builder().p(1), Axes.BATCH, 0, ALL, one));
        b.add(new Base("LpBatchNorm(p=3,plain)", () -> new LpBatchNorm.Builder().p(3).gaussianConstant(false), Axes.BATCH, 0, ALL, one));
        b.add(new Base("LpBatchNorm(top-1)", () -> new LpBatchNorm.Builder().topK(1), Axes.BATCH, 0, ALL, one));
        b.add(new Base("LpBatchNorm(top-3,plain)", () -> new LpBatchNorm.Builder().topK(3).gaussianConstant(false), Axes.BATCH, 0, ALL, one));
        b.add(new Base("GhostBatchNorm(v=4)", () -> new GhostBatchNorm.Builder().virtualBatchSize(4), Axes.BATCH, 0, ALL, one));
        b.add(new Base("NoisyBatchNorm", () -> new NoisyBatchNorm.Builder().noise(NoiseConfig.santurkar().withSeed(5)),
                Axes.BATCH, 0, ALL, one));
        b.add(new Base("BatchRenorm", () -> new BatchRenorm.Builder().rMax(1.5).dMax(0.5).schedule(0, 0, 0),
                Axes.BATCH, 0, ALL, one, GRADIENTS));
        b.add(new Base("BatchRenorm(r_max=1,d_max=0)", () -> new BatchRenorm.Builder().rMax(1).dMax(0).schedule(0, 0, 0),
                Axes.BATCH, 0, ALL, one));
        b.add(new Base("NoiseInjection", NoiseInjection.Builder::new, Axes.NONE, 0, ALL, one));
        b.add(new Base("LayerNorm", LayerNorm.Builder::new, Axes.SAMPLE, 0, ALL, one));
        b.add(new Base("GroupNorm(2)", () -> new GroupNorm.Builder(2), Axes.GROUPS, 2, ALL, four));
        b.add(new Base("InstanceNorm", InstanceNorm.Builder::new, Axes.INSTANCE, 0, NOT_FF, one));
        b.add(new Base("InstanceNorm(running)", () -> new InstanceNorm.Builder().runningStats(true), Axes.INSTANCE, 0, NOT_FF, one));
        b.add(new Base("RMSNorm", RMSNorm.Builder::new, Axes.CHANNELS, 0, ALL, one));
        return b;
    }

    private static boolean normalizes(Base b) {
        return b.axes() != Axes.NONE;
    }

    private static boolean running(Base b) {
        return ((AbstractNormLayer) b.builder().get().build()).hasRunningStats();
    }

    private static boolean batchFamily(Base b) {
        return b.axes() == Axes.BATCH;
    }

    private static List<Option> options() {
        List<Option> o = new ArrayList<>();
        o.add(new Option("affine=false", Registry::normalizes, x -> x.affine(false)));
        o.add(new Option("fixed gamma and beta", Registry::normalizes, x -> x.fixedGamma(1.5).fixedBeta(-0.25)));
        o.add(new Option("scale only", Registry::normalizes, x -> x.bias(false)));
        o.add(new Option("center=false", b -> normalizes(b) && b.axes() != Axes.CHANNELS, x -> x.center(false)));
        o.add(new Option("L1", b -> normalizes(b) && !b.name().startsWith("Lp"), x -> x.statistic(Statistic.lp(1))));
        o.add(new Option("noise after", b -> normalizes(b) && !b.name().startsWith("Noisy"),
                x -> x.noise(NoiseConfig.santurkar().withSeed(3))));
        o.add(new Option("noise before", Registry::normalizes, x -> x.noise(NoiseConfig.santurkar().withSeed(3)).noiseBeforeAffine(true)));
        o.add(new Option("tanh", b -> true, x -> x.activation(Activation.TANH)));
        o.add(new Option("eps=1e-2", Registry::normalizes, x -> x.eps(1e-2)));
        o.add(new Option("ghost v=3", b -> batchFamily(b) && !b.name().startsWith("Ghost"),
                x -> ((BatchNorm.BaseBuilder<?>) x).virtualBatchSize(3)));
        o.add(new Option("no running statistics", b -> batchFamily(b) && !b.name().startsWith("BatchRenorm"),
                x -> ((AbstractNormLayer.RunningStatsBuilder<?>) x).runningStats(false)));
        o.add(new Option("frozen statistics", Registry::running, x -> ((AbstractNormLayer.RunningStatsBuilder<?>) x).frozenStatistics(true)));
        o.add(new Option("cumulative average", Registry::running, x -> ((AbstractNormLayer.RunningStatsBuilder<?>) x).cumulativeAverage(true)));
        return o;
    }

    /** One case per layer, with its defaults. */
    public static List<Case> layers() {
        return bases().stream().map(b -> new Case(b.name(), () -> b.builder().get().build(), b.axes(), b.groups(),
                b.kinds(), b.sizes(), b.skip())).toList();
    }

    /** Every (layer, option) cell the registry can express, at two sizes. */
    public static List<Case> product() {
        List<Case> out = new ArrayList<>();
        for (Base b : bases()) {
            List<Size> sizes = b.groups() > 0 ? List.of(b.sizes().get(0), new Size(9, 8, 3)) : List.of(SIZE, SMALL);
            for (Option o : options()) {
                if (!o.appliesTo().test(b)) continue;
                out.add(new Case(b.name() + " + " + o.name(), () -> o.apply().apply(b.builder().get()).build(), b.axes(),
                        b.groups(), b.kinds(), sizes, b.skip()));
            }
        }
        return out;
    }

    /** The kinds every layer takes (for tests on one kind of each rank). */
    public static final Set<InputKind> ONE_PER_RANK = EnumSet.of(InputKind.FF, InputKind.CNN_NCHW, InputKind.CNN3D_NDHWC,
            InputKind.RNN_NWC);
}
