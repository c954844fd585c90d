package org.bn4j.runtime;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * A layer's compiled graphs by key (spec and layout, or input shape): the {@code capacity} most recently used are
 * kept, and a graph pushed out is closed, which releases its buffers. Thread-safe.
 */
final class GraphCache<K, V extends AutoCloseable> {

    /** Graphs kept per layer: enough for the sequence lengths of a bucketed RNN data set. */
    static final int CAPACITY = 32;

    private final Map<K, V> map;

    GraphCache(int capacity) {
        map = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
                if (size() <= capacity) return false;
                try {
                    eldest.getValue().close();
                } catch (Exception e) {
                    throw new IllegalStateException("bn4j: closing an evicted graph failed", e);
                }
                return true;
            }
        };
    }

    /** The graphs of {@code key}, built by {@code build} when absent. */
    synchronized V get(K key, Function<? super K, ? extends V> build) {
        return map.computeIfAbsent(key, build);
    }

    synchronized int size() {
        return map.size();
    }
}
