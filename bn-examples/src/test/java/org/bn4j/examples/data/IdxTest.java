package org.bn4j.examples.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxTest {

    private static Idx.Array random(Random rng, int... dims) {
        int n = 1;
        for (int d : dims) {
            n *= d;
        }
        byte[] b = new byte[n];
        rng.nextBytes(b);
        return new Idx.Array(dims, b);
    }

    @Test
    void roundTripGzippedAndPlain(@TempDir Path dir) throws IOException {
        Idx.Array a = random(new Random(1), 3, 28, 28);
        for (String name : new String[] {"x-idx3-ubyte.gz", "x-idx3-ubyte"}) {
            Path p = dir.resolve(name);
            Idx.write(p, a);
            Idx.Array b = Idx.read(p);
            assertArrayEquals(a.dims(), b.dims());
            assertArrayEquals(a.data(), b.data());
        }
        // compressed file really is gzip, plain file really is plain: header 0 0 8 3, dims big endian
        byte[] gz = Files.readAllBytes(dir.resolve("x-idx3-ubyte.gz"));
        assertEquals(0x1f, gz[0] & 0xFF);
        assertEquals(0x8b, gz[1] & 0xFF);
        byte[] plain = Files.readAllBytes(dir.resolve("x-idx3-ubyte"));
        assertArrayEquals(new byte[] {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 28}, java.util.Arrays.copyOf(plain, 16));
        assertEquals(16 + 3 * 28 * 28, plain.length);
    }

    @Test
    void handWrittenLabelFile() throws IOException {
        byte[] file = {0, 0, 8, 1, 0, 0, 0, 4, 9, 0, 3, (byte) 255};
        Idx.Array a = Idx.read(new ByteArrayInputStream(file));
        assertArrayEquals(new int[] {4}, a.dims());
        assertEquals(9, a.get(0));
        assertEquals(3, a.get(2));
        assertEquals(255, a.get(3));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Idx.write(out, a);
        assertArrayEquals(file, out.toByteArray());
    }

    @Test
    void rejectsBadInput() {
        assertThrows(IOException.class, () -> Idx.read(new ByteArrayInputStream(new byte[] {1, 2, 8, 1, 0, 0, 0, 1, 0})));
        // float type code 0x0D is not supported
        assertThrows(IOException.class, () -> Idx.read(new ByteArrayInputStream(new byte[] {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0})));
        // truncated data
        assertThrows(IOException.class, () -> Idx.read(new ByteArrayInputStream(new byte[] {0, 0, 8, 1, 0, 0, 0, 5, 1, 2})));
        assertThrows(IOException.class, () -> Idx.read(new ByteArrayInputStream(new byte[0])));
        assertThrows(IllegalArgumentException.class, () -> new Idx.Array(new int[] {2, 2}, new byte[3]));
    }

    @Test
    void directoryWithPlainFilesLoads(@TempDir Path dir) throws IOException {
        Random rng = new Random(2);
        Idx.write(dir.resolve("train-images-idx3-ubyte"), random(rng, 5, 28, 28));
        Idx.write(dir.resolve("train-labels-idx1-ubyte"), new Idx.Array(new int[] {5}, new byte[] {0, 1, 2, 9, 9}));
        Idx.write(dir.resolve("t10k-images-idx3-ubyte.gz"), random(rng, 2, 28, 28));
        Idx.write(dir.resolve("t10k-labels-idx1-ubyte.gz"), new Idx.Array(new int[] {2}, new byte[] {3, 4}));
        assertTrue(FashionMnist.hasFiles(dir));
        FashionMnist d = FashionMnist.load(dir.toString(), s -> { });
        assertEquals(5, d.train().size());
        assertEquals(2, d.test().size());
        assertEquals(9, d.train().label(4));
        assertThrows(IOException.class, () -> FashionMnist.load(dir.resolve("nope").toString(), s -> { }));
        // labels outside 0..9 are rejected
        Idx.write(dir.resolve("t10k-labels-idx1-ubyte.gz"), new Idx.Array(new int[] {2}, new byte[] {3, 10}));
        assertThrows(IllegalArgumentException.class, () -> FashionMnist.fromDirectory(dir));
    }
}
