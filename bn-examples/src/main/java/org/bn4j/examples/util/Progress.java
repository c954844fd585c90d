package org.bn4j.examples.util;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** The progress bar of every command: ASCII, on stderr, with elapsed time and ETA. */
public final class Progress {

    private Progress() {
    }

    /** A bar of {@code max} steps, or null when {@code enabled} is false. */
    public static ProgressBar bar(String task, long max, boolean enabled) {
        if (!enabled) {
            return null;
        }
        return new ProgressBarBuilder()
                .setTaskName(String.format("%-12s", task))
                .setInitialMax(max)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(500)
                .setConsumer(new ConsoleProgressBarConsumer(System.err, 110))
                .build();
    }
}
