package org.bn4j.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Peak resident memory of this process on Linux: {@code VmHWM} / {@code VmRSS} from
 * {@code /proc/self/status}; writing 5 to {@code /proc/self/clear_refs} resets the high-water mark to the
 * current resident size. This counts everything resident (ND4J's and PyTorch's native buffers, the Java
 * heap, touched code pages), so the bench pre-touches the Java heap and warms code up first.
 */
public final class PeakRss {

    private PeakRss() {
    }

    public static boolean available() {
        return Files.isWritable(Path.of("/proc/self/clear_refs")) && status("VmHWM") >= 0;
    }

    /** Resets the high-water mark; returns false if the kernel refused. */
    public static boolean reset() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5", StandardCharsets.US_ASCII,
                    StandardOpenOption.WRITE);
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    public static long rssBytes() {
        return status("VmRSS");
    }

    public static long hwmBytes() {
        return status("VmHWM");
    }

    private static long status(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key + ":")) {
                    String v = line.substring(key.length() + 1).trim();
                    return Long.parseLong(v.split("\\s+")[0]) * 1024L;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return -1;
    }
}
