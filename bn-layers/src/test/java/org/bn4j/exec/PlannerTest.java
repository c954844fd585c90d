package org.bn4j.exec;

import org.bn4j.exec.Program.Kind;
import org.bn4j.exec.Program.Node;
import org.bn4j.exec.Program.Op;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The planner's reading of ND4J ops: kinds, operations, operand order, shapes, folding. */
class PlannerTest {

    @Test
    void liftsOpsIntoProgramNodes() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, 4, 3);
        SDVariable w = sd.placeHolder("w", DataType.FLOAT, 3, 2);
        SDVariable scaled = x.mul(2.0);
        SDVariable reversed = x.rsub(1.0);
        SDVariable stepped = sd.math.step(x, 0.5);
        SDVariable colSums = x.sum(false, 0);
        SDVariable product = sd.mmul(x, w);
        SDVariable flat = x.reshape(12);
        SDVariable folded = sd.constant(Nd4j.scalar(DataType.FLOAT, 2.0)).mul(3.0);
        SDVariable quotient = x.rdiv(scaled);
        List<String> outs = List.of(scaled.name(), reversed.name(), stepped.name(), colSums.name(), product.name(),
                flat.name(), folded.name(), quotient.name());
        Map<String, INDArray> in = Map.of("x", Nd4j.rand(DataType.FLOAT, 4, 3), "w", Nd4j.rand(DataType.FLOAT, 3, 2));
        Program p = Planner.plan(sd, List.of("x", "w"), outs.toArray(String[]::new), in);

        Node s = p.byName.get(scaled.name());
        assertEquals(Kind.ELEMENTWISE, s.kind);
        assertEquals(Op.MUL, s.op);
        assertEquals(2.0, s.in[1].constant.getDouble(0));

        Node r = p.byName.get(reversed.name());
        assertEquals(Op.SUB, r.op);
        assertEquals(Kind.CONSTANT, r.in[0].kind, "1 - x: the scalar first");
        assertSame(p.byName.get("x"), r.in[1]);

        Node st = p.byName.get(stepped.name());
        assertEquals(Op.STEP, st.op);
        assertEquals(0.5, st.param);

        Node cs = p.byName.get(colSums.name());
        assertEquals(Kind.VIEW, cs.kind, "a reduction without keepDims is a view of the keepDims one");
        assertArrayEquals(new long[]{3}, cs.shape);
        assertEquals(Kind.REDUCE, cs.in[0].kind);
        assertArrayEquals(new long[]{1, 3}, cs.in[0].shape);
        assertArrayEquals(new boolean[]{true, false}, cs.in[0].axes);

        Node mm = p.byName.get(product.name());
        assertEquals(Kind.ND4J, mm.kind);
        assertArrayEquals(new long[]{4, 2}, mm.shape);

        Node f = p.byName.get(flat.name());
        assertEquals(Kind.VIEW, f.kind);
        assertArrayEquals(new long[]{12}, f.shape);

        Node c = p.byName.get(folded.name());
        assertEquals(Kind.CONSTANT, c.kind, "an op of one-element constants is folded");
        assertEquals(6.0, c.constant.getDouble(0));

        Node q = p.byName.get(quotient.name());
        assertEquals(Op.DIV, q.op);
        assertSame(s, q.in[0], "rdiv(x, scaled) = scaled / x");
    }

    @Test
    void broadcastShapes() {
        assertArrayEquals(new long[]{4, 3}, Program.broadcast(new long[]{4, 1}, new long[]{3}));
        assertArrayEquals(new long[]{2, 4, 3}, Program.broadcast(new long[]{2, 1, 3}, new long[]{4, 1}));
        assertNull(Program.broadcast(new long[]{4, 2}, new long[]{3}));
        assertTrue(Program.fits(new long[]{1, 3}, new long[]{4, 3}));
        assertFalse(Program.fits(new long[]{4, 1, 3}, new long[]{4, 3}));
    }
}
