package org.bn4j.examples.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fashion-MNIST (Xiao, Rasul, Vollgraf 2017; MIT licence): 28×28 grey images of 10 clothing classes,
 * 60,000 training and 10,000 test images in the IDX format.
 *
 * <p>Where the data comes from ({@link #load(String, Consumer)}):
 * <ol>
 *   <li>a directory given by the user ({@code --data DIR}) holding the four IDX files
 *       (gzipped {@code .gz} or plain; see {@link #FILES});</li>
 *   <li>otherwise {@value #SYSTEM_DIR_NAME}, where the Debian package {@code dataset-fashion-mnist}
 *       installs them ({@value #INSTALL_COMMAND});</li>
 *   <li>otherwise the small subset bundled as a resource ({@value #SUBSET_RESOURCE_DIR}/, made by
 *       {@link MakeSubset}), with a message saying so and how to get the full set.</li>
 * </ol>
 *
 * <p>Preprocessing (the experiments' standard setup, docs/experiments.md): pixel values are scaled to [0,1], then
 * standardized with one scalar mean and one scalar standard deviation (population std) computed over
 * all pixels of the <em>training</em> images in use; the test images use the same two numbers.
 * Labels are one-hot [N,10]. Features are [N,784] ({@link Shape#FLAT}) or [N,1,28,28]
 * ({@link Shape#IMAGE}, NCHW).
 */
public final class FashionMnist {

    public static final String SYSTEM_DIR_NAME = "/usr/share/datasets/fashion-mnist";
    public static final Path SYSTEM_DIR = Path.of(SYSTEM_DIR_NAME);
    public static final String INSTALL_COMMAND = "sudo apt-get update && sudo apt-get install -y dataset-fashion-mnist";
    /** Classpath directory of the bundled subset. */
    public static final String SUBSET_RESOURCE_DIR = "fashion-mnist-subset";
    /** Value of {@code --data} that selects the bundled subset explicitly. */
    public static final String SUBSET_KEYWORD = "subset";

    public static final int ROWS = 28;
    public static final int COLS = 28;
    public static final int PIXELS = ROWS * COLS;
    public static final int CLASSES = 10;
    public static final List<String> CLASS_NAMES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress",
            "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    /** File names (without {@code .gz}) of train images, train labels, test images, test labels. */
    public static final List<String> FILES = List.of("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");

    /** Layout of the feature arrays. */
    public enum Shape {
        /** [N, 784] for dense networks. */
        FLAT,
        /** [N, 1, 28, 28] (NCHW) for convolutional networks. */
        IMAGE;

        long[] shape(int n) {
            return this == FLAT ? new long[] {n, PIXELS} : new long[] {n, 1, ROWS, COLS};
        }
    }

    private final Split train;
    private final Split test;
    private final String source;
    private final boolean subset;
    private final float mean;
    private final float std;

    private FashionMnist(Idx.Array trainImages, Idx.Array trainLabels, Idx.Array testImages,
                         Idx.Array testLabels, String source, boolean subset) {
        check(trainImages, trainLabels, "training");
        check(testImages, testLabels, "test");
        this.source = source;
        this.subset = subset;
        // one scalar mean/std over all training pixels scaled to [0,1]
        byte[] px = trainImages.data();
        double sum = 0;
        double sumSq = 0;
        for (byte b : px) {
            double v = (b & 0xFF) / 255.0;
            sum += v;
            sumSq += v * v;
        }
        double m = sum / px.length;
        double var = Math.max(0, sumSq / px.length - m * m);
        this.mean = (float) m;
        this.std = (float) Math.max(Math.sqrt(var), 1e-6);
        this.train = new Split("train", trainImages.data(), trainLabels.data());
        this.test = new Split("test", testImages.data(), testLabels.data());
    }

    private static void check(Idx.Array images, Idx.Array labels, String what) {
        int[] d = images.dims();
        if (d.length != 3 || d[1] != ROWS || d[2] != COLS) {
            throw new IllegalArgumentException(what + " images must be [n,28,28], got " + java.util.Arrays.toString(d));
        }
        if (labels.dims().length != 1 || labels.dims()[0] != d[0]) {
            throw new IllegalArgumentException(what + " labels must be [" + d[0] + "], got "
                    + java.util.Arrays.toString(labels.dims()));
        }
        for (byte b : labels.data()) {
            if ((b & 0xFF) >= CLASSES) {
                throw new IllegalArgumentException(what + " label out of range: " + (b & 0xFF));
            }
        }
    }

    /** Builds a data set from four IDX arrays (images [n,28,28], labels [n]). */
    public static FashionMnist of(Idx.Array trainImages, Idx.Array trainLabels, Idx.Array testImages,
                                  Idx.Array testLabels, String source, boolean subset) {
        return new FashionMnist(trainImages, trainLabels, testImages, testLabels, source, subset);
    }

    /**
     * Resolves the data source as described in the class comment.
     *
     * @param dataOption {@code null} (automatic), {@value #SUBSET_KEYWORD}, or a directory
     * @param log        receives one line saying which data is used (and how to get the full set)
     */
    public static FashionMnist load(String dataOption, Consumer<String> log) throws IOException {
        return load(dataOption, log, SYSTEM_DIR);
    }

    /** As {@link #load(String, Consumer)}, with another place for the system-wide copy (for tests). */
    static FashionMnist load(String dataOption, Consumer<String> log, Path systemDir) throws IOException {
        if (dataOption != null && dataOption.equals(SUBSET_KEYWORD)) {
            FashionMnist d = bundledSubset();
            log.accept("Data: bundled Fashion-MNIST subset (" + d.train.size() + " train / " + d.test.size()
                    + " test images), as requested by --data " + SUBSET_KEYWORD + ".");
            return d;
        }
        if (dataOption != null) {
            Path dir = Path.of(dataOption);
            if (!hasFiles(dir)) {
                throw new IOException("--data " + dir + ": expected the files " + String.join(", ", FILES)
                        + " (each .gz or plain) in that directory");
            }
            FashionMnist d = fromDirectory(dir);
            log.accept("Data: Fashion-MNIST from " + dir + " (" + d.train.size() + " train / " + d.test.size() + " test images).");
            return d;
        }
        if (hasFiles(systemDir)) {
            FashionMnist d = fromDirectory(systemDir);
            log.accept("Data: Fashion-MNIST from " + systemDir + " (" + d.train.size() + " train / " + d.test.size() + " test images).");
            return d;
        }
        FashionMnist d = bundledSubset();
        log.accept("Data: the full Fashion-MNIST set was not found in " + systemDir + ", so the bundled subset ("
                + d.train.size() + " train / " + d.test.size() + " test images) is used; results will be "
                + "noisier and lower than with the full set. To get the full set (60,000 / 10,000 images): "
                + INSTALL_COMMAND + "   (or pass --data DIR with the four IDX files).");
        return d;
    }

    /** True when all four IDX files (gzipped or plain) are in {@code dir}. */
    public static boolean hasFiles(Path dir) {
        for (String f : FILES) {
            if (locate(dir, f) == null) {
                return false;
            }
        }
        return true;
    }

    private static Path locate(Path dir, String stem) {
        for (String name : List.of(stem + ".gz", stem, stem.replace("-idx", ".idx") + ".gz", stem.replace("-idx", ".idx"))) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        return null;
    }

    /** Reads the four IDX files (gzipped or plain) from a directory. */
    public static FashionMnist fromDirectory(Path dir) throws IOException {
        Idx.Array[] a = new Idx.Array[4];
        for (int i = 0; i < 4; i++) {
            Path p = locate(dir, FILES.get(i));
            if (p == null) {
                throw new IOException("missing " + FILES.get(i) + "(.gz) in " + dir);
            }
            a[i] = Idx.read(p);
        }
        return new FashionMnist(a[0], a[1], a[2], a[3], dir.toString(), false);
    }

    /** Reads the subset bundled on the classpath under {@value #SUBSET_RESOURCE_DIR}/. */
    public static FashionMnist bundledSubset() throws IOException {
        Idx.Array[] a = new Idx.Array[4];
        for (int i = 0; i < 4; i++) {
            String res = "/" + SUBSET_RESOURCE_DIR + "/" + FILES.get(i) + ".gz";
            try (InputStream in = FashionMnist.class.getResourceAsStream(res)) {
                if (in == null) {
                    throw new IOException("resource " + res + " not found on the classpath");
                }
                a[i] = Idx.read(in);
            }
        }
        return new FashionMnist(a[0], a[1], a[2], a[3], "bundled class-balanced subset (classpath:" + SUBSET_RESOURCE_DIR + ")", true);
    }

    /**
     * The first {@code maxTrain} training and {@code maxTest} test images (file order); mean and std
     * are recomputed from the retained training images.
     */
    public FashionMnist limit(int maxTrain, int maxTest) {
        if (maxTrain >= train.size() && maxTest >= test.size()) {
            return this;
        }
        int nTr = Math.min(maxTrain, train.size());
        int nTe = Math.min(maxTest, test.size());
        return new FashionMnist(
                new Idx.Array(new int[] {nTr, ROWS, COLS}, java.util.Arrays.copyOf(train.pixels, nTr * PIXELS)),
                new Idx.Array(new int[] {nTr}, java.util.Arrays.copyOf(train.labels, nTr)),
                new Idx.Array(new int[] {nTe, ROWS, COLS}, java.util.Arrays.copyOf(test.pixels, nTe * PIXELS)),
                new Idx.Array(new int[] {nTe}, java.util.Arrays.copyOf(test.labels, nTe)),
                source + ", first " + nTr + " train / " + nTe + " test", subset);
    }

    public Split train() {
        return train;
    }

    public Split test() {
        return test;
    }

    /** Human-readable description of where the data came from. */
    public String source() {
        return source;
    }

    /** True when this is the bundled subset rather than the full set. */
    public boolean isSubset() {
        return subset;
    }

    /** Mean of the training pixels scaled to [0,1] (subtracted from every pixel). */
    public float mean() {
        return mean;
    }

    /** Population std of the training pixels scaled to [0,1] (every pixel is divided by it). */
    public float std() {
        return std;
    }

    /** One half of the data (training or test), standardized with the training statistics. */
    public final class Split {
        private final String name;
        private final byte[] pixels;
        private final byte[] labels;
        private float[] standardized;

        private Split(String name, byte[] pixels, byte[] labels) {
            this.name = name;
            this.pixels = pixels;
            this.labels = labels;
        }

        public String name() {
            return name;
        }

        public int size() {
            return labels.length;
        }

        public int label(int i) {
            return labels[i] & 0xFF;
        }

        /** Number of images of each class. */
        public int[] classCounts() {
            int[] c = new int[CLASSES];
            for (byte b : labels) {
                c[b & 0xFF]++;
            }
            return c;
        }

        /** Raw pixel bytes [n*784] (not a copy). */
        public byte[] rawPixels() {
            return pixels;
        }

        /** Standardized pixels [n*784], computed once. */
        public synchronized float[] standardized() {
            if (standardized == null) {
                float[] s = new float[pixels.length];
                float inv = 1f / (255f * std);
                float off = mean / std;
                for (int i = 0; i < s.length; i++) {
                    s[i] = (pixels[i] & 0xFF) * inv - off;
                }
                standardized = s;
            }
            return standardized;
        }

        /** All images as one DataSet. */
        public DataSet all(Shape shape) {
            int[] idx = new int[size()];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = i;
            }
            return batch(idx, shape);
        }

        /** The images with the given indices, in that order. */
        public DataSet batch(int[] indices, Shape shape) {
            float[] src = standardized();
            int n = indices.length;
            float[] x = new float[n * PIXELS];
            float[] y = new float[n * CLASSES];
            for (int r = 0; r < n; r++) {
                int i = indices[r];
                System.arraycopy(src, i * PIXELS, x, r * PIXELS, PIXELS);
                y[r * CLASSES + label(i)] = 1f;
            }
            INDArray features = Nd4j.create(x, shape.shape(n), 'c');
            INDArray oneHot = Nd4j.create(y, new long[] {n, CLASSES}, 'c');
            return new DataSet(features, oneHot);
        }

        /** A batch of {@code size} distinct images drawn uniformly at random. */
        public DataSet randomBatch(Random rng, int size, Shape shape) {
            if (size > size()) {
                throw new IllegalArgumentException("batch " + size + " larger than the " + name + " set (" + size() + ")");
            }
            // partial Fisher–Yates over a fresh index array: O(n) memory, O(size) swaps
            int[] perm = new int[size()];
            for (int i = 0; i < perm.length; i++) {
                perm[i] = i;
            }
            int[] out = new int[size];
            for (int k = 0; k < size; k++) {
                int j = k + rng.nextInt(perm.length - k);
                int t = perm[k];
                perm[k] = perm[j];
                perm[j] = t;
                out[k] = perm[k];
            }
            return batch(out, shape);
        }

        /**
         * Shuffled minibatches; every {@code reset()} (each epoch) reshuffles with a generator seeded
         * once from {@code seed}, so the batch order is reproducible. An incomplete last batch is
         * dropped when {@code dropLast} (batch-norm layers cannot train on a batch of one).
         */
        public ShuffledBatchIterator iterator(int batchSize, long seed, Shape shape, boolean dropLast) {
            return new ShuffledBatchIterator(this, batchSize, new Random(seed), shape, dropLast);
        }
    }
}
