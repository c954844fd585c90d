package org.bn4j.spark;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST from its four gzipped IDX files ({@code train-images-idx3-ubyte.gz} and so on, as the Debian package
 * {@code dataset-fashion-mnist} installs them in {@code /usr/share/datasets/fashion-mnist}) as minibatches:
 * features {@code [n, 784]} scaled to [0, 1], one-hot labels {@code [n, 10]}, in file order.
 */
public final class FashionMnist {
    public static final Path DEFAULT_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    public static final int PIXELS = 28 * 28, CLASSES = 10;

    private FashionMnist() {
    }

    /**
     * The first {@code limit} examples (all when {@code limit <= 0}) of the training or test set, in batches of
     * {@code batch} (the last one smaller).
     */
    public static List<DataSet> batches(Path dir, boolean train, int limit, int batch) throws IOException {
        String prefix = train ? "train" : "t10k";
        byte[] images = read(dir.resolve(prefix + "-images-idx3-ubyte.gz"), 0x803, 3);
        byte[] labels = read(dir.resolve(prefix + "-labels-idx1-ubyte.gz"), 0x801, 1);
        int n = labels.length;
        if (images.length != n * PIXELS) {
            throw new IOException("Fashion-MNIST in " + dir + ": " + n + " labels but " + images.length / PIXELS + " images");
        }
        if (limit > 0) n = Math.min(n, limit);
        List<DataSet> out = new ArrayList<>();
        for (int start = 0; start < n; start += batch) {
            int m = Math.min(batch, n - start);
            float[] x = new float[m * PIXELS];
            for (int i = 0; i < x.length; i++) x[i] = (images[start * PIXELS + i] & 0xFF) / 255f;
            INDArray y = Nd4j.zeros(DataType.FLOAT, m, CLASSES);
            for (int i = 0; i < m; i++) y.putScalar(i, labels[start + i], 1f);
            out.add(new DataSet(Nd4j.create(x, new long[]{m, PIXELS}, 'c'), y));
        }
        return out;
    }

    /** The data of an unsigned-byte IDX file with the given magic number ({@code 0x08} type, {@code dims} sizes). */
    private static byte[] read(Path file, int magic, int dims) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("Fashion-MNIST file " + file + " not found (apt-get install dataset-fashion-mnist, or --data DIR)");
        }
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(new GZIPInputStream(Files.newInputStream(file)), 1 << 16))) {
            int m = in.readInt();
            if (m != magic) {
                throw new IOException(file + ": expected IDX magic 0x" + Integer.toHexString(magic) + ", got 0x" + Integer.toHexString(m));
            }
            int[] size = new int[dims];
            long total = 1;
            for (int i = 0; i < dims; i++) total *= size[i] = in.readInt();
            if (dims == 3 && (size[1] != 28 || size[2] != 28)) {
                throw new IOException(file + ": expected 28×28 images, got " + Arrays.toString(size));
            }
            byte[] data = new byte[Math.toIntExact(total)];
            in.readFully(data);
            return data;
        }
    }
}
