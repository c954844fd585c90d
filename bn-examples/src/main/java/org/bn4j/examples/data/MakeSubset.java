package org.bn4j.examples.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Makes the class-balanced Fashion-MNIST subset bundled in
 * {@code bn-examples/src/main/resources/fashion-mnist-subset/}.
 *
 * <p>Selection (deterministic, no randomness): from the training file the first
 * {@code trainPerClass} images of each class in file order (default 600, so 6,000 images), from the
 * test file the first {@code testPerClass} of each class (default 100, so 1,000). The selected images
 * keep their relative file order. Output: the four files under their original names, gzipped IDX
 * (Java's gzip writes no timestamp, so rerunning gives identical bytes).
 *
 * <p>Regenerate (from the repository root, after {@code apt-get install dataset-fashion-mnist}):
 * <pre>
 * mvn -B -q -pl bn-examples exec:java -Dexec.args="make-subset"
 * </pre>
 * or {@code java -cp ... org.bn4j.examples.data.MakeSubset [SRC_DIR [OUT_DIR [TRAIN_PER_CLASS [TEST_PER_CLASS]]]]}.
 */
public final class MakeSubset {

    public static final int DEFAULT_TRAIN_PER_CLASS = 600;
    public static final int DEFAULT_TEST_PER_CLASS = 100;
    public static final Path DEFAULT_OUT = Path.of("bn-examples", "src", "main", "resources", FashionMnist.SUBSET_RESOURCE_DIR);

    private MakeSubset() {
    }

    public static void main(String[] args) throws IOException {
        Path src = args.length > 0 ? Path.of(args[0]) : FashionMnist.SYSTEM_DIR;
        Path out = args.length > 1 ? Path.of(args[1]) : DEFAULT_OUT;
        int trainPer = args.length > 2 ? Integer.parseInt(args[2]) : DEFAULT_TRAIN_PER_CLASS;
        int testPer = args.length > 3 ? Integer.parseInt(args[3]) : DEFAULT_TEST_PER_CLASS;
        make(src, out, trainPer, testPer);
    }

    /** Writes the subset; returns the number of training and test images written. */
    public static int[] make(Path srcDir, Path outDir, int trainPerClass, int testPerClass) throws IOException {
        if (!FashionMnist.hasFiles(srcDir)) {
            throw new IOException("Fashion-MNIST not found in " + srcDir + "; install it with: " + FashionMnist.INSTALL_COMMAND);
        }
        Idx.Array[] a = new Idx.Array[4];
        for (int i = 0; i < 4; i++) {
            a[i] = Idx.read(findFile(srcDir, FashionMnist.FILES.get(i)));
        }
        Files.createDirectories(outDir);
        int nTrain = writeBalanced(a[0], a[1], trainPerClass, outDir, 0);
        int nTest = writeBalanced(a[2], a[3], testPerClass, outDir, 2);
        System.out.println("Wrote " + nTrain + " training and " + nTest + " test images (" + trainPerClass + " / "
                + testPerClass + " per class, first of each class in file order) to " + outDir.toAbsolutePath());
        return new int[] {nTrain, nTest};
    }

    private static Path findFile(Path dir, String stem) throws IOException {
        for (String name : new String[] {stem + ".gz", stem}) {
            if (Files.isRegularFile(dir.resolve(name))) {
                return dir.resolve(name);
            }
        }
        throw new IOException("missing " + stem + "(.gz) in " + dir);
    }

    private static int writeBalanced(Idx.Array images, Idx.Array labels, int perClass, Path outDir, int fileIndex)
            throws IOException {
        int n = labels.count();
        int[] taken = new int[FashionMnist.CLASSES];
        int[] sel = new int[n];
        int k = 0;
        for (int i = 0; i < n; i++) {
            int c = labels.get(i);
            if (taken[c] < perClass) {
                taken[c]++;
                sel[k++] = i;
            }
        }
        for (int c = 0; c < taken.length; c++) {
            if (taken[c] < perClass) {
                throw new IOException("class " + c + " has only " + taken[c] + " images, " + perClass + " requested");
            }
        }
        sel = Arrays.copyOf(sel, k);
        int px = FashionMnist.PIXELS;
        byte[] img = new byte[k * px];
        byte[] lab = new byte[k];
        for (int r = 0; r < k; r++) {
            System.arraycopy(images.data(), sel[r] * px, img, r * px, px);
            lab[r] = labels.data()[sel[r]];
        }
        Idx.write(outDir.resolve(FashionMnist.FILES.get(fileIndex) + ".gz"),
                new Idx.Array(new int[] {k, FashionMnist.ROWS, FashionMnist.COLS}, img));
        Idx.write(outDir.resolve(FashionMnist.FILES.get(fileIndex + 1) + ".gz"), new Idx.Array(new int[] {k}, lab));
        return k;
    }
}
