package org.bn4j.examples.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.bn4j.examples.Csv;
import org.bn4j.examples.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CompareCommandTest {

    @Test
    void quickRunEndToEnd(@TempDir Path dir) throws IOException {
        int code = Main.run("compare", "--quick", "--data", "subset", "--no-progress", "--seed", "1", "--out", dir.toString());
        assertEquals(0, code);
        for (String f : List.of("epochs.csv", "steps.csv", "test_accuracy.png", "train_loss.png", "summary.md", "lr_sweep.csv",
                "lr_sweep.png", "batch_sizes.csv", "batch_sizes.png")) {
            assertTrue(Files.size(dir.resolve(f)) > 100, f);
        }
        Csv epochs = Csv.read(dir.resolve("epochs.csv"));
        for (double a : epochs.doubles("test_acc", r -> true)) {
            assertTrue(a >= 0 && a <= 1, "accuracy " + a);
        }
        int runs = CompareCommand.DEFAULT_VARIANTS.split(",").length;
        assertEquals(13, runs);
        assertEquals(runs * 3, epochs.rows().size(), "epochs 0..2 for every default run");
        Map<String, Double> last = Csv.lastBy(epochs, "run", "test_acc");
        // 2 epochs on 2,000 images: chance is 0.1; a working network is far above 0.5
        assertTrue(last.get("bn") > 0.5, "batch-norm run test accuracy " + last.get("bn"));
        assertTrue(last.get("none") > 0.5, "plain run test accuracy " + last.get("none"));
        assertTrue(last.get("ln") > 0.5 && last.get("selu") > 0.5 && last.get("wn") > 0.5,
                "layer norm, SELU and weight norm runs train: " + last);
        assertTrue(last.get("gn") > 0.5 && last.get("rms") > 0.5 && last.get("renorm") > 0.5,
                "group norm, RMS norm and batch renormalization runs train: " + last);
        Csv sweep = Csv.read(dir.resolve("lr_sweep.csv"));
        assertEquals(runs * 3, sweep.rows().size(), "every run x three learning rates (quick)");
        // lr 10 with plain SGD: the unnormalized network cannot train at it
        assertEquals("false", sweep.rows().stream().filter(sweep.where("run", "none").and(r -> Double.parseDouble(r.get("lr")) == 10))
                .findFirst().orElseThrow().get("trains"));
        assertEquals(runs * 2, Csv.read(dir.resolve("batch_sizes.csv")).rows().size(), "every run x batch sizes 8 and 32 (quick)");
        String md = Files.readString(dir.resolve("summary.md"));
        assertTrue(md.contains("| bn |") && md.contains("| none |"), md);
        assertTrue(md.contains("| bn | batch norm (BatchNorm) |"), "the bn run uses the library's catalog entry");
        assertTrue(md.contains("| gn | group norm (GroupNorm, 32 groups) |") && md.contains("| rms |") && md.contains("| renorm |"), md);
        assertTrue(md.contains("instance norm is not run"), md);
        assertTrue(md.contains("| ghost |") && md.contains("| selu |") && md.contains("largest lr that trains"), md);
        byte[] png = Files.readAllBytes(dir.resolve("test_accuracy.png"));
        assertEquals((byte) 0x89, png[0]);
        assertEquals('P', png[1]);
    }

    @Test
    void instanceNormIsRefusedWithTheReason() {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true));
        try {
            assertTrue(Main.run("compare", "--quick", "--variants", "bn,in", "--out", "/tmp/bn4j-never") != 0);
        } finally {
            System.setErr(old);
        }
        String s = buf.toString();
        assertTrue(s.contains("--variants: 'in' (instance norm (InstanceNorm)) cannot go in compare's MLP")
                && s.contains("a feed-forward sample has one"), s);
    }

    @Test
    void helpForEachCommand() {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        try {
            assertEquals(0, Main.run("--help"));
            assertEquals(0, Main.run("compare", "--help"));
            assertEquals(0, Main.run("compare-model", "--help"));
            assertEquals(0, Main.run("make-subset", "--help"));
            for (String c : List.of("saturation", "noise", "landscape", "ics", "lp", "decoupling")) {
                assertEquals(0, Main.run(c, "--help"), c);
            }
        } finally {
            System.setOut(old);
        }
        String s = buf.toString();
        for (String opt : List.of("compare", "make-subset", "saturation", "noise", "landscape", "ics", "lp", "decoupling",
                "--seed", "--out", "--quick", "--data", "--epochs", "--lr", "--size", "--steps", "--dln-lr", "--variants")) {
            assertTrue(s.contains(opt), opt + " in help:\n" + s);
        }
        assertTrue(Main.run("compare", "--no-such-option") != 0);
        assertTrue(s.contains("compare-model") && s.contains("Instance norm (in) is left out")
                && s.contains("IDX files named and laid out as") && s.contains("reshaped to [N,1,28,28]"), s);
        assertTrue(Main.run("noise", "--quick", "--variants", "no-such-layer", "--out", "/tmp/bn4j-never") != 0);
    }
}
