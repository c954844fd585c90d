package org.bn4j.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The results writer on made-up numbers (no native code is loaded). */
class ReportTest {

    @Test
    void shapesAndBytes() {
        Shape s = Shape.parse("64x64x32x32");
        assertEquals("64x64x32x32", s.toString());
        assertEquals(64L * 64 * 32 * 32, s.elements());
        assertEquals(64, s.channels());
        assertEquals("2x64x2x2", s.tiny().toString());
        Row fwd = new Row("bn", "4096x1024", "pytorch", "fwd", 2.0);
        Row bwd = new Row("bn", "4096x1024", "pytorch", "fwdbwd", 2.0);
        assertEquals(2L * 4 * 4096 * 1024, fwd.bytesMoved());
        assertEquals(5L * 4 * 4096 * 1024, bwd.bytesMoved());
        assertEquals(fwd.bytesMoved() / 2e-3 / 1e9, fwd.gbPerS(), 1e-9);
        assertEquals(fwd, Row.parse(fwd.csv()));
    }

    @Test
    void caseIdsAreUniqueAndParse() {
        var ids = new HashSet<String>();
        for (Case c : Cases.all()) {
            assertTrue(ids.add(c.id()), c.id());
            assertEquals(c, Cases.get(c.id()));
            assertTrue(List.of("bn4j", Cases.UNFUSED, "dl4j", "pytorch").contains(c.engine()), c.id());
        }
        assertTrue(Cases.nets().containsKey("none"));
    }

    @Test
    void writesMarkdownAndPlot(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("b.csv");
        Files.write(csv, List.of(Row.HEADER,
                "nd4j_assign,4096x1024,copy,fwd,1.5",
                "arraycopy_2t,4096x1024,copy,fwd,2.0",
                "bn,4096x1024,dl4j,fwd,60",
                "bn,4096x1024,pytorch,fwd,1.6",
                "bn,4096x1024,bn4j,fwd,3.0",
                "bn,4096x1024,pytorch,fwdbwd,4.4",
                "bn,4096x1024,dl4j,fwdbwd,170",
                "ln,4096x1024,pytorch,fwd,1.2"));
        Path mem = dir.resolve("b-memory.csv");
        Files.write(mem, List.of(Report.MEM_HEADER, "bn,4096x1024,pytorch,fwd,16777216"));
        Path train = dir.resolve("b-train.csv");
        Files.write(train, List.of(Report.TRAIN_HEADER, "none,256,10.0,25600.0", "dl4j,256,20.0,12800.0"));
        Path md = dir.resolve("docs/p.md");
        Path png = dir.resolve("docs/p.png");
        Properties info = new Properties();
        info.setProperty("mode", "full");
        Report.write(info, csv, mem, train, dir.resolve("none-passes.csv"), md, png, "a note");

        String text = Files.readString(md);
        assertTrue(text.contains("| bn | 4096x1024 | fwd | dl4j | 60.0 | 37.5 |"), text);
        // 2·4·4096·1024 bytes in 1.5 ms is the ceiling
        assertTrue(text.contains("| 4096x1024 | 16.00 | nd4j_assign | 1.50 | 22.4 | yes |"), text);
        assertTrue(text.contains("| bn | 4096x1024 | fwd | pytorch | 16.0 | 1.00 |"), text);
        assertTrue(text.contains("| dl4j | 20.0 | 12800 | 2.00 |"), text);
        assertTrue(text.contains("![GB/s per layer, shape and engine](p.png)"), text);
        assertTrue(Files.size(png) > 10_000);
    }
}
