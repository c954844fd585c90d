package org.bn4j.bench;

import java.util.function.Function;

/** One row of the benchmark: a layer, an engine and a shape, and how to make its {@link Kernel}. */
public record Case(String layer, String engine, Shape shape, Function<Shape, Kernel> factory) {

    /** The JMH parameter value naming this case: {@code layer|engine|shape}. */
    public String id() {
        return layer + "|" + engine + "|" + shape;
    }

    public Kernel create() {
        return factory.apply(shape);
    }
}
