package org.bn4j.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Peak memory of one call: with the kernel's inputs, parameters and upstream gradient allocated, and a
 * tiny kernel of the same layer and layout run once (code pages, thread pools and one-time caches in
 * place), the resident-set high-water mark is reset and one call of the pass is run on the real input;
 * the result is {@code VmHWM - VmRSS(before)}, i.e. the extra resident memory the call needed at its
 * peak (its outputs, temporaries and caches it keeps). Runs in a fresh JVM (a JMH fork) with a
 * pre-touched Java heap. Results go to the folder named by {@code -Dbench.memdir}, one file per case and
 * pass, as {@code layer,shape,engine,pass,peak_bytes}.
 */
public final class MemoryProbe {

    private MemoryProbe() {
    }

    public static void probe(Case c, String pass, Kernel kernel) {
        String dir = System.getProperty("bench.memdir");
        if (dir == null || !PeakRss.available()) {
            return;
        }
        try (Kernel tiny = kernel.tiny()) {
            if (tiny != null) {
                tiny.run(pass);
            }
        }
        System.gc();
        long before = PeakRss.rssBytes();
        if (!PeakRss.reset()) {
            return;
        }
        kernel.run(pass);
        long peak = PeakRss.hwmBytes() - before;
        String line = String.join(",", c.layer(), c.shape().toString(), c.engine(), pass, Long.toString(peak));
        try {
            Path d = Path.of(dir);
            Files.createDirectories(d);
            String name = (c.id() + "|" + pass).replaceAll("[^A-Za-z0-9._-]", "_") + ".csv";
            Files.writeString(d.resolve(name), line + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

}
