package io.lfmcap.pipeline;

import io.lfmcap.engine.EngineOptions;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/** Which device a task's engine runs on, from Spark's GPU scheduling (the task's "gpu" resource). */
final class TaskDevices {
    static final String GPU = "gpu";

    private TaskDevices() {}

    /** The first GPU address Spark gave the task, or -1 when GPU scheduling is off. */
    static int gpuAddress(TaskContext ctx) {
        ResourceInformation gpus = ctx == null ? null : ctx.resourcesJMap().get(GPU);
        if (gpus == null || gpus.addresses().length == 0) return -1;
        String address = gpus.addresses()[0].trim();
        try {
            return Integer.parseInt(address);
        } catch (NumberFormatException e) {
            throw new IllegalStateException("Spark gave this task GPU address '" + address
                    + "', not a CUDA ordinal: make the GPU discovery script print ordinals (conf/getGpusResources.sh)", e);
        }
    }

    /**
     * The settings' engine options for a task with GPU address {@code gpu} (-1: none). AUTO runs CUDA
     * on the task's GPU when there is one and the CPU otherwise; CUDA without GPU scheduling uses
     * device 0. An unset batch follows the device (CaptionSettings.engineOptions).
     */
    static EngineOptions engineOptions(CaptionSettings settings, int gpu, int executorCores) {
        return switch (settings.backend()) {
            case AUTO -> gpu >= 0 ? settings.engineOptions(EngineOptions.Backend.CUDA, gpu, executorCores)
                                  : settings.engineOptions(EngineOptions.Backend.CPU, 0, executorCores);
            case CUDA -> settings.engineOptions(EngineOptions.Backend.CUDA, Math.max(gpu, 0), executorCores);
            case CPU -> settings.engineOptions(EngineOptions.Backend.CPU, 0, executorCores);
        };
    }

    /** This executor's cores ({@code spark.executor.cores}), else the JVM's processors (local mode). */
    static int executorCores() {
        SparkEnv env = SparkEnv.get();
        int processors = Runtime.getRuntime().availableProcessors();
        if (env == null || !env.conf().contains("spark.executor.cores")) return processors;
        return Math.max(1, env.conf().getInt("spark.executor.cores", processors));
    }

    /** Tasks this executor runs at once: its cores over {@code spark.task.cpus}. */
    static int taskSlots() {
        SparkEnv env = SparkEnv.get();
        int taskCpus = env == null ? 1 : Math.max(1, env.conf().getInt("spark.task.cpus", 1));
        return Math.max(1, executorCores() / taskCpus);
    }
}
