package io.lfmcap.notebooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The kernelspec this build writes (target/jupyter/kernels/lfmcap-java/kernel.json). */
class KernelSpecTest {
    private static final Path SPEC_DIR = Path.of(System.getProperty("lfmcap.jupyterPath"), "kernels", "lfmcap-java");

    private static List<String> argv() throws IOException {
        JsonNode spec = new ObjectMapper().readTree(SPEC_DIR.resolve("kernel.json").toFile());
        List<String> argv = new ArrayList<>();
        spec.path("argv").forEach(a -> argv.add(a.asText()));
        return argv;
    }

    private static List<String> classpath(List<String> argv) {
        return Arrays.asList(argv.get(argv.indexOf("-cp") + 1).split(":"));
    }

    @Test
    void startsNotebookKernelOnJupytersConnectionFileWithTheRuntimesJvmFlags() throws IOException {
        List<String> argv = argv();
        assertTrue(Files.isExecutable(Path.of(argv.get(0))), "java: " + argv.get(0));
        assertEquals(List.of(NotebookKernel.class.getName(), "{connection_file}"), argv.subList(argv.size() - 2, argv.size()));
        assertTrue(argv.contains("--add-modules=jdk.incubator.vector"), argv.toString());
        assertTrue(argv.contains("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED"), "Spark's Java 17 openings: " + argv);
        assertTrue(argv.contains("-Djava.awt.headless=true"), argv.toString());
    }

    @Test
    void classpathHasThisModulesClassesBeforeTheKernelJarAndEveryEntryExists() throws IOException {
        List<String> cp = classpath(argv());
        // this module's LoopThread replaces the kernel jar's, so it must come first
        assertTrue(cp.get(0).endsWith("classes"), cp.get(0));
        assertTrue(Files.isRegularFile(Path.of(cp.get(0), "org/rapaio/jupyter/kernel/channels/LoopThread.class")));
        assertEquals(SPEC_DIR.resolve("rapaio-jupyter-kernel.jar").toString(), cp.get(1));
        for (String entry : cp) assertTrue(Files.exists(Path.of(entry)), "missing classpath entry " + entry);
        assertTrue(cp.stream().anyMatch(e -> e.contains("spark-sql_2.12")), "Spark on the notebooks' classpath");
        assertTrue(cp.stream().anyMatch(e -> e.contains("jfreechart")), "JFreeChart on the notebooks' classpath");
    }
}
