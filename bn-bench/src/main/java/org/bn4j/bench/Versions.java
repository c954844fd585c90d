package org.bn4j.bench;

import org.bn4j.exec.CompiledGraph;
import org.bn4j.layers.Catalog;

import java.io.File;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Arrays;
import java.util.Locale;

/**
 * Builds of bn-layers side by side in one JVM: each build's classes (a directory such as {@code
 * bn-layers/target/classes} of a checkout) in a class loader of its own, the same layer and shape run through each
 * build's fused executor in turn, round after round, the order reversed every other round. On a machine whose speed
 * drifts between JVMs (this project's bench machine: 20–50% at small shapes), this is the comparison of two commits
 * that the drift does not swamp: every round of every build sees the same machine.
 *
 * <p>Run by {@code bn-bench/scripts/compare-versions.sh}, which builds the commits and starts this class with a class
 * path that holds no bn4j module (so nothing of bn4j can be loaded outside the builds' loaders):
 * <pre>
 *   Versions DIR[,DIR...] [LAYER:]SHAPE[,[LAYER:]SHAPE...] [ROUNDS [CALLS]]
 * </pre>
 * LAYER is a {@link Catalog} name (default bn); ROUNDS defaults to 20, CALLS (forward+backward calls a round) to 200.
 * Prints, per case and build, the median call of each round and the median of the second half of the rounds (the first
 * half is warm-up: the JIT takes several rounds to settle), with its ratio to the first build's. Cases after the first
 * run on a JIT that the earlier ones shaped; the script gives each case a JVM of its own.
 */
public final class Versions {

    private Versions() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            throw new IllegalArgumentException("usage: Versions DIR[,DIR...] [LAYER:]SHAPE[,...] [ROUNDS [CALLS]]");
        }
        String[] dirs = args[0].split(",");
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 20, calls = args.length > 3 ? Integer.parseInt(args[3]) : 200;
        if (rounds < 2) throw new IllegalArgumentException("at least 2 rounds (the first half is warm-up), got " + rounds);
        for (String spec : args[1].split(",")) {
            String layer = spec.contains(":") ? spec.substring(0, spec.indexOf(':')) : "bn";
            String shape = spec.substring(spec.indexOf(':') + 1);
            Runnable[] builds = new Runnable[dirs.length];
            for (int v = 0; v < dirs.length; v++) builds[v] = build(dirs[v], layer, shape);
            double[][] medians = medians(builds, rounds, calls);
            double first = 0;
            for (int v = 0; v < dirs.length; v++) {
                double[] steady = Arrays.copyOfRange(medians[v], rounds / 2, rounds);
                Arrays.sort(steady);
                double m = steady[steady.length / 2];
                if (v == 0) first = m;
                StringBuilder each = new StringBuilder();
                for (double x : medians[v]) each.append(String.format(Locale.ROOT, " %.3f", x));
                System.out.printf(Locale.ROOT, "%s %s %s: %.3f ms (%.3f× the first); rounds:%s%n", layer, shape, dirs[v], m,
                        m / first, each);
            }
        }
    }

    /**
     * One build's forward+backward of a layer at a shape: the classes of {@code dir} (and the bench's) in a class loader
     * of their own, everything else shared with this JVM.
     */
    static Runnable build(String dir, String layer, String shape) throws ReflectiveOperationException, MalformedURLException {
        URL bench = Versions.class.getProtectionDomain().getCodeSource().getLocation();
        ClassLoader loader = new BuildLoader(new URL[]{dir(dir), bench}, Versions.class.getClassLoader());
        return (Runnable) loader.loadClass("org.bn4j.bench.Versions$Call").getConstructor(String.class, String.class)
                .newInstance(layer, shape);
    }

    /** Per build and round, the median time of a call in ms: the builds take turns, the order reversed every other round. */
    static double[][] medians(Runnable[] builds, int rounds, int calls) {
        double[][] medians = new double[builds.length][rounds];
        long[] times = new long[calls];
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < builds.length; i++) {
                int v = r % 2 == 0 ? i : builds.length - 1 - i;
                for (int c = 0; c < calls; c++) {
                    long t0 = System.nanoTime();
                    builds[v].run();
                    times[c] = System.nanoTime() - t0;
                }
                Arrays.sort(times);
                medians[v][r] = times[calls / 2] / 1e6;
            }
        }
        return medians;
    }

    private static URL dir(String path) throws MalformedURLException {
        File f = new File(path);
        if (!f.isDirectory()) throw new IllegalArgumentException("not a directory of classes: " + path);
        return f.toURI().toURL();
    }

    /** Loads bn4j's classes from its own build first (and the bench's with them), everything else from the parent. */
    private static final class BuildLoader extends URLClassLoader {
        BuildLoader(URL[] urls, ClassLoader parent) {
            super(urls, parent);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!name.startsWith("org.bn4j.")) return super.loadClass(name, resolve);
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) c = findClass(name);
                if (resolve) resolveClass(c);
                return c;
            }
        }
    }

    /** One build's forward+backward of a layer, through its fused executor. */
    public static final class Call implements Runnable {
        private final Dl4jLayerKernel kernel;

        public Call(String layer, String shape) {
            if (Catalog.class.getClassLoader() != Call.class.getClassLoader()) {
                throw new IllegalStateException("bn-layers was loaded outside the build's class loader: " + Catalog.class.getClassLoader());
            }
            kernel = new Dl4jLayerKernel(() -> Catalog.get(layer).create(), Shape.parse(shape), false, true);
        }

        @Override
        public void run() {
            CompiledGraph.withPath(CompiledGraph.Path.FUSED, kernel::fwdbwd);
        }
    }
}
