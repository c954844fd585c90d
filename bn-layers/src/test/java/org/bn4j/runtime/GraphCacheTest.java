package org.bn4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The layers' graph cache keeps the most recently used graphs and closes the one it pushes out. */
class GraphCacheTest {

    private static final class Graph implements AutoCloseable {
        boolean closed;

        @Override
        public void close() {
            closed = true;
        }
    }

    @Test
    void theLeastRecentlyUsedGraphIsClosedWhenPushedOut() {
        GraphCache<Integer, Graph> cache = new GraphCache<>(2);
        Graph a = cache.get(1, k -> new Graph());
        Graph b = cache.get(2, k -> new Graph());
        assertSame(a, cache.get(1, k -> new Graph()), "a cached graph is reused");
        Graph c = cache.get(3, k -> new Graph()); // 2 is now the least recently used
        assertTrue(b.closed, "the evicted graph is closed");
        assertFalse(a.closed || c.closed, "the kept graphs are open");
        assertEquals(2, cache.size());
        Graph b2 = cache.get(2, k -> new Graph());
        assertFalse(b2 == b || b2.closed, "an evicted key gets a new graph");
        assertTrue(a.closed && !c.closed, "and the next least recently used one goes");
    }
}
