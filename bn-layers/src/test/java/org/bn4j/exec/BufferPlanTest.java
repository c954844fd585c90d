package org.bn4j.exec;

import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Buffers of values kept in memory: reused once free, never while read; outputs written straight to the caller. */
class BufferPlanTest {

    @Test
    void buffersAreReusedAfterTheirLastReader() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.DOUBLE, 8, 8);
        SDVariable w = sd.placeHolder("w", DataType.DOUBLE, 8, 8);
        SDVariable a = sd.mmul(x, w);      // ND4J stage 1
        SDVariable b = a.mul(2.0);          // kernel, stored for stage 3
        SDVariable c = sd.mmul(b, w);      // ND4J stage 3: a is dead by then
        SDVariable d = c.add(1.0);          // kernel: the output
        Map<String, INDArray> in = Map.of("x", Nd4j.rand(DataType.DOUBLE, 8, 8), "w", Nd4j.rand(DataType.DOUBLE, 8, 8));
        Program p = Planner.plan(sd, List.of("x", "w"), new String[]{d.name()}, in);
        BufferPlan bp = BufferPlan.of(Fusion.of(p, 1));
        Program.Node na = p.byName.get(a.name()), nb = p.byName.get(b.name()), nc = p.byName.get(c.name());
        assertNotEquals(bp.slot.get(na), bp.slot.get(nb), "b is written while a is read");
        assertEquals(bp.slot.get(na), bp.slot.get(nc), "c takes a's buffer");
        assertTrue(bp.direct.containsKey(p.byName.get(d.name())), "the output goes straight to the destination");
        assertFalse(bp.slot.containsKey(p.byName.get(d.name())));
    }
}
