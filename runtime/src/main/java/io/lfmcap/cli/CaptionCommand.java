package io.lfmcap.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lfmcap.engine.CaptionEngine;
import io.lfmcap.engine.CaptionEngines;
import io.lfmcap.engine.CaptionException;
import io.lfmcap.engine.CaptionRequest;
import io.lfmcap.engine.CaptionResult;
import io.lfmcap.engine.ErrorClass;
import io.lfmcap.engine.ImageInput;
import io.lfmcap.model.ModelPackage;
import io.lfmcap.pte.ModelPackages;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code lfmcap caption --model M IMAGE...}: one caption per image, in the order given. */
@Command(name = "caption", mixinStandardHelpOptions = true,
        description = {"Caption images with a model: a Hugging Face checkpoint folder or an exported .pte.",
                "Every image gets a line (text) or an object (json/jsonl), failed ones with their error class.",
                "Exit status: 0 all captioned, 3 some images failed, 2 the command itself failed."})
final class CaptionCommand implements Callable<Integer> {
    enum Format { text, json, jsonl }

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "Checkpoint folder or .pte file.")
    Path model;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "Image files (JPEG, PNG, GIF, BMP, WebP).")
    List<Path> images;

    @Option(names = "--prompt", defaultValue = CaptionRequest.DEFAULT_PROMPT, description = "Instruction after the image. Default: '${DEFAULT-VALUE}'.")
    String prompt;

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Longest caption in tokens. Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--format", defaultValue = "text", description = "Output: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}.")
    Format format;

    @Option(names = "--no-progress", description = "No progress bar on stderr.")
    boolean noProgress;

    @Mixin
    SamplingArgs sampling;

    @Mixin
    EngineArgs engineArgs;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        List<CompletableFuture<CaptionResult>> futures = new ArrayList<>();
        int failed = 0;
        try (ModelPackage pkg = ModelPackages.open(model);
             CaptionEngine engine = CaptionEngines.open(pkg, engineArgs.toOptions());
             ProgressBar progress = noProgress ? null : new ProgressBar(System.err, images.size(), "images")) {
            for (Path image : images) {
                CompletableFuture<CaptionResult> f = submit(engine, image);
                if (progress != null) f.whenComplete((r, e) -> progress.step(e == null));
                futures.add(f);
            }
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).exceptionally(e -> null).join();
        }
        List<ObjectNode> rows = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            String path = images.get(i).toString();
            try {
                CaptionResult r = futures.get(i).join();
                rows.add(okRow(path, r));
                if (format == Format.text) out.println(path + "\t" + r.text());
            } catch (CompletionException e) {
                failed++;
                CaptionException c = e.getCause() instanceof CaptionException ce ? ce
                        : new CaptionException(ErrorClass.ENGINE_ERROR, path, String.valueOf(e.getCause()), e.getCause());
                rows.add(errorRow(path, c));
                if (format == Format.text) out.println(path + "\tERROR " + c.errorClass().code() + ": " + c.getMessage());
            }
        }
        if (format == Format.json) out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(rows));
        if (format == Format.jsonl) for (ObjectNode row : rows) out.println(JSON.writeValueAsString(row));
        out.flush();
        return failed == 0 ? 0 : 3;
    }

    private CompletableFuture<CaptionResult> submit(CaptionEngine engine, Path image) {
        String name = image.toString();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(image);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(new CaptionException(ErrorClass.DECODE_ERROR, name, "cannot read the file: " + e));
        }
        return engine.submit(new CaptionRequest(name, ImageInput.of(name, bytes), prompt, sampling.toParams(), maxNewTokens));
    }

    private static ObjectNode okRow(String path, CaptionResult r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("path", path).put("status", "ok").put("caption", r.text());
        o.put("image_width", r.imageWidth()).put("image_height", r.imageHeight());
        o.put("num_image_tokens", r.imageTokens()).put("num_prompt_tokens", r.promptTokens());
        o.put("num_generated_tokens", r.generatedTokens()).put("finish_reason", r.finishReason().code());
        o.put("latency_ms", r.timings().totalNanos() / 1_000_000);
        return o;
    }

    private static ObjectNode errorRow(String path, CaptionException e) {
        ObjectNode o = JSON.createObjectNode();
        o.put("path", path).put("status", "error").put("error_class", e.errorClass().code()).put("error_message", e.getMessage());
        return o;
    }
}
