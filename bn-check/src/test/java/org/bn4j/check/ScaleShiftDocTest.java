package org.bn4j.check;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * docs/check.md shows ScaleShift.java and ScaleShiftTest.java whole: each block of the page marked
 * {@code <!-- file PATH -->} is, character for character, the file at PATH.
 */
class ScaleShiftDocTest {

    @Test
    void thePageShowsTheExampleFilesExactly() throws IOException {
        Path root = Path.of("..");
        String page = Files.readString(root.resolve("docs/check.md"));
        Matcher m = Pattern.compile("<!-- file (\\S+) -->\\s*```java\\n(.*?)```", Pattern.DOTALL).matcher(page);
        List<String> shown = new ArrayList<>();
        while (m.find()) {
            shown.add(m.group(1));
            assertEquals(Files.readString(root.resolve(m.group(1))), m.group(2), "docs/check.md's copy of " + m.group(1));
        }
        assertEquals(List.of("bn-check/src/test/java/org/bn4j/check/ScaleShift.java",
                "bn-check/src/test/java/org/bn4j/check/ScaleShiftTest.java"), shown, "files shown in docs/check.md");
    }
}
