package io.lfmcap.notebooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The notebooks as committed: sources only, on the project's kernel. */
class NotebooksCommittedTest {
    private static final String STRIP = "strip them with: jupyter nbconvert --clear-output --inplace notebooks/*.ipynb";

    @Test
    void theModuleHasTheTwoNotebooks() {
        assertEquals(List.of("caption-a-folder.ipynb", "explore-captions.ipynb"),
                Notebook.committed().stream().map(p -> p.getFileName().toString()).toList());
    }

    @Test
    void noNotebookIsCommittedWithOutputsOrExecutionCounts() {
        for (var file : Notebook.committed()) {
            Notebook nb = Notebook.read(file);
            for (JsonNode cell : nb.codeCells()) {
                assertEquals(0, cell.path("outputs").size(), nb.name() + ": outputs committed in cell '" + Notebook.firstLine(cell) + "'; " + STRIP);
                assertTrue(cell.path("execution_count").isNull(), nb.name() + ": execution count committed in cell '" + Notebook.firstLine(cell) + "'; " + STRIP);
            }
        }
    }

    @Test
    void everyNotebookNamesTheLfmcapKernelAndHasCode() {
        for (var file : Notebook.committed()) {
            Notebook nb = Notebook.read(file);
            assertEquals(4, nb.json().path("nbformat").asInt(), nb.name());
            assertEquals("lfmcap-java", nb.json().path("metadata").path("kernelspec").path("name").asText(), nb.name() + ": kernelspec");
            assertEquals("java", nb.json().path("metadata").path("kernelspec").path("language").asText(), nb.name());
            assertFalse(nb.codeCells().isEmpty(), nb.name() + " has no code");
            for (JsonNode cell : nb.codeCells())
                assertFalse(Notebook.joined(cell.path("source")).isBlank(), nb.name() + ": an empty code cell");
        }
    }
}
