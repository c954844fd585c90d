package org.bn4j.examples.convert;

import org.bn4j.examples.Main;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The convert command end to end on Darknet19 with the bundled subset, two variants, one timing round. */
class ConvertCommandTest {

    @Test
    void printsTheTable() {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            code = Main.run("convert", "--data", "subset", "--steps", "1", "--batch", "4", "--rounds", "1",
                    "--variants", "bn,ln");
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        System.out.print(out);
        assertEquals(0, code);
        List<String> rows = out.lines().filter(l -> l.startsWith("| ") && !l.startsWith("| layers")).toList();
        assertEquals(3, rows.size(), out);
        String[] dl4j = cells(rows.get(0)), bn = cells(rows.get(1)), ln = cells(rows.get(2));
        assertEquals("DL4J BatchNormalization", dl4j[0]);
        assertEquals("18", dl4j[4], "DL4J's 18 batch norms fold");
        assertEquals(List.of("BatchNorm", "18", "28800"), Arrays.asList(bn).subList(0, 3), "18 layers, γ β mean var of 7,200 channels");
        assertTrue(Double.parseDouble(bn[3]) <= 1e-5, "BatchNorm output difference " + bn[3]);
        assertTrue(Double.parseDouble(bn[6]) <= 1e-5, "folded difference " + bn[6]);
        assertEquals(List.of("LayerNorm", "18", "14400"), Arrays.asList(ln).subList(0, 3), "layer norm carries γ and β only");
        assertEquals("0", ln[4], "layer norm does not fold");
        assertEquals("18", ln[5]);
        assertTrue(out.contains("no running statistics"), out);
    }

    private static String[] cells(String row) {
        return Arrays.stream(row.split("\\|")).map(String::trim).filter(s -> !s.isEmpty()).toArray(String[]::new);
    }
}
