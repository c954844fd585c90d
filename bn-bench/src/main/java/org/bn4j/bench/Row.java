package org.bn4j.bench;

/** One line of the timing CSV ({@code layer,shape,engine,pass,median_ms}). */
public record Row(String layer, String shape, String engine, String pass, double medianMs) {

    public static final String HEADER = "layer,shape,engine,pass,median_ms";

    public String csv() {
        return String.join(",", layer, shape, engine, pass, String.format(java.util.Locale.ROOT, "%.6f", medianMs));
    }

    public static Row parse(String line) {
        String[] f = line.split(",");
        return new Row(f[0], f[1], f[2], f[3], Double.parseDouble(f[4]));
    }

    public long elements() {
        return Shape.parse(shape).elements();
    }

    /**
     * Bytes a pass must at least move, read + write: forward reads x and writes y (2 tensors);
     * forward+backward adds reading x and dy and writing dx (5 tensors). Parameter-sized vectors are
     * ignored. A copy reads and writes one tensor (2).
     */
    public long bytesMoved() {
        long tensor = 4 * elements();
        return ("fwdbwd".equals(pass) ? 5 : 2) * tensor;
    }

    public double gbPerS() {
        return bytesMoved() / (medianMs * 1e-3) / 1e9;
    }
}
