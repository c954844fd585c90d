package org.bn4j.bench;

import java.util.Locale;

/**
 * The bench's peak-memory probe ({@link MemoryProbe}) repeated over several calls of one case in one JVM: for each
 * call, the extra resident memory at its peak and the resident memory before it, so memory a first call leaves
 * behind (buffers kept, workspaces sized, allocator arenas grown) shows apart from what every call needs.
 *
 * <pre>
 *   MemoryCalls CASE [fwd|fwdbwd [CALLS]]        CASE as in the bench, e.g. "bn|bn4j|4096x1024"
 * </pre>
 */
public final class MemoryCalls {

    private MemoryCalls() {
    }

    public static void main(String[] args) {
        if (args.length < 1) throw new IllegalArgumentException("usage: MemoryCalls CASE [fwd|fwdbwd [CALLS]]");
        if (!PeakRss.available()) throw new IllegalStateException("needs Linux /proc/self/status and clear_refs");
        Case c = Cases.get(args[0]);
        String pass = args.length > 1 ? args[1] : "fwdbwd";
        int calls = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        try (Kernel k = c.create()) {
            try (Kernel tiny = k.tiny()) {
                if (tiny != null) tiny.run(pass);
            }
            for (int i = 1; i <= calls; i++) {
                System.gc();
                long before = PeakRss.rssBytes();
                PeakRss.reset();
                k.run(pass);
                System.out.printf(Locale.ROOT, "%s %s call %d: peak %.1f MiB above the %.1f MiB resident before it%n",
                        c.id(), pass, i, (PeakRss.hwmBytes() - before) / 1048576.0,
                        before / 1048576.0);
            }
        }
    }

}
