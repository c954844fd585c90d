package org.bn4j.exec;

import org.bn4j.exec.FusedExecutor.Operand;
import org.bn4j.exec.FusedExecutor.Phase;
import org.bn4j.exec.FusedExecutor.Source;
import org.bn4j.exec.FusedExecutor.TileOp;
import org.bn4j.exec.Program.Kind;
import org.bn4j.exec.Program.Node;
import org.bn4j.exec.Program.Op;
import org.bn4j.exec.Program.Reduction;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.FileObject;
import javax.tools.ForwardingJavaFileManager;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileManager;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Compiles the tile loop of a kernel's phase into Java code: one loop over the tile's rows and, within a row, over
 * vectors of columns with the Vector API, every value of the phase held in registers: the loads, the ops, the stores
 * and the reductions of one vector happen together, so a phase costs one read of its inputs and one write of what it
 * stores, with no intermediate tiles. The code is Java source compiled in memory by the JDK's compiler
 * ({@code javax.tools}), once per distinct loop (loops are keyed by their text, which holds no shape), and loaded in a
 * class loader of its own; it refers to JDK classes only.
 *
 * <p>A phase is compiled when every value it loads, computes or stores is of one type, float32 or float64 (its
 * arithmetic is then that type's, op by op, as ND4J's kernels compute; comparisons give 0 or 1 in that type; float32
 * sums and means accumulate in float64, float32 vectors having as many lanes as float64 ones); other phases, and
 * every phase when the JDK has no compiler ({@code ToolProvider.getSystemJavaCompiler()} is null, said once at INFO)
 * or {@code -Dbn4j.exec.codegen=false}, run on {@link FusedExecutor}'s tile interpreter. Generated code that does not
 * compile is a planning failure: the graph falls back to the unfused executor like any graph the fused one cannot plan
 * (a warning; an error in strict mode). Vector constants are made where they are used, never kept in static fields
 * (a vector read from a field stays boxed in a loop, which made the first version about twice as slow). Loop tails
 * use masked loads and stores, which JDK 17 does not compile into vector instructions: rows whose length is not a
 * multiple of the vector length pay for it.
 *
 * <p>Every float32 loop takes the one float32 species {@link VectorOps} takes too (as many lanes as the widest float64
 * vector, half its width), also in loops that do not reduce, where the widest float32 vector would do: the Vector
 * API's methods ({@code FloatVector.mul}, {@code intoByteBuffer}, …) are shared by every shape, and C2 chooses
 * their implementation by the type profile it gathered for them in the whole process (the vectors a load returns are
 * not known exactly when the call is parsed). With two float32 shapes in use that profile holds both; the call is
 * then compiled for both, the vector's species is no longer a constant, and the store intrinsic fails: the store runs
 * its Java fallback lane by lane, with a boxed vector. Which loops it hit depended on the order things were compiled
 * in, so times varied from one JVM to the next (docs/performance-profile.md, "One float32 vector shape").
 *
 * <p>The compiled methods ({@code t0}, {@code t1}, … of a generated class, one per loop) are
 * {@code static void (long[] rows, int nr, long c, int w, long cols, ByteBuffer[] mem, long[] base, Object[] small,
 * long[][] smallRowOff, double[][] red, long[][] redRowOff)}: for each of the {@code nr} rows, the
 * columns [c, c + w) of the row; {@code mem} and {@code base} the memory operands (loads, then stores) and their
 * element offsets, {@code small} the small operands (as {@code float[]} or {@code double[]} like the phase's type)
 * with their offsets per row, {@code red} the reductions' accumulators with their offsets per row.
 */
final class TileCompiler {
    private static final Logger log = LoggerFactory.getLogger(TileCompiler.class);
    private static final MethodType TYPE = MethodType.methodType(void.class, long[].class, int.class, long.class, int.class,
            long.class, ByteBuffer[].class, long[].class, Object[].class, long[][].class, double[][].class, long[][].class);
    private static final Map<String, MethodHandle> CACHE = new HashMap<>();
    private static JavaCompiler compiler;
    /** The compiler's file manager, opened once and shared by the compilations (which {@link #compile} serializes). */
    private static StandardJavaFileManager files;
    private static boolean unavailable;
    private static int classes;

    private TileCompiler() {
    }

    /** True unless {@code -Dbn4j.exec.codegen=false} (read at each plan). */
    static boolean enabled() {
        return !"false".equals(System.getProperty("bn4j.exec.codegen"));
    }

    /** The element type of a phase's compiled code, or null if it has values of more than one type (interpreted). */
    static DataType typeOf(Phase ph) {
        DataType t = null;
        for (TileOp op : ph.ops) {
            if (op.node.kind != Kind.REDUCE && !isTest(op.node)) t = same(t, op.node.dataType);
            for (Operand o : op.in) if (o.source == Source.MEMORY) t = same(t, o.node.root().dataType);
        }
        for (Operand o : ph.loads) t = same(t, o.node.root().dataType);
        return t == DataType.FLOAT || t == DataType.DOUBLE ? t : null;
    }

    /** A comparison's boolean result: 0 or 1, which the loop holds in the phase's type. */
    private static boolean isTest(Node n) {
        return n.dataType == DataType.BOOL && (n.op == Op.STEP || n.op.ordinal() >= Op.GT.ordinal());
    }

    private static DataType same(DataType t, DataType u) {
        return t == null || t == u ? u : DataType.UNKNOWN;
    }

    /**
     * A phase's compiled loop and what its arguments are: the memory operands (loaded values by their root, then
     * stored values), the small operands and the reductions, each in the order of the method's arrays.
     */
    record Loop(MethodHandle handle, boolean f32, List<Node> memory, List<Operand> small, List<Node> reductions) {
    }

    /** Compiles the phases not compiled yet (one class for all); the loop of each phase, null for those left out. */
    static synchronized Loop[] compile(List<Phase> phases) {
        Loop[] out = new Loop[phases.size()];
        if (!enabled() || javac() == null) return out;
        Set<String> todo = new LinkedHashSet<>();
        Writer[] writers = new Writer[phases.size()];
        String[] bodies = new String[phases.size()];
        for (int i = 0; i < phases.size(); i++) {
            DataType t = typeOf(phases.get(i));
            if (t == null) continue;
            writers[i] = new Writer(phases.get(i), t);
            bodies[i] = writers[i].body();
            if (!CACHE.containsKey(bodies[i])) todo.add(bodies[i]);
        }
        if (!todo.isEmpty()) {
            String name = "Bn4jTiles" + (classes++);
            StringBuilder src = new StringBuilder("import jdk.incubator.vector.*;\nimport java.nio.*;\n\npublic final class ")
                    .append(name).append(" {\n").append(Writer.CONSTANTS);
            List<String> keys = new ArrayList<>(todo);
            for (int m = 0; m < keys.size(); m++) {
                src.append("  public static void t").append(m).append(Writer.SIGNATURE).append(keys.get(m)).append("  }\n");
            }
            src.append("}\n");
            Class<?> c = define(name, src.toString());
            try {
                MethodHandles.Lookup lookup = MethodHandles.publicLookup();
                for (int m = 0; m < keys.size(); m++) {
                    CACHE.put(keys.get(m), lookup.findStatic(c, "t" + m, TYPE));
                }
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        for (int i = 0; i < out.length; i++) {
            Writer w = writers[i];
            if (w == null) continue;
            out[i] = new Loop(CACHE.get(bodies[i]), w.f32, List.copyOf(w.memIndex.keySet()), List.copyOf(w.smallOperands),
                    List.copyOf(w.reductions));
        }
        return out;
    }

    private static JavaCompiler javac() {
        if (compiler == null && !unavailable) {
            compiler = ToolProvider.getSystemJavaCompiler();
            if (compiler != null) files = compiler.getStandardFileManager(null, Locale.ROOT, StandardCharsets.UTF_8);
            if (compiler == null) {
                unavailable = true;
                log.info("bn4j: this Java runtime has no compiler (javax.tools); the fused executor interprets its kernels,"
                        + " which is slower. Run on a JDK to compile them.");
            }
        }
        return compiler;
    }

    /** Compiles one source file in memory and defines its class in a class loader of its own. */
    private static Class<?> define(String name, String source) {
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        Map<String, ByteArrayOutputStream> classFiles = new HashMap<>();
        JavaFileManager fm = new ForwardingJavaFileManager<>(files) {
            @Override
            public JavaFileObject getJavaFileForOutput(Location location, String className, JavaFileObject.Kind kind,
                                                       FileObject sibling) {
                return new SimpleJavaFileObject(URI.create("mem:///" + className + ".class"), kind) {
                    @Override
                    public OutputStream openOutputStream() {
                        return classFiles.computeIfAbsent(className, k -> new ByteArrayOutputStream());
                    }
                };
            }
        };
        JavaFileObject file = new SimpleJavaFileObject(URI.create("mem:///" + name + ".java"), JavaFileObject.Kind.SOURCE) {
            @Override
            public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                return source;
            }
        };
        List<String> options = List.of("--add-modules", "jdk.incubator.vector", "-classpath", "", "-proc:none",
                "-g:none", "-nowarn", "-Xlint:none");
        boolean ok = javac().getTask(null, fm, diagnostics, options, null, List.of(file)).call();
        if (!ok) {
            StringBuilder msg = new StringBuilder("bn4j: generated tile code did not compile:");
            for (Diagnostic<?> d : diagnostics.getDiagnostics()) {
                if (d.getKind() == Diagnostic.Kind.ERROR) msg.append('\n').append(d.getMessage(Locale.ROOT)).append(" at line ").append(d.getLineNumber());
            }
            throw new UnsupportedGraphException(msg + "\n" + source);
        }
        byte[] bytes = classFiles.get(name).toByteArray();
        return new ClassLoader(TileCompiler.class.getClassLoader()) {
            Class<?> define() {
                return defineClass(name, bytes, 0, bytes.length);
            }
        }.define();
    }

    /** Writes the body of one phase's tile method. */
    private static final class Writer {
        static final String SIGNATURE = "(long[] rows, int nr, long c, int w, long cols, ByteBuffer[] mem, long[] base,"
                + " Object[] small, long[][] so, double[][] red, long[][] ro) {\n";
        static final String CONSTANTS = """
                  static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
                  static final VectorSpecies<Float> F = VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));
                  static final int FL = F.length(), DL = D.length();
                  static final ByteOrder NO = ByteOrder.nativeOrder();
                  // the last n < lanes elements of a row: JDK 17 stores a partly masked vector lane by lane (into a buffer
                  // through a duplicate of it for each lane), so they go through a small array
                  static void tail(FloatVector v, ByteBuffer m, int at, int n, float[] t) {
                    v.intoArray(t, 0);
                    for (int i = 0; i < n; i++) m.putFloat(at + 4 * i, t[i]);
                  }
                  static void tail(DoubleVector v, ByteBuffer m, int at, int n, double[] t) {
                    v.intoArray(t, 0);
                    for (int i = 0; i < n; i++) m.putDouble(at + 8 * i, t[i]);
                  }
                  // the last n elements of a small operand's row, the other lanes 0 (a masked load past the array's end
                  // checks lane by lane in JDK 17)
                  static FloatVector tail(VectorSpecies<Float> s, float[] a, int at, int n, float[] t) {
                    for (int i = 0; i < n; i++) t[i] = a[at + i];
                    return FloatVector.fromArray(s, t, 0);
                  }
                  static DoubleVector tail(VectorSpecies<Double> s, double[] a, int at, int n, double[] t) {
                    for (int i = 0; i < n; i++) t[i] = a[at + i];
                    return DoubleVector.fromArray(s, t, 0);
                  }
                  /** r[z + i] combined with lane i of v (op 0 sum, 1 max, 2 min), for i < n. */
                  static void tail(double[] r, int z, DoubleVector v, int n, int op, double[] t) {
                    v.intoArray(t, 0);
                    for (int i = 0; i < n; i++) r[z + i] = op == 0 ? r[z + i] + t[i] : op == 1 ? Math.max(r[z + i], t[i]) : Math.min(r[z + i], t[i]);
                  }
                """;

        final Phase ph;
        final boolean f32;
        /** V: the vector class; S: its species; Z, ONE, MONE: constants; B: bytes per element. */
        final String V, S, Z, ONE, MONE, E;
        final int bytes;
        final Map<Node, Integer> memIndex = new LinkedHashMap<>();
        final Map<Node, Integer> smallIndex = new LinkedHashMap<>();
        final List<Operand> smallOperands = new ArrayList<>();
        final List<Node> reductions = new ArrayList<>();
        final StringBuilder sb = new StringBuilder();

        Writer(Phase ph, DataType t) {
            this.ph = ph;
            f32 = t == DataType.FLOAT;
            V = f32 ? "FloatVector" : "DoubleVector";
            // float32 loops take as many lanes as float64 ones, whether they reduce or not: see the class comment
            S = f32 ? "F" : "D";
            // made where they are used: a vector held in a static field would stay boxed in the loops
            Z = V + ".zero(" + S + ")";
            ONE = V + ".broadcast(" + S + ", 1)";
            MONE = V + ".broadcast(" + S + ", -1)";
            E = f32 ? "float" : "double";
            bytes = f32 ? 4 : 8;
            for (Operand o : ph.loads) memIndex.putIfAbsent(o.node.root(), memIndex.size());
            for (TileOp op : ph.ops) {
                if (op.store) memIndex.putIfAbsent(op.node, memIndex.size());
                if (op.node.kind == Kind.REDUCE) reductions.add(op.node);
                for (Operand o : op.in) {
                    if (o.source == Source.SMALL && !smallIndex.containsKey(o.node)) {
                        smallIndex.put(o.node, smallIndex.size());
                        smallOperands.add(o);
                    }
                }
            }
        }

        String body() {
            line(2, "int up = " + S + ".loopBound(w);");
            for (Map.Entry<Node, Integer> m : memIndex.entrySet()) line(2, "ByteBuffer m%d = mem[%d];", m.getValue(), m.getValue());
            for (Map.Entry<Node, Integer> s : smallIndex.entrySet()) {
                line(2, "%s[] s%d = (%s[]) small[%d]; long[] so%d = so[%d];", E, s.getValue(), E, s.getValue(), s.getValue(), s.getValue());
            }
            for (int j = 0; j < reductions.size(); j++) line(2, "double[] r%d = red[%d]; long[] ro%d = ro[%d];", j, j, j, j);
            // the tail's mask and arrays, the same for every row
            line(2, "VectorMask<%s> mk = %s.indexInRange(up, w);", f32 ? "Float" : "Double", S);
            line(2, "%s[] tv = new %s[%s.length()], tl = new %s[%s.length()]; double[] td = new double[DL];", E, E, S, E, S);
            line(2, "for (int i = 0; i < nr; i++) {");
            line(3, "long row = rows[i];");
            for (int k = 0; k < memIndex.size(); k++) line(3, "int e%d = (int) ((base[%d] + row * cols + c) * %d);", k, k, bytes);
            for (Map.Entry<Node, Integer> s : smallIndex.entrySet()) {
                int k = s.getValue();
                if (scalarPerRow(s.getKey())) line(3, "%s b%d = %s.broadcast(%s, s%d[(int) so%d[(int) row]]);", V, k, V, S, k, k);
                else line(3, "int a%d = (int) (so%d[(int) row] + c);", k, k);
            }
            for (int j = 0; j < reductions.size(); j++) {
                Node r = reductions.get(j);
                line(3, "int q%d = (int) ro%d[(int) row];", j, j);
                if (!lastReduced(r)) continue;
                if (sum(r)) {
                    line(3, "DoubleVector ra%d = DoubleVector.zero(D);", j);
                } else {
                    line(3, "%s ra%d = %s.broadcast(%s, %s.%s_INFINITY);", V, j, V, S, f32 ? "Float" : "Double",
                            r.reduction == Reduction.MAX ? "NEGATIVE" : "POSITIVE");
                }
            }
            line(3, "int j = 0;");
            line(3, "for (; j < up; j += %sL) {", S);
            vectorBody(false);
            line(3, "}");
            line(3, "if (j < w) {");
            vectorBody(true);
            line(3, "}");
            for (int j = 0; j < reductions.size(); j++) {
                Node r = reductions.get(j);
                if (!lastReduced(r)) continue;
                if (sum(r)) line(3, "r%d[q%d] += ra%d.reduceLanes(VectorOperators.ADD);", j, j, j);
                else line(3, "r%d[q%d] = Math.%s(r%d[q%d], ra%d.reduceLanes(VectorOperators.%s));", j, j, minMax(r), j, j, j, minMax(r).toUpperCase(Locale.ROOT));
            }
            line(2, "}");
            return sb.toString();
        }

        private void vectorBody(boolean masked) {
            String mk = masked ? ", mk" : "";
            int in = 4;
            for (Operand o : ph.loads) {
                int k = memIndex.get(o.node.root());
                line(in, "%s l%d = %s.fromByteBuffer(%s, m%d, e%d + j * %d, NO%s);", V, o.node.id, V, S, k, k, bytes, mk);
            }
            for (Map.Entry<Node, Integer> s : smallIndex.entrySet()) {
                int k = s.getValue();
                if (scalarPerRow(s.getKey())) continue;
                if (masked) line(in, "%s b%d = tail(%s, s%d, a%d + j, w - j, tl);", V, k, S, k, k);
                else line(in, "%s b%d = %s.fromArray(%s, s%d, a%d + j);", V, k, V, S, k, k);
            }
            for (TileOp op : ph.ops) {
                Node n = op.node;
                if (n.kind == Kind.REDUCE) {
                    reduce(in, reductions.indexOf(n), operand(op.in[0]), masked);
                    continue;
                }
                String a = operand(op.in[0]), b = op.in.length > 1 ? operand(op.in[1]) : null;
                line(in, "%s v%d = %s;", V, n.id, expression(n, a, b));
                if (op.store) {
                    int k = memIndex.get(n);
                    if (masked) line(in, "tail(v%d, m%d, e%d + j * %d, w - j, tv);", n.id, k, k, bytes);
                    else line(in, "v%d.intoByteBuffer(m%d, e%d + j * %d, NO);", n.id, k, k, bytes);
                }
            }
        }

        private void reduce(int in, int j, String x, boolean masked) {
            Node r = reductions.get(j);
            if (lastReduced(r)) {
                if (sum(r)) {
                    String v = masked ? Z + ".blend(" + x + ", mk)" : x;
                    line(in, "ra%d = ra%d.add(%s);", j, j, widened(v));
                } else {
                    line(in, "ra%d = ra%d.lanewise(VectorOperators.%s, %s%s);", j, j, minMax(r).toUpperCase(Locale.ROOT), x, masked ? ", mk" : "");
                }
                return;
            }
            // a reduction over other axes than the last: the accumulators of the row's columns
            String combine = sum(r) ? "add" : minMax(r);
            if (masked) {
                line(in, "tail(r%d, q%d + (int) c + j, %s, w - j, %d, td);", j, j, widened(x), sum(r) ? 0 : r.reduction == Reduction.MAX ? 1 : 2);
            } else {
                line(in, "{ int z = q%d + (int) c + j; DoubleVector.fromArray(D, r%d, z).%s(%s).intoArray(r%d, z); }",
                        j, j, combine, widened(x), j);
            }
        }

        /** A vector of the phase's type as float64 (float32 vectors have as many lanes as float64 ones). */
        private String widened(String x) {
            return f32 ? "((DoubleVector) " + x + ".convertShape(VectorOperators.F2D, D, 0))" : x;
        }

        private String operand(Operand o) {
            return switch (o.source) {
                case TILE -> "v" + o.node.id;
                case MEMORY -> "l" + o.node.id;
                case SMALL -> "b" + smallIndex.get(o.node);
            };
        }

        private String expression(Node n, String a, String b) {
            String lit = literal(n.param);
            return switch (n.op) {
                case IDENTITY -> a;
                case NEG -> a + ".neg()";
                case ABS -> a + ".abs()";
                case SQRT -> a + ".sqrt()";
                case RSQRT -> ONE + ".div(" + a + ".sqrt())";
                case SIGN -> a + ".blend(" + ONE + ", " + a + ".compare(VectorOperators.GT, 0)).blend(" + MONE + ", "
                        + a + ".compare(VectorOperators.LT, 0))";
                case LOG -> a + ".lanewise(VectorOperators.LOG)";
                case EXP -> a + ".lanewise(VectorOperators.EXP)";
                case SQUARE -> a + ".mul(" + a + ")";
                case RECIPROCAL -> ONE + ".div(" + a + ")";
                case STEP -> Z + ".blend(" + ONE + ", " + a + ".compare(VectorOperators." + stepTest(n.param) + "))";
                case POW -> a + ".lanewise(VectorOperators.POW, " + lit + ")";
                case ADD -> a + ".add(" + b + ")";
                case SUB -> a + ".sub(" + b + ")";
                case MUL -> a + ".mul(" + b + ")";
                case DIV -> a + ".div(" + b + ")";
                case MAX -> a + ".max(" + b + ")";
                case MIN -> a + ".min(" + b + ")";
                case GT, GTE, LT, LTE, EQ, NEQ -> Z + ".blend(" + ONE + ", " + a + ".compare(VectorOperators."
                        + comparison(n.op) + ", " + b + "))";
            };
        }

        /**
         * {@code x > p} for x of the phase's type and p a double: in float32, the test of x against p rounded to float32
         * that gives the same answer for every float32 x (p rounded up: x ≥ it; rounded down or exact: x > it).
         */
        private String stepTest(double p) {
            if (!f32 || (double) (float) p <= p) return "GT, " + literal(p);
            return "GE, " + literal(p);
        }

        private String literal(double p) {
            if (f32) return "Float.intBitsToFloat(0x" + Integer.toHexString(Float.floatToRawIntBits((float) p)) + ")";
            return "Double.longBitsToDouble(0x" + Long.toHexString(Double.doubleToRawLongBits(p)) + "L)";
        }

        private static String comparison(Op op) {
            return switch (op) {
                case GT -> "GT";
                case GTE -> "GE";
                case LT -> "LT";
                case LTE -> "LE";
                case EQ -> "EQ";
                case NEQ -> "NE";
                default -> throw new IllegalArgumentException(op.name());
            };
        }

        private static boolean scalarPerRow(Node small) {
            return small.shape.length == 0 || small.shape[small.shape.length - 1] == 1;
        }

        private static boolean lastReduced(Node r) {
            return r.axes.length == 0 || r.axes[r.axes.length - 1];
        }

        private static boolean sum(Node r) {
            return r.reduction == Reduction.SUM || r.reduction == Reduction.MEAN;
        }

        private static String minMax(Node r) {
            return r.reduction == Reduction.MAX ? "max" : "min";
        }

        private void line(int indent, String format, Object... args) {
            sb.append("  ".repeat(indent)).append(args.length == 0 ? format : String.format(Locale.ROOT, format, args)).append('\n');
        }
    }
}
