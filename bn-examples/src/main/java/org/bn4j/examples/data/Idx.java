package org.bn4j.examples.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Reader and writer for the IDX format of (Fashion-)MNIST, unsigned-byte data only.
 *
 * <p>Layout (big endian): two zero bytes, the type code {@code 0x08} (unsigned byte), the number of
 * dimensions d, then d 32-bit sizes, then the data in row-major order. Images are
 * {@code idx3} ([n, 28, 28]), labels {@code idx1} ([n]).
 *
 * <p>Input may be gzip-compressed; this is detected from the first two bytes (not the file name).
 * Output is gzip-compressed when the file name ends in {@code .gz}.
 */
public final class Idx {

    /** Type code of unsigned bytes, the only type Fashion-MNIST uses. */
    public static final int UBYTE = 0x08;

    private Idx() {
    }

    /** An IDX array: its dimensions and its row-major unsigned-byte data. */
    public record Array(int[] dims, byte[] data) {
        public Array {
            long n = 1;
            for (int d : dims) {
                if (d < 0) {
                    throw new IllegalArgumentException("negative dimension in " + Arrays.toString(dims));
                }
                n *= d;
            }
            if (n != data.length) {
                throw new IllegalArgumentException("dims " + Arrays.toString(dims) + " need " + n
                        + " bytes, got " + data.length);
            }
        }

        /** Size of the first dimension (number of items). */
        public int count() {
            return dims.length == 0 ? 1 : dims[0];
        }

        /** Value at a flat index as an int in [0, 255]. */
        public int get(int flatIndex) {
            return data[flatIndex] & 0xFF;
        }
    }

    /** Reads an IDX file, gzipped or plain. */
    public static Array read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in);
        } catch (IOException | IllegalArgumentException e) {
            throw new IOException("cannot read IDX file " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads an IDX array from a stream, gzipped or plain (the stream is not closed). */
    public static Array read(InputStream raw) throws IOException {
        BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
        in.mark(2);
        int b0 = in.read();
        int b1 = in.read();
        in.reset();
        InputStream src = (b0 == 0x1f && b1 == 0x8b) ? new GZIPInputStream(in, 1 << 16) : in;
        DataInputStream d = new DataInputStream(src);
        int magic;
        try {
            magic = d.readInt();
        } catch (EOFException e) {
            throw new IOException("empty or truncated IDX data");
        }
        if ((magic >>> 16) != 0) {
            throw new IOException(String.format("not IDX data (magic 0x%08x)", magic));
        }
        int type = (magic >>> 8) & 0xFF;
        int nDims = magic & 0xFF;
        if (type != UBYTE) {
            throw new IOException(String.format("IDX type 0x%02x not supported (only unsigned byte, 0x08)", type));
        }
        int[] dims = new int[nDims];
        long n = 1;
        for (int i = 0; i < nDims; i++) {
            dims[i] = d.readInt();
            if (dims[i] < 0) {
                throw new IOException("negative IDX dimension " + dims[i]);
            }
            n *= dims[i];
        }
        if (n > Integer.MAX_VALUE - 16) {
            throw new IOException("IDX array too large: " + n + " elements");
        }
        byte[] data = new byte[(int) n];
        try {
            d.readFully(data);
        } catch (EOFException e) {
            throw new IOException("truncated IDX data: expected " + n + " bytes for dims " + Arrays.toString(dims));
        }
        return new Array(dims, data);
    }

    /** Writes an unsigned-byte IDX file, gzip-compressed when the name ends in {@code .gz}. */
    public static void write(Path file, Array array) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try (OutputStream out = Files.newOutputStream(file)) {
            if (file.getFileName().toString().endsWith(".gz")) {
                // GZIPOutputStream writes no timestamp, so the bytes are reproducible
                try (GZIPOutputStream gz = new GZIPOutputStream(out, 1 << 16)) {
                    write(gz, array);
                }
            } else {
                write(out, array);
            }
        }
    }

    /** Writes an unsigned-byte IDX array (uncompressed) to a stream (flushed, not closed). */
    public static void write(OutputStream raw, Array array) throws IOException {
        DataOutputStream d = new DataOutputStream(new BufferedOutputStream(raw, 1 << 16));
        d.writeInt((UBYTE << 8) | array.dims().length);
        for (int dim : array.dims()) {
            d.writeInt(dim);
        }
        d.write(array.data());
        d.flush();
    }
}
