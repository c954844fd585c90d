package org.bn4j.exec;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.bn4j.exec.Program.Op;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The loops of the fused runner, with the Vector API ({@code jdk.incubator.vector}): loads of float32/float64 memory
 * into double-precision tiles, stores back, elementwise ops on tiles, and the sums and extrema of reductions. The
 * only class of the executor that uses the Vector API, loaded only when {@link Simd#available()}; no Vector API
 * type appears in its method signatures. Each loop ends with a scalar tail through {@link ScalarOps}.
 */
final class VectorOps {
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /**
     * Float32 lanes as many as {@link #D}'s (half its width), so one float vector converts to one double vector. The one
     * float32 species of the executor: {@link TileCompiler}'s loops take it too (see there why only one).
     */
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));
    private static final int L = D.length();
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private VectorOps() {
    }

    /** dst[d..d+n) = memory elements [e, e+n) of {@code src} (float32 if {@code f32}, else float64). */
    static void load(ByteBuffer src, boolean f32, long e, double[] dst, int d, int n) {
        if (f32) {
            int b = Math.toIntExact(e * 4);
            int i = loadFloats(src, b, dst, d, n);
            for (; i < n; i++) dst[d + i] = src.getFloat(b + 4 * i);
        } else {
            int b = Math.toIntExact(e * 8);
            int i = loadDoubles(src, b, dst, d, n);
            for (; i < n; i++) dst[d + i] = src.getDouble(b + 8 * i);
        }
    }

    private static int loadFloats(ByteBuffer src, int b, double[] dst, int d, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            ((DoubleVector) FloatVector.fromByteBuffer(F, src, b + 4 * i, NATIVE).convertShape(VectorOperators.F2D, D, 0))
                    .intoArray(dst, d + i);
        }
        return i;
    }

    private static int loadDoubles(ByteBuffer src, int b, double[] dst, int d, int n) {
        int i = 0;
        for (; i <= n - L; i += L) DoubleVector.fromByteBuffer(D, src, b + 8 * i, NATIVE).intoArray(dst, d + i);
        return i;
    }

    /** Memory elements [e, e+n) of {@code dst} = src[s..s+n) (rounded to float32 if {@code f32}). */
    static void store(double[] src, int s, ByteBuffer dst, boolean f32, long e, int n) {
        if (f32) {
            int b = Math.toIntExact(e * 4);
            int i = storeFloats(src, s, dst, b, n);
            for (; i < n; i++) dst.putFloat(b + 4 * i, (float) src[s + i]);
        } else {
            int b = Math.toIntExact(e * 8);
            int i = storeDoubles(src, s, dst, b, n);
            for (; i < n; i++) dst.putDouble(b + 8 * i, src[s + i]);
        }
    }

    private static int storeFloats(double[] src, int s, ByteBuffer dst, int b, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            ((FloatVector) DoubleVector.fromArray(D, src, s + i).convertShape(VectorOperators.D2F, F, 0))
                    .intoByteBuffer(dst, b + 4 * i, NATIVE);
        }
        return i;
    }

    private static int storeDoubles(double[] src, int s, ByteBuffer dst, int b, int n) {
        int i = 0;
        for (; i <= n - L; i += L) DoubleVector.fromArray(D, src, s + i).intoByteBuffer(dst, b + 8 * i, NATIVE);
        return i;
    }

    /** a[o..o+n) rounded to float32 precision. */
    static void roundToFloat(double[] a, int o, int n) {
        int i = roundFloats(a, o, n);
        for (; i < n; i++) a[o + i] = (float) a[o + i];
    }

    private static int roundFloats(double[] a, int o, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            ((DoubleVector) DoubleVector.fromArray(D, a, o + i).convertShape(VectorOperators.D2F, F, 0)
                    .convertShape(VectorOperators.F2D, D, 0)).intoArray(a, o + i);
        }
        return i;
    }

    // Each loop is a method of its own: C2 turns Vector API calls into SIMD instructions only where it inlines them,
    // and it stops inlining into a method that has grown too large (one switch holding every loop would).

    /** out = op(a) for a unary op (param: the step's cut or the power). */
    static void unary(Op op, double param, double[] a, int ao, double[] out, int oo, int n) {
        int i = switch (op) {
            case IDENTITY -> copy(a, ao, out, oo, n);
            case NEG -> neg(a, ao, out, oo, n);
            case ABS -> abs(a, ao, out, oo, n);
            case SQRT -> sqrt(a, ao, out, oo, n);
            case RSQRT -> rsqrt(a, ao, out, oo, n);
            case SQUARE -> square(a, ao, out, oo, n);
            case RECIPROCAL -> reciprocal(a, ao, out, oo, n);
            case SIGN -> sign(a, ao, out, oo, n);
            case STEP -> step(param, a, ao, out, oo, n);
            default -> 0;  // LOG, EXP, POW: the scalar loop below (Math's functions)
        };
        for (; i < n; i++) out[oo + i] = ScalarOps.apply(op, a[ao + i], 0, param);
    }

    private static int copy(double[] a, int ao, double[] out, int oo, int n) {
        System.arraycopy(a, ao, out, oo, n);
        return n;
    }

    private static int neg(double[] a, int ao, double[] out, int oo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) v(a, ao + i).neg().intoArray(out, oo + i);
        return i;
    }

    private static int abs(double[] a, int ao, double[] out, int oo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) v(a, ao + i).abs().intoArray(out, oo + i);
        return i;
    }

    private static int sqrt(double[] a, int ao, double[] out, int oo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) v(a, ao + i).sqrt().intoArray(out, oo + i);
        return i;
    }

    private static int rsqrt(double[] a, int ao, double[] out, int oo, int n) {
        int i = 0;
        DoubleVector one = DoubleVector.broadcast(D, 1.0);
        for (; i <= n - L; i += L) one.div(v(a, ao + i).sqrt()).intoArray(out, oo + i);
        return i;
    }

    private static int square(double[] a, int ao, double[] out, int oo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            DoubleVector x = v(a, ao + i);
            x.mul(x).intoArray(out, oo + i);
        }
        return i;
    }

    private static int reciprocal(double[] a, int ao, double[] out, int oo, int n) {
        int i = 0;
        DoubleVector one = DoubleVector.broadcast(D, 1.0);
        for (; i <= n - L; i += L) one.div(v(a, ao + i)).intoArray(out, oo + i);
        return i;
    }

    private static int sign(double[] a, int ao, double[] out, int oo, int n) {
        int i = 0;
        DoubleVector one = DoubleVector.broadcast(D, 1.0), zero = DoubleVector.zero(D), minus = one.neg();
        for (; i <= n - L; i += L) {
            DoubleVector x = v(a, ao + i);
            zero.blend(one, x.compare(VectorOperators.GT, 0.0)).blend(minus, x.compare(VectorOperators.LT, 0.0))
                    .intoArray(out, oo + i);
        }
        return i;
    }

    private static int step(double cut, double[] a, int ao, double[] out, int oo, int n) {
        int i = 0;
        DoubleVector one = DoubleVector.broadcast(D, 1.0), zero = DoubleVector.zero(D);
        for (; i <= n - L; i += L) zero.blend(one, v(a, ao + i).compare(VectorOperators.GT, cut)).intoArray(out, oo + i);
        return i;
    }

    /** out = a op b, elementwise. */
    static void binary(Op op, double[] a, int ao, double[] b, int bo, double[] out, int oo, int n) {
        int i = switch (op) {
            case ADD -> add(a, ao, b, bo, out, oo, n);
            case SUB -> sub(a, ao, b, bo, out, oo, n);
            case MUL -> mul(a, ao, b, bo, out, oo, n);
            case DIV -> div(a, ao, b, bo, out, oo, n);
            case MAX -> max(a, ao, b, bo, out, oo, n);
            case MIN -> min(a, ao, b, bo, out, oo, n);
            default -> 0;  // comparisons: the scalar loop below
        };
        for (; i < n; i++) out[oo + i] = ScalarOps.apply(op, a[ao + i], b[bo + i], 0);
    }

    private static int add(double[] a, int ao, double[] b, int bo, double[] out, int oo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) v(a, ao + i).add(v(b, bo + i)).intoArray(out, oo + i);
        return i;
    }

    private static int sub(double[] a, int ao, double[] b, int bo, double[] out, int oo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) v(a, ao + i).sub(v(b, bo + i)).intoArray(out, oo + i);
        return i;
    }

    private static int mul(double[] a, int ao, double[] b, int bo, double[] out, int oo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) v(a, ao + i).mul(v(b, bo + i)).intoArray(out, oo + i);
        return i;
    }

    private static int div(double[] a, int ao, double[] b, int bo, double[] out, int oo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) v(a, ao + i).div(v(b, bo + i)).intoArray(out, oo + i);
        return i;
    }

    private static int max(double[] a, int ao, double[] b, int bo, double[] out, int oo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) v(a, ao + i).max(v(b, bo + i)).intoArray(out, oo + i);
        return i;
    }

    private static int min(double[] a, int ao, double[] b, int bo, double[] out, int oo, int n) {
        int i = 0;
        for (; i <= n - L; i += L) v(a, ao + i).min(v(b, bo + i)).intoArray(out, oo + i);
        return i;
    }

    /** out = a op s (or s op a if {@code scalarFirst}), elementwise with a scalar. */
    static void binaryScalar(Op op, double[] a, int ao, double s, boolean scalarFirst, double[] out, int oo, int n) {
        int i = switch (op) {
            case ADD -> addS(a, ao, s, out, oo, n);
            case MUL -> mulS(a, ao, s, out, oo, n);
            case SUB -> scalarFirst ? rsubS(a, ao, s, out, oo, n) : addS(a, ao, -s, out, oo, n);
            case DIV -> scalarFirst ? rdivS(a, ao, s, out, oo, n) : divS(a, ao, s, out, oo, n);
            case MAX -> maxS(a, ao, s, out, oo, n);
            case MIN -> minS(a, ao, s, out, oo, n);
            default -> 0;  // comparisons: the scalar loop below
        };
        for (; i < n; i++) out[oo + i] = scalarFirst ? ScalarOps.apply(op, s, a[ao + i], 0) : ScalarOps.apply(op, a[ao + i], s, 0);
    }

    private static int addS(double[] a, int ao, double s, double[] out, int oo, int n) {
        int i = 0;
        DoubleVector sv = DoubleVector.broadcast(D, s);
        for (; i <= n - L; i += L) v(a, ao + i).add(sv).intoArray(out, oo + i);
        return i;
    }

    private static int mulS(double[] a, int ao, double s, double[] out, int oo, int n) {
        int i = 0;
        DoubleVector sv = DoubleVector.broadcast(D, s);
        for (; i <= n - L; i += L) v(a, ao + i).mul(sv).intoArray(out, oo + i);
        return i;
    }

    private static int rsubS(double[] a, int ao, double s, double[] out, int oo, int n) {
        int i = 0;
        DoubleVector sv = DoubleVector.broadcast(D, s);
        for (; i <= n - L; i += L) sv.sub(v(a, ao + i)).intoArray(out, oo + i);
        return i;
    }

    private static int rdivS(double[] a, int ao, double s, double[] out, int oo, int n) {
        int i = 0;
        DoubleVector sv = DoubleVector.broadcast(D, s);
        for (; i <= n - L; i += L) sv.div(v(a, ao + i)).intoArray(out, oo + i);
        return i;
    }

    private static int divS(double[] a, int ao, double s, double[] out, int oo, int n) {
        int i = 0;
        DoubleVector sv = DoubleVector.broadcast(D, s);
        for (; i <= n - L; i += L) v(a, ao + i).div(sv).intoArray(out, oo + i);
        return i;
    }

    private static int maxS(double[] a, int ao, double s, double[] out, int oo, int n) {
        int i = 0;
        DoubleVector sv = DoubleVector.broadcast(D, s);
        for (; i <= n - L; i += L) v(a, ao + i).max(sv).intoArray(out, oo + i);
        return i;
    }

    private static int minS(double[] a, int ao, double s, double[] out, int oo, int n) {
        int i = 0;
        DoubleVector sv = DoubleVector.broadcast(D, s);
        for (; i <= n - L; i += L) v(a, ao + i).min(sv).intoArray(out, oo + i);
        return i;
    }

    /** Σ a[o..o+n), in double. */
    static double sum(double[] a, int o, int n) {
        int i = 0;
        DoubleVector acc = DoubleVector.zero(D);
        for (; i <= n - L; i += L) acc = acc.add(v(a, o + i));
        double s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += a[o + i];
        return s;
    }

    /** The maximum (or minimum) of a[o..o+n) and {@code init}. */
    static double extremum(boolean max, double[] a, int o, int n, double init) {
        double s = max ? maxOf(a, o, n, init) : minOf(a, o, n, init);
        for (int i = n - n % L; i < n; i++) s = max ? Math.max(s, a[o + i]) : Math.min(s, a[o + i]);
        return s;
    }

    private static double maxOf(double[] a, int o, int n, double init) {
        DoubleVector acc = DoubleVector.broadcast(D, init);
        for (int i = 0; i <= n - L; i += L) acc = acc.max(v(a, o + i));
        return acc.reduceLanes(VectorOperators.MAX);
    }

    private static double minOf(double[] a, int o, int n, double init) {
        DoubleVector acc = DoubleVector.broadcast(D, init);
        for (int i = 0; i <= n - L; i += L) acc = acc.min(v(a, o + i));
        return acc.reduceLanes(VectorOperators.MIN);
    }

    /** acc[c..c+n) += a[o..o+n) (or takes the maximum / minimum). */
    static void accumulate(Program.Reduction r, double[] acc, int c, double[] a, int o, int n) {
        int i = switch (r) {
            case SUM, MEAN -> add(acc, c, a, o, acc, c, n);
            case MAX -> max(acc, c, a, o, acc, c, n);
            case MIN -> min(acc, c, a, o, acc, c, n);
        };
        for (; i < n; i++) acc[c + i] = combine(r, acc[c + i], a[o + i]);
    }

    static double combine(Program.Reduction r, double acc, double x) {
        return switch (r) {
            case SUM, MEAN -> acc + x;
            case MAX -> Math.max(acc, x);
            case MIN -> Math.min(acc, x);
        };
    }

    private static DoubleVector v(double[] a, int i) {
        return DoubleVector.fromArray(D, a, i);
    }

    private static VectorOperators.Comparison comparison(Op op) {
        return switch (op) {
            case GT -> VectorOperators.GT;
            case GTE -> VectorOperators.GE;
            case LT -> VectorOperators.LT;
            case LTE -> VectorOperators.LE;
            case EQ -> VectorOperators.EQ;
            default -> VectorOperators.NE;
        };
    }
}
