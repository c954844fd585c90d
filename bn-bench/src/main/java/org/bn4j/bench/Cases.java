package org.bn4j.bench;

import org.bn4j.exec.CompiledGraph;
import org.bn4j.layers.Catalog;
import org.bn4j.layers.weightnorm.WeightNormConv2D;
import org.bn4j.layers.weightnorm.WeightNormDense;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.nd4j.linalg.activations.Activation;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Every benchmarked case. A bn4j layer is added with one {@link #layer} line: it is run through the same
 * DL4J Layer API as DL4J's built-in layer ({@link Dl4jLayerKernel}). Training networks for the
 * throughput benchmark are added with one {@link #net} line.
 */
public final class Cases {

    /** Batch-norm shapes: [N,F] small and large, NCHW medium and large, and one RNN shape NCW [N,C,T]. */
    public static final List<String> BN_SHAPES =
            List.of("256x1024", "4096x1024", "64x64x32x32", "32x128x28x28", "32x256x64");
    /** Layer-norm shapes: [N,F], normalized over F, small and large. */
    public static final List<String> LN_SHAPES = List.of("256x1024", "4096x1024");
    /** Ghost batch norm (ghost batches of 32): the batch-norm shapes and a small one of two ghost batches. */
    public static final List<String> GHOST_SHAPES =
            List.of("64x1024", "256x1024", "4096x1024", "64x64x32x32", "32x128x28x28", "32x256x64");
    /** Weight-norm dense input [N, nIn]. */
    public static final List<String> WN_DENSE_SHAPES = List.of("4096x1024");
    /** Weight-norm convolution input NCHW. */
    public static final List<String> WN_CONV_SHAPES = List.of("32x128x28x28");
    /** Shapes for the memory-copy ceiling: every distinct size above. */
    public static final List<String> COPY_SHAPES =
            List.of("64x1024", "256x1024", "4096x1024", "64x64x32x32", "32x128x28x28", "32x256x64");

    /** The engine name of bn4j's layers through the unfused executor. */
    public static final String UNFUSED = "bn4j_unfused";

    private static final Map<String, Case> CASES = new LinkedHashMap<>();
    private static final Map<String, Supplier<Layer>> NETS = new LinkedHashMap<>();

    static {
        // DL4J's built-in layers
        // (on NCW input through RnnToFeedForward/FeedForwardToRnn preprocessors: see Dl4jLayerKernel)
        kernel("bn", "dl4j", BN_SHAPES, s -> new Dl4jLayerKernel(() -> new BatchNormalization.Builder().build(), s, true));
        kernel("ln", "dl4j", LN_SHAPES, Nd4jLayerNormKernel::new);

        // PyTorch through DJL
        kernel("bn", "pytorch", BN_SHAPES, s -> new TorchKernel(TorchKernel.Op.BATCH_NORM, s));
        kernel("ln", "pytorch", LN_SHAPES, s -> new TorchKernel(TorchKernel.Op.LAYER_NORM, s));

        // bn4j's layers by their name in the library's Catalog, through the fused executor (the bench JVMs run with
        // -Dbn4j.exec=fused)
        catalog("bn", BN_SHAPES);
        // the same layers through the unfused executor, the path without the Vector API
        kernel("bn", UNFUSED, BN_SHAPES, s -> unfused(new Dl4jLayerKernel(() -> Catalog.get("bn").create(), s)));
        kernel("ln", UNFUSED, LN_SHAPES, s -> unfused(new Dl4jLayerKernel(() -> Catalog.get("ln").create(), s)));
        catalog("lp1", BN_SHAPES);
        catalog("lpinf", BN_SHAPES);
        catalog("ghost", GHOST_SHAPES);
        catalog("noisy", BN_SHAPES);
        catalog("noise", BN_SHAPES);
        catalog("renorm", List.of("4096x1024", "32x128x28x28"));
        catalog("ln", LN_SHAPES);
        catalog("gn", List.of("64x64x32x32", "32x128x28x28"));
        catalog("in", List.of("64x64x32x32"));
        catalog("rms", LN_SHAPES);

        // weight norm beside the plain DL4J layer it replaces (dense 1024 -> 1024; conv 3x3, 128 -> 128, Same)
        layer("weightnorm_dense", "bn4j", WN_DENSE_SHAPES,
                () -> new WeightNormDense.Builder().nOut(1024).activation(Activation.IDENTITY).build());
        layer("weightnorm_dense", "dl4j", WN_DENSE_SHAPES,
                () -> new DenseLayer.Builder().nOut(1024).activation(Activation.IDENTITY).build());
        layer("weightnorm_conv", "bn4j", WN_CONV_SHAPES, () -> new WeightNormConv2D.Builder().kernelSize(3, 3).nOut(128)
                .convolutionMode(ConvolutionMode.Same).activation(Activation.IDENTITY).build());
        layer("weightnorm_conv", "dl4j", WN_CONV_SHAPES, () -> new ConvolutionLayer.Builder(3, 3).nOut(128)
                .convolutionMode(ConvolutionMode.Same).activation(Activation.IDENTITY).build());

        // training-throughput networks: the normalization layer used in the MLP (null = none)
        net("none", null);
        net("dl4j", () -> new BatchNormalization.Builder().build());
        net("bn4j", () -> Catalog.get("bn").create());
    }

    private Cases() {
    }

    /** A kernel whose calls run every graph through the unfused executor. */
    static Kernel unfused(Kernel k) {
        return new Kernel() {
            @Override
            public Object fwd() {
                return CompiledGraph.withPath(CompiledGraph.Path.UNFUSED, k::fwd);
            }

            @Override
            public Object fwdbwd() {
                return CompiledGraph.withPath(CompiledGraph.Path.UNFUSED, k::fwdbwd);
            }

            @Override
            public float[][] compute(float[] x, float[] dy) {
                return CompiledGraph.withPath(CompiledGraph.Path.UNFUSED, () -> k.compute(x, dy));
            }

            @Override
            public Kernel tiny() {
                Kernel t = k.tiny();
                return t == null ? null : unfused(t);
            }

            @Override
            public void close() {
                k.close();
            }
        };
    }

    /** Adds the bn4j layer of this {@link Catalog} entry, engine "bn4j", for the given shapes. */
    static void catalog(String name, List<String> shapes) {
        Catalog.Entry e = Catalog.get(name);
        layer(e.name(), "bn4j", shapes, e::create);
    }

    /** Adds a DL4J-API layer (DL4J's or bn4j's) for the given shapes. */
    static void layer(String layer, String engine, List<String> shapes, Supplier<Layer> conf) {
        kernel(layer, engine, shapes, s -> new Dl4jLayerKernel(conf, s));
    }

    static void kernel(String layer, String engine, List<String> shapes, Function<Shape, Kernel> factory) {
        for (String s : shapes) {
            Case c = new Case(layer, engine, Shape.parse(s), factory);
            if (CASES.put(c.id(), c) != null) {
                throw new IllegalStateException("duplicate case " + c.id());
            }
        }
    }

    static void net(String name, Supplier<Layer> norm) {
        NETS.put(name, norm);
    }

    public static Case get(String id) {
        Case c = CASES.get(id);
        if (c == null) {
            throw new IllegalArgumentException("unknown case " + id + "; known: " + CASES.keySet());
        }
        return c;
    }

    public static List<Case> all() {
        return Collections.unmodifiableList(new ArrayList<>(CASES.values()));
    }

    public static Map<String, Supplier<Layer>> nets() {
        return Collections.unmodifiableMap(NETS);
    }
}
