package io.lfmcap.jobs;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * A real Spark standalone cluster on 127.0.0.1 for tests: a Master and Workers in their own JVMs,
 * jobs submitted through {@code SparkSubmit} in another JVM, as {@code spark-submit} would.
 *
 * <p>Workers build executor command lines from {@code $SPARK_HOME/jars}, so the cluster lays out a
 * Spark home from the test classpath: every jar except those whose classes the application jar
 * ships (those must reach executors through the application jar, as on a real cluster). Workers also
 * need {@code SPARK_SCALA_VERSION}, and every JVM Java 17's module openings.
 */
final class StandaloneCluster implements AutoCloseable {
    private static final String HOST = "127.0.0.1";

    private final Path root;
    private final Path sparkHome;
    private final List<String> jvmFlags;
    private final int masterPort;
    private final Process master;
    private final List<Worker> workers = new ArrayList<>();
    private final List<Process> submitted = new ArrayList<>();

    /** A worker: its process (executors are its children) and its work folder (executor logs). */
    record Worker(Process process, Path workDir) {}

    /** A submitted job: the SparkSubmit JVM (the driver, client mode) and its log. */
    record Submission(Process process, Path log) {
        String output() {
            try {
                return Files.readString(log, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    StandaloneCluster(Path root, Path applicationJar, int workerCount, int coresPerWorker) throws IOException {
        this.root = root;
        this.jvmFlags = Arrays.stream(System.getProperty("lfmcap.sparkJvmFlags", "").trim().split("\\s+")).filter(s -> !s.isEmpty()).toList();
        this.sparkHome = layOutSparkHome(root.resolve("spark-home"), applicationJar);
        this.masterPort = freePort();
        this.master = start("master", List.of("org.apache.spark.deploy.master.Master", "--host", HOST, "--port", "" + masterPort,
                "--webui-port", "" + freePort()), List.of("-Xmx256m"));
        awaitLog(root.resolve("master.log"), "I have been elected leader", Duration.ofSeconds(60));
        for (int i = 0; i < workerCount; i++) {
            Path workDir = Files.createDirectories(root.resolve("worker-" + i));
            Process p = start("worker-" + i, List.of("org.apache.spark.deploy.worker.Worker", "--host", HOST, "--cores", "" + coresPerWorker,
                    "--memory", "2g", "--work-dir", workDir.toString(), "--webui-port", "" + freePort(), masterUrl()), List.of("-Xmx256m"));
            workers.add(new Worker(p, workDir));
        }
        for (int i = 0; i < workerCount; i++)
            awaitLog(root.resolve("worker-" + i + ".log"), "Successfully registered with master", Duration.ofSeconds(60));
    }

    String masterUrl() { return "spark://" + HOST + ":" + masterPort; }

    List<Worker> workers() { return workers; }

    /** Starts {@code spark-submit --master <cluster> --deploy-mode client <sparkArgs> <jar> <appArgs>}. */
    Submission submit(String name, List<String> sparkArgs, Path jar, String mainClass, List<String> appArgs) throws IOException {
        List<String> args = new ArrayList<>(List.of("org.apache.spark.deploy.SparkSubmit", "--master", masterUrl(), "--deploy-mode", "client",
                "--conf", "spark.driver.host=" + HOST, "--conf", "spark.driver.bindAddress=" + HOST, "--conf", "spark.ui.enabled=false"));
        args.addAll(sparkArgs);
        args.addAll(List.of("--class", mainClass, jar.toString()));
        args.addAll(appArgs);
        Process p = start(name, args, List.of("-Xmx768m", "--add-modules=jdk.incubator.vector"));
        submitted.add(p);
        return new Submission(p, root.resolve(name + ".log"));
    }

    /** Kills a worker and its executors at once, as if its machine had died. */
    void killWorker(int index) {
        Process p = workers.get(index).process();
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    /** Executor stderr logs of all workers: {@code <work>/<app>/<executor>/stderr}, keyed "worker-i/app/exec". */
    Map<String, String> executorLogs(String appId) {
        Map<String, String> logs = new LinkedHashMap<>();
        for (int i = 0; i < workers.size(); i++) {
            Path app = workers.get(i).workDir().resolve(appId);
            if (!Files.isDirectory(app)) continue;
            try (Stream<Path> execs = Files.list(app)) {
                for (Path exec : execs.sorted().toList()) {
                    Path stderr = exec.resolve("stderr");
                    if (Files.isRegularFile(stderr)) logs.put("worker-" + i + "/" + appId + "/" + exec.getFileName(), Files.readString(stderr));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return logs;
    }

    @Override
    public void close() {
        List<Process> all = new ArrayList<>(submitted);
        for (Worker w : workers) all.add(w.process());
        all.add(master);
        List<ProcessHandle> handles = new ArrayList<>();
        for (Process p : all) {
            p.descendants().forEach(handles::add);
            handles.add(p.toHandle());
        }
        handles.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle h : handles) {
            try {
                h.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                // gone or stuck: nothing more a test can do about it
            }
        }
    }

    static void await(BooleanSupplier condition, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            try {
                Thread.sleep(25);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            }
        }
    }

    private static void awaitLog(Path log, String line, Duration timeout) {
        await(() -> {
            try {
                return Files.exists(log) && Files.readString(log).contains(line);
            } catch (IOException e) {
                return false;
            }
        }, timeout, "'" + line + "' in " + log);
    }

    private Process start(String name, List<String> mainAndArgs, List<String> extraJvmFlags) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmFlags);
        cmd.addAll(extraJvmFlags);
        cmd.addAll(List.of("-cp", sparkHome.resolve("conf") + File.pathSeparator + sparkHome.resolve("jars") + File.separator + "*"));
        cmd.addAll(mainAndArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(root.resolve(name + ".log").toFile());
        pb.environment().put("SPARK_HOME", sparkHome.toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.12");
        pb.environment().put("SPARK_LOCAL_IP", HOST);
        pb.environment().put("SPARK_CONF_DIR", sparkHome.resolve("conf").toString());
        return pb.start();
    }

    /** $SPARK_HOME with jars/ (links to the test classpath's jars, less the application's), conf/ and RELEASE. */
    private static Path layOutSparkHome(Path home, Path applicationJar) throws IOException {
        Path jars = Files.createDirectories(home.resolve("jars"));
        Path conf = Files.createDirectories(home.resolve("conf"));
        Files.writeString(home.resolve("RELEASE"), "Spark 3.5.7 laid out from the Maven test classpath by lfmcap's tests\n");
        Files.writeString(conf.resolve("log4j2.properties"), String.join("\n",
                "rootLogger.level = warn",
                "rootLogger.appenderRef.stderr.ref = console",
                "appender.console.type = Console",
                "appender.console.name = console",
                "appender.console.target = SYSTEM_ERR",
                "appender.console.layout.type = PatternLayout",
                "appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n%ex",
                "logger.lfmcap.name = io.lfmcap",
                "logger.lfmcap.level = info",
                "logger.deploy.name = org.apache.spark.deploy",
                "logger.deploy.level = info",
                "logger.context.name = org.apache.spark.SparkContext",
                "logger.context.level = info",
                "logger.backend.name = org.apache.spark.scheduler.cluster",
                "logger.backend.level = info",
                "") );
        Set<String> shipped = classEntries(applicationJar);
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Set<String> names = new HashSet<>();
        for (String entry : cp.split(File.pathSeparator)) {
            Path jar = Paths.get(entry);
            String name = jar.getFileName().toString();
            if (!name.endsWith(".jar") || !Files.isRegularFile(jar) || name.startsWith("lfmcap-")) continue;
            if (name.matches("(junit|opentest4j|apiguardian).*")) continue;
            if (shippedBy(jar, shipped)) continue;
            if (names.add(name)) Files.createSymbolicLink(jars.resolve(name), jar.toAbsolutePath());
        }
        return home;
    }

    /** Whether the application jar has this jar's first class (so executors get it from the application). */
    private static boolean shippedBy(Path jar, Set<String> shipped) throws IOException {
        try (ZipFile z = new ZipFile(jar.toFile())) {
            Enumeration<? extends ZipEntry> entries = z.entries();
            while (entries.hasMoreElements()) {
                String n = entries.nextElement().getName();
                if (n.endsWith(".class") && !n.startsWith("META-INF/") && !n.endsWith("module-info.class")) return shipped.contains(n);
            }
            return false;
        }
    }

    private static Set<String> classEntries(Path jar) throws IOException {
        Set<String> names = new HashSet<>();
        try (ZipFile z = new ZipFile(jar.toFile())) {
            z.stream().map(ZipEntry::getName).filter(n -> n.endsWith(".class")).forEach(names::add);
        }
        return names;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 0, java.net.InetAddress.getByName(HOST))) {
            return s.getLocalPort();
        }
    }
}
