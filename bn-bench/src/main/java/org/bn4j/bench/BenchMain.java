package org.bn4j.bench;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;

/**
 * Runs the whole bench through JMH's Java API and writes the CSV, the markdown report and the plot.
 *
 * <p>Full run: JMH SampleTime, 2 forks × (2 × 1 s warm-up + 3 × 1 s measurement) per benchmark and case;
 * writes target/bench.csv, target/bench-memory.csv, target/bench-train.csv, ../docs/performance.md and
 * ../docs/performance.png (paths relative to the bn-bench folder). Quick run ({@code --quick}): no fork (every case
 * in this JVM), 1 × 0.3 s warm-up + 2 × 0.4 s measurement, two copy methods, no memory probe; writes
 * target/bench-quick*.{csv,md,png}. {@code --report-only} rewrites the markdown and plot from existing CSVs. Thread
 * settings come from the environment ({@code OMP_NUM_THREADS}) and {@code -Dbench.threads} (default 2), passed on to
 * PyTorch. Options take one dash or two ({@code -quick} or {@code --quick}); {@code --help} lists them.
 */
@Command(name = "BenchMain", mixinStandardHelpOptions = true,
        description = "bn4j's layers beside DL4J's and PyTorch's, a copy ceiling and a training step, through JMH.")
public final class BenchMain implements Callable<Integer> {

    @Option(names = {"--quick", "-quick"}, description = "every case in one JVM, short iterations, no memory probe")
    boolean quick;
    @Option(names = {"--report-only", "-report-only"}, description = "rewrite the markdown and plot from the CSVs of an earlier run")
    boolean reportOnly;
    @Option(names = {"--skip-copy", "-skip-copy"}, description = "leave out the copy ceiling")
    boolean skipCopy;
    @Option(names = {"--skip-train", "-skip-train"}, description = "leave out the training step")
    boolean skipTrain;
    @Option(names = {"--skip-norm", "-skip-norm"}, description = "leave out the normalization layers")
    boolean skipNorm;
    @Option(names = {"--include", "-include"}, paramLabel = "REGEX", description = "only cases whose id matches (layer|engine|shape, copy|copy|shape, train|net)")
    String include = ".*";
    @Option(names = {"--csv", "-csv"}, paramLabel = "FILE", description = "timing CSV (relative to bn-bench/)")
    String csv;
    @Option(names = {"--md", "-md"}, paramLabel = "FILE", description = "markdown report")
    String md;
    @Option(names = {"--png", "-png"}, paramLabel = "FILE", description = "plot")
    String png;
    @Option(names = {"--note", "-note"}, paramLabel = "TEXT", description = "a line quoted at the top of the markdown")
    String note;
    @Option(names = {"--jmh", "-jmh"}, paramLabel = "F,WI,WMS,I,IMS", description = "forks, warm-up iterations × ms, measurement iterations × ms (full: 2,2,1000,3,1000)")
    String jmhSpec;
    @Option(names = {"--list", "-list"}, description = "print the case ids")
    boolean list;
    @Option(names = {"--smoke", "-smoke"}, arity = "0..1", fallbackValue = ".*", paramLabel = "REGEX",
            description = "run each matching case three times in this JVM, no JMH")
    String smoke;
    @Option(names = {"--check", "-check"}, arity = "0..1", fallbackValue = ".*", paramLabel = "REGEX",
            description = "compare each matching case's output and input gradient with PyTorch's")
    String check;

    /** The arguments as given, for the report's command line. */
    private String[] given = new String[0];

    public static void main(String[] args) {
        BenchMain m = new BenchMain();
        m.given = args;
        int code = new CommandLine(m).execute(args);
        if (code != 0) System.exit(code);
    }

    @Override
    public Integer call() throws Exception {
        if (smoke != null) {
            smoke(smoke);
            return 0;
        }
        if (check != null) {
            check(check);
            return 0;
        }
        if (list) {
            Cases.all().forEach(c -> System.out.println(c.id()));
            Cases.nets().keySet().forEach(n -> System.out.println("train|" + n));
            return 0;
        }
        String base = quick ? "target/bench-quick" : "target/bench";
        Path csvPath = Path.of(csv != null ? csv : base + ".csv");
        String stem = csvPath.toString().replaceFirst("\\.csv$", "");
        Path memCsv = Path.of(stem + "-memory.csv");
        Path trainCsv = Path.of(stem + "-train.csv");
        Path passesCsv = Path.of(stem + "-passes.csv");
        Path mdPath = Path.of(md != null ? md : quick || csv != null ? stem + ".md" : "../docs/performance.md");
        Path pngPath = Path.of(png != null ? png : mdPath.toString().replaceFirst("\\.md$", "") + ".png");

        Path runInfo = Path.of(stem + "-run.properties");
        Jmh jmh = jmhSpec != null ? Jmh.parse(jmhSpec) : quick ? Jmh.QUICK : Jmh.FULL;
        int threads = Integer.getInteger("bench.threads", 2);
        String omp = System.getenv("OMP_NUM_THREADS");
        if (!String.valueOf(threads).equals(omp)) {
            System.err.println("WARNING: OMP_NUM_THREADS=" + omp + " but bench.threads=" + threads
                    + "; run through `mvn ... exec:exec@bench`, which sets it");
        }

        if (!reportOnly) {
            Instant start = Instant.now();
            Properties info = new Properties();
            info.setProperty("mode", quick ? "quick" : "full");
            info.setProperty("jmh", jmh.toString());
            info.setProperty("forked", Boolean.toString(jmh.forks() > 0));
            info.setProperty("threads", Integer.toString(threads));
            info.setProperty("OMP_NUM_THREADS", String.valueOf(omp));
            info.setProperty("start", start.toString());
            info.setProperty("load_start", Report.loadAvg());
            info.setProperty("include", include);
            info.setProperty("args", String.join(" ", given));
            Files.createDirectories(csvPath.toAbsolutePath().getParent());
            Path memDir = Path.of(stem + "-memory.d").toAbsolutePath();
            deleteDir(memDir);
            Pattern inc = Pattern.compile(include);
            List<Row> rows = new ArrayList<>();
            List<String> train = new ArrayList<>();

            if (!skipCopy) {
                List<String> shapes = Cases.COPY_SHAPES.stream()
                        .filter(s -> inc.matcher("copy|copy|" + s).find()).toList();
                if (!shapes.isEmpty()) {
                    String[] methods = quick ? new String[] {"nd4j_assign", "arraycopy_2t"}
                            : new String[] {"nd4j_assign", "arraycopy", "arraycopy_2t"};
                    ChainedOptionsBuilder o = options(jmh, threads, memDir, CopyBench.class).result(stem + "-jmh-copy.csv")
                            .param("shape", shapes.toArray(String[]::new))
                            .param("method", methods);
                    for (RunResult r : run(o)) {
                        rows.add(new Row(r.getParams().getParam("method"), r.getParams().getParam("shape"), "copy",
                                "fwd", median(r)));
                    }
                }
            }
            if (!skipNorm) {
                String[] ids = Cases.all().stream().map(Case::id).filter(id -> inc.matcher(id).find())
                        .toArray(String[]::new);
                if (ids.length > 0) {
                    ChainedOptionsBuilder o = options(jmh, threads, memDir, NormBench.class).param("id", ids)
                            .result(stem + "-jmh-norm.csv");
                    for (RunResult r : run(o)) {
                        Case c = Cases.get(r.getParams().getParam("id"));
                        String bm = r.getParams().getBenchmark();
                        String pass = bm.substring(bm.lastIndexOf('.') + 1);
                        rows.add(new Row(c.layer(), c.shape().toString(), c.engine(), pass, median(r)));
                    }
                }
            }
            if (!skipTrain) {
                String[] nets = Cases.nets().keySet().stream().filter(n -> inc.matcher("train|" + n).find())
                        .toArray(String[]::new);
                if (nets.length > 0) {
                    ChainedOptionsBuilder o = options(jmh, threads, null, TrainBench.class).param("net", nets)
                            .result(stem + "-jmh-train.csv");
                    for (RunResult r : run(o)) {
                        double ms = median(r);
                        train.add(String.format(Locale.ROOT, "%s,%d,%.6f,%.1f", r.getParams().getParam("net"),
                                TrainBench.BATCH, ms, TrainBench.BATCH / (ms * 1e-3)));
                    }
                }
            }

            List<String> lines = new ArrayList<>();
            lines.add(Row.HEADER);
            rows.forEach(r -> lines.add(r.csv()));
            Files.write(csvPath, lines);
            List<String> mem = new ArrayList<>();
            mem.add(Report.MEM_HEADER);
            if (Files.isDirectory(memDir)) {
                try (var s = Files.list(memDir)) {
                    s.sorted().forEach(p -> {
                        try {
                            mem.add(Files.readString(p).trim());
                        } catch (IOException e) {
                            throw new RuntimeException(e);
                        }
                    });
                }
            }
            Files.write(memCsv, mem);
            if (!train.isEmpty()) {
                List<String> t = new ArrayList<>();
                t.add(Report.TRAIN_HEADER);
                t.addAll(train);
                Files.write(trainCsv, t);
            }
            if (!skipNorm) {
                List<String> p = new ArrayList<>();
                p.add(Passes.HEADER);
                for (Case c : Cases.all()) {
                    if (!c.engine().equals("bn4j") || !Passes.planned(c.layer()) || !inc.matcher(c.id()).find()) continue;
                    double[] fb = Passes.of(c.layer(), c.shape());
                    p.add(String.format(Locale.ROOT, "%s,%s,%.1f,%.1f", c.layer(), c.shape(), fb[0], fb[1]));
                }
                Files.write(passesCsv, p);
            }
            info.setProperty("load_end", Report.loadAvg());
            info.setProperty("duration_s", Long.toString(Duration.between(start, Instant.now()).toSeconds()));
            info.putAll(Report.machine());
            try (var w = Files.newBufferedWriter(runInfo)) {
                info.store(w, "bn4j bench run");
            }
            System.out.println("wrote " + csvPath.toAbsolutePath());
        }
        Properties info = new Properties();
        if (Files.exists(runInfo)) {
            try (var r = Files.newBufferedReader(runInfo)) {
                info.load(r);
            }
        }
        Report.write(info, csvPath, memCsv, trainCsv, passesCsv, mdPath, pngPath, note);
        System.out.println("wrote " + mdPath.toAbsolutePath().normalize() + " and " + pngPath.toAbsolutePath().normalize());
        return 0;
    }

    /** Runs every matching case once per pass in this JVM, without JMH: a check that everything loads. */
    private static void smoke(String include) {
        Pattern inc = Pattern.compile(include);
        for (Case c : Cases.all()) {
            if (!inc.matcher(c.id()).find()) {
                continue;
            }
            try (Kernel k = c.create()) {
                StringBuilder sb = new StringBuilder(c.id());
                for (String pass : List.of("fwd", "fwdbwd")) {
                    long best = Long.MAX_VALUE;
                    for (int i = 0; i < 3; i++) {
                        long t0 = System.nanoTime();
                        Object o = k.run(pass);
                        best = Math.min(best, System.nanoTime() - t0);
                        if (o == null) {
                            throw new IllegalStateException(c.id() + " " + pass + " returned null");
                        }
                    }
                    sb.append(String.format(Locale.ROOT, "  %s %.3f ms", pass, best / 1e6));
                }
                System.out.println(sb);
            }
        }
    }

    /**
     * Cross-check: every matching case against PyTorch on the same input and upstream gradient (forward
     * output and input gradient, training mode); prints the largest absolute difference of each.
     */
    private static void check(String include) {
        Pattern inc = Pattern.compile(include);
        boolean ok = true;
        for (Case c : Cases.all()) {
            if (c.engine().equals("pytorch") || !inc.matcher(c.id()).find()) {
                continue;
            }
            String ref = c.layer() + "|pytorch|" + c.shape();
            if (Cases.all().stream().noneMatch(o -> o.id().equals(ref))) {
                System.out.println(c.id() + ": no PyTorch reference");
                continue;
            }
            java.util.Random rnd = new java.util.Random(7);
            int n = Math.toIntExact(c.shape().elements());
            float[] x = new float[n];
            float[] dy = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) (rnd.nextGaussian() * 2 + 0.5);
                dy[i] = (float) rnd.nextGaussian();
            }
            float[][] a;
            float[][] b;
            try (Kernel k = c.create()) {
                a = k.compute(x, dy);
            }
            try (Kernel k = Cases.get(ref).create()) {
                b = k.compute(x, dy);
            }
            double dyMax = maxAbsDiff(a[0], b[0]);
            double dxMax = maxAbsDiff(a[1], b[1]);
            double dxScale = maxAbs(b[1]);
            boolean pass = dyMax < 1e-3 && dxMax < 1e-3 * Math.max(1, dxScale);
            ok &= pass;
            System.out.printf(Locale.ROOT, "%-32s max|y - y_torch| = %.2e   max|dx - dx_torch| = %.2e (max|dx_torch| = %.2e)  %s%n",
                    c.id(), dyMax, dxMax, dxScale, pass ? "OK" : "MISMATCH");
        }
        if (!ok) {
            throw new IllegalStateException("cross-check failed");
        }
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalStateException("lengths differ: " + a.length + " vs " + b.length);
        }
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    private static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /** Median of every sampled call of all forks and measurement iterations, in milliseconds. */
    private static double median(RunResult r) {
        return r.getPrimaryResult().getStatistics().getPercentile(50.0);
    }

    private static Collection<RunResult> run(ChainedOptionsBuilder o) throws RunnerException {
        return new Runner(o.build()).run();
    }

    static ChainedOptionsBuilder options(Jmh jmh, int threads, Path memDir, Class<?> bench) {
        List<String> jvm = new ArrayList<>(List.of(
                "-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch",
                // bn4j's fused executor (the Vector API); the bn4j_unfused cases run the other path
                "--add-modules", "jdk.incubator.vector", "-Dbn4j.exec=fused",
                // ND4J's off-heap buffers are tracked by JavaCPP, whose limit defaults to -Xmx
                "-Dorg.bytedeco.javacpp.maxbytes=8g", "-Dorg.bytedeco.javacpp.maxphysicalbytes=16g",
                "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=" + threads,
                "-Dai.djl.pytorch.num_interop_threads=1", "-Dbench.threads=" + threads));
        // the executor's settings given to this JVM (-Dbench.jvm="-Dbn4j.exec....") reach the forks too
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("bn4j.exec.")).sorted()
                .forEach(k -> jvm.add("-D" + k + "=" + System.getProperty(k)));
        if (memDir != null && jmh.forks() > 0) {
            // the memory probe needs a fresh JVM per case
            jvm.add("-Dbench.memdir=" + memDir);
        }
        // JMH's own results (every percentile of every case) go to a CSV file of JMH's format beside ours
        return new OptionsBuilder()
                .resultFormat(ResultFormatType.CSV)
                .include(Pattern.quote(bench.getName()) + "\\.")
                .threads(1)
                .shouldFailOnError(true)
                .jvmArgs(jvm.toArray(String[]::new))
                .forks(jmh.forks())
                .warmupIterations(jmh.warmupIterations())
                .warmupTime(TimeValue.milliseconds(jmh.warmupMs()))
                .measurementIterations(jmh.iterations())
                .measurementTime(TimeValue.milliseconds(jmh.iterationMs()));
    }

    /** JMH run lengths: forks (0 = in this JVM), warm-up iterations × ms, measurement iterations × ms. */
    record Jmh(int forks, int warmupIterations, int warmupMs, int iterations, int iterationMs) {
        static final Jmh FULL = new Jmh(2, 2, 1000, 3, 1000);
        /** Quick: every case in this JVM (no fork start-up per case), hence no memory probe. */
        static final Jmh QUICK = new Jmh(0, 1, 300, 2, 400);

        /** {@code forks,warmupIterations,warmupMs,iterations,iterationMs}, e.g. {@code 1,2,500,3,500}. */
        static Jmh parse(String s) {
            int[] v = java.util.Arrays.stream(s.split(",")).mapToInt(Integer::parseInt).toArray();
            return new Jmh(v[0], v[1], v[2], v[3], v[4]);
        }

        @Override
        public String toString() {
            return (forks == 0 ? "no fork (all cases in one JVM)" : forks + (forks == 1 ? " fork" : " forks"))
                    + ", " + warmupIterations + " × " + warmupMs / 1000.0 + " s warm-up, " + iterations + " × "
                    + iterationMs / 1000.0 + " s measurement";
        }
    }

    private static void deleteDir(Path d) throws IOException {
        if (Files.isDirectory(d)) {
            try (var s = Files.list(d)) {
                for (Path p : s.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(d);
        }
    }
}
