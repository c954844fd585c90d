package org.bn4j.exec;

import org.bn4j.exec.Fusion.Kernel;
import org.bn4j.exec.Fusion.Nd4jStage;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** How fusion partitions graphs: kernels, phases, the block axis, ND4J stages, stores, full-size passes. */
class FusionTest {

    /** y = (x − mean) / sqrt(var + ε) over the given axes of x: a normalization forward. */
    private static Fusion normalize(long[] shape, int... axes) {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, shape);
        long m = 1;
        for (int a : axes) m *= shape[a];
        SDVariable mean = x.sum(true, axes).div(m);
        SDVariable u = x.sub(mean);
        SDVariable v = u.mul(u).sum(true, axes).div(m);
        SDVariable y = u.mul(sd.math.rsqrt(v.add(1e-5)));
        Program p = Planner.plan(sd, List.of("x"), new String[]{y.name()}, Map.of("x", Nd4j.rand(DataType.FLOAT, shape)));
        return Fusion.of(p, 2);
    }

    @Test
    void rowStatisticsMakeOneBlockedKernelReadingOnce() {
        Fusion f = normalize(new long[]{256, 64}, 1);
        assertEquals(1, f.stages.size(), f.toString());
        Kernel k = (Kernel) f.stages.get(0);
        assertTrue(k.blocked, f.toString());
        assertEquals(0, k.blockAxis);
        assertEquals(3, k.phases, "the mean, then the variance, then y");
        assertEquals(2.0, f.passes(), "read x once, write y once");
    }

    @Test
    void channelStatisticsOfNchwAreBlockedByChannel() {
        Fusion f = normalize(new long[]{8, 4, 256}, 0, 2);
        Kernel k = (Kernel) f.stages.get(0);
        assertTrue(k.blocked);
        assertEquals(1, k.blockAxis);
        assertEquals(2.0, f.passes());
    }

    @Test
    void columnStatisticsAreBlockedByColumnsWhenTheBlocksKeepLongRuns() {
        Fusion f = normalize(new long[]{64, 4096}, 0);   // a thread's 2048 columns of 64 rows: 512 KiB, runs of 8 KiB
        Kernel k = (Kernel) f.stages.get(0);
        assertTrue(k.blocked, f.toString());
        assertEquals(1, k.blockAxis);
        assertEquals(2048, k.blockWidth);
        assertEquals(3, k.phases);
        assertEquals(2.0, f.passes());
    }

    @Test
    void aKernelWhoseBlocksDoNotStayInCacheReadsOncePerPhase() {
        Fusion f = normalize(new long[]{64, 4, 1 << 16}, 0, 2);   // one channel of 64 x 2^16 is 16 MiB of float32
        Kernel k = (Kernel) f.stages.get(0);
        assertTrue(k.blocked, f.toString());
        assertEquals(1, k.blockAxis);
        assertEquals(4.0, f.passes(), "x read in each of 3 phases, y written once");
    }

    @Test
    void columnStatisticsStreamWhenBlocksWouldCutRowsShort() {
        // 32 columns a thread: blocks of short runs cost more than the two passes they save
        Fusion narrow = normalize(new long[]{256, 64}, 0);
        // a thread's 1024 columns would stay in cache, but as runs of 4 KiB beside the other thread's
        Fusion half = normalize(new long[]{256, 2048}, 0);
        // 4 MiB of blocks hold 256 columns of 4096 rows: runs of 1 KiB
        Fusion tall = normalize(new long[]{4096, 1024}, 0);
        for (Fusion f : List.of(narrow, half, tall)) {
            Kernel k = (Kernel) f.stages.get(0);
            assertFalse(k.blocked, f.toString());
            assertEquals(0, k.blockAxis);
            assertEquals(3, k.phases);
            assertEquals(4.0, f.passes(), "x read in each of 3 phases, y written once");
        }
    }

    @Test
    void opsThatAreNotFusedSplitKernelsAndReadStoredValues() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, 16, 8);
        SDVariable w = sd.placeHolder("w", DataType.DOUBLE, 8, 8);
        SDVariable a = x.mul(2.0).add(1.0);
        SDVariable b = sd.mmul(a, w);
        SDVariable c = b.sub(a).mul(b);
        Map<String, INDArray> in = Map.of("x", Nd4j.rand(DataType.DOUBLE, 16, 8), "w", Nd4j.rand(DataType.DOUBLE, 8, 8));
        Fusion f = Fusion.of(Planner.plan(sd, List.of("x", "w"), new String[]{c.name()}, in), 1);
        assertEquals(3, f.stages.size(), f.toString());
        assertInstanceOf(Kernel.class, f.stages.get(0));
        assertInstanceOf(Nd4jStage.class, f.stages.get(1));
        Kernel first = (Kernel) f.stages.get(0), last = (Kernel) f.stages.get(2);
        assertTrue(first.stores.contains(f.program.byName.get(a.name())), "a is stored for the matrix product and the last kernel");
        assertTrue(last.stores.contains(f.program.byName.get(c.name())), "the output is stored");
    }

    @Test
    void aKernelReadingReductionsAcrossEveryAxisStreams() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, 32, 16);
        SDVariable y = x.sub(x.sum(true, 0)).sub(x.sum(true, 1));
        Fusion f = Fusion.of(Planner.plan(sd, List.of("x"), new String[]{y.name()},
                Map.of("x", Nd4j.rand(DataType.DOUBLE, 32, 16))), 2);
        Kernel k = (Kernel) f.stages.get(0);
        assertFalse(k.blocked);
        assertEquals(2, k.phases);
    }
}
