package io.lfmcap.notebooks;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Jupyter's command-line tools (Debian: jupyter-nbconvert) pointed at this build's kernelspec
 * ({@code lfmcap.jupyterPath}), with their state in a scratch folder so that nothing of the user's
 * Jupyter setup is read or written. Where the tools are missing the tests skip, except under CI
 * (the {@code CI} variable set), where they fail: .ci/run installs them.
 */
final class Jupyter {
    private final Path nbconvert;
    private final Path workDir;

    private Jupyter(Path nbconvert, Path workDir) {
        this.nbconvert = nbconvert;
        this.workDir = workDir;
    }

    /** The tools, or a skipped (locally) or failed (CI) test. */
    static Jupyter require(Path workDir) {
        Path nbconvert = onPath("jupyter-nbconvert");
        if (nbconvert == null) {
            String ci = System.getenv("CI");
            String what = "jupyter-nbconvert is not on PATH (Debian: apt-get install jupyter-nbconvert)";
            if (ci != null && !ci.isEmpty()) fail(what + "; CI must run the notebooks: .ci/run installs it");
            Assumptions.abort(what + ": notebooks not executed");
        }
        return new Jupyter(nbconvert, workDir);
    }

    /** The Python interpreter the tools run on (their {@code #!} line), which has jupyter_client. */
    String python() {
        try {
            String first = Files.readAllLines(nbconvert, StandardCharsets.UTF_8).get(0);
            return first.startsWith("#!") ? first.substring(2).trim().split("\\s+")[0] : "python3";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Executes {@code notebook} top to bottom into {@code outputDir}; the result holds the exit code and the log. */
    Run execute(Path notebook, Path outputDir, Map<String, String> env) {
        return run(List.of(nbconvert.toString(), "--to", "notebook", "--execute",
                "--ExecutePreprocessor.timeout=600", "--ExecutePreprocessor.startup_timeout=120",
                "--output-dir", outputDir.toString(), notebook.toString()), env, outputDir.resolve(notebook.getFileName() + ".log"));
    }

    /** Runs {@code command} with Jupyter's environment (plus {@code env}); output to {@code log}. */
    Run run(List<String> command, Map<String, String> env, Path log) {
        try {
            Files.createDirectories(log.getParent());
            ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("JUPYTER_PATH", System.getProperty("lfmcap.jupyterPath"));
            pb.environment().put("JUPYTER_RUNTIME_DIR", workDir.resolve("runtime").toString());
            pb.environment().put("JUPYTER_CONFIG_DIR", workDir.resolve("config").toString());
            pb.environment().put("JUPYTER_DATA_DIR", workDir.resolve("data").toString());
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(15, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                fail(command + " ran longer than 15 minutes; log " + log);
            }
            return new Run(p.exitValue(), Files.readString(log), log);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    record Run(int exitCode, String log, Path logFile) {}

    private static Path onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir, command);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }
}
