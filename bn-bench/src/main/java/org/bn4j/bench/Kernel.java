package org.bn4j.bench;

/**
 * One normalization layer of one engine at one input shape, with its inputs, parameters and upstream
 * gradient allocated once. {@link #fwd()} runs the training-mode forward pass (batch statistics);
 * {@link #fwdbwd()} runs forward and then backward for a fixed upstream gradient and returns the input
 * gradient. Both return something for the benchmark to consume.
 */
public interface Kernel extends AutoCloseable {

    Object fwd();

    Object fwdbwd();

    /** {@link #fwd()} or {@link #fwdbwd()} by the pass's name in the CSV ({@code fwd} or {@code fwdbwd}). */
    default Object run(String pass) {
        return "fwdbwd".equals(pass) ? fwdbwd() : fwd();
    }

    /**
     * A throw-away kernel of the same layer and layout on a tiny input, run once before a memory probe so
     * that code pages, thread pools and one-time caches are in place; may return null.
     */
    default Kernel tiny() {
        return null;
    }

    /**
     * For cross-checks between engines: sets the input and the upstream gradient (flat, C order), then
     * returns {forward output, input gradient} of a training-mode pass, flat in C order.
     */
    float[][] compute(float[] x, float[] dy);

    @Override
    default void close() {
    }
}
