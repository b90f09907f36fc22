package org.transfer4j.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringWriter;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * README's "Use it from your code" example compiles as written against this module's classpath (which is what an
 * application depending on transfer4j-inference gets) and runs on a composed model.
 */
class ReadmeExampleTest {
    private static final String SECTION = "## Use it from your code";

    @TempDir
    Path dir;

    @Test
    void theReadmeExampleCompilesAndRuns() throws Exception {
        Path readme = Path.of("").toAbsolutePath().getParent().resolve("README.md");
        assumeTrue(Files.isRegularFile(readme), "skipped: no README.md beside the module (" + readme + ")");
        String section = section(Files.readString(readme, StandardCharsets.UTF_8));
        assertTrue(section.contains("<artifactId>transfer4j-inference</artifactId>"),
                "the section must give the inference artifact's Maven coordinates");
        String source = block(section, "java");
        Matcher name = Pattern.compile("public class (\\w+)").matcher(source);
        assertTrue(name.find(), "the example must be a whole class:\n" + source);
        Path src = dir.resolve("src").resolve(name.group(1) + ".java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, source);
        Path classes = Files.createDirectories(dir.resolve("classes"));

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assumeTrue(javac != null, "skipped: running on a JRE without javac");
        StringWriter diagnostics = new StringWriter();
        boolean ok = javac.getTask(diagnostics, null, null, List.of("-Xlint:all", "-Werror", "--release", "17",
                "-cp", System.getProperty("java.class.path"), "-d", classes.toString()), null,
                javac.getStandardFileManager(null, null, StandardCharsets.UTF_8).getJavaFileObjects(src.toFile()))
                .call();
        assertTrue(ok, "README example does not compile:\n" + diagnostics + "\n" + source);

        PredictorTestModels.Tiny tiny = PredictorTestModels.small(dir.resolve("model"));
        Path image = PredictorTest.writeImages(dir.resolve("images"), 1, 5).get(0);
        String out = runMain(classes, name.group(1), tiny.composed().toString(), image.toString());
        String[] lines = out.split("\\R");
        assertEquals(tiny.classes().toString(), lines[0], out);
        assertTrue(lines[1].startsWith("class_"), out);
        assertEquals(2 + 3, lines.length, "classes, the answer and the top 3:\n" + out);
    }

    private static String section(String readme) {
        int start = readme.indexOf("\n" + SECTION + "\n");
        assertTrue(start >= 0, "README.md has no section '" + SECTION + "'");
        int end = readme.indexOf("\n## ", start + 1);
        return readme.substring(start, end < 0 ? readme.length() : end);
    }

    private static String block(String markdown, String language) {
        Matcher m = Pattern.compile("```" + language + "\\n(.*?)```", Pattern.DOTALL).matcher(markdown);
        assertTrue(m.find(), "no ```" + language + " block in the section");
        return m.group(1);
    }

    /** Runs {@code main} in this JVM with System.out captured (the example prints its answer). */
    private static String runMain(Path classes, String className, String... args) throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
                ReadmeExampleTest.class.getClassLoader())) {
            Method main = loader.loadClass(className).getMethod("main", String[].class);
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            main.invoke(null, (Object) args);
        } finally {
            System.setOut(original);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
