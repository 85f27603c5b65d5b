package io.lfmcap.pte;

import io.lfmcap.model.CheckpointPackage;
import io.lfmcap.model.ModelPackage;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens whatever model a user points at: a Hugging Face checkpoint folder or an exported .pte. */
public final class ModelPackages {
    private ModelPackages() {}

    /**
     * A folder opens as a checkpoint ({@link CheckpointPackage}), a file as an exported program
     * ({@link PteModelPackage}, its .ptd found beside it when the weights are external).
     */
    public static ModelPackage open(Path path) {
        if (Files.isDirectory(path)) return CheckpointPackage.open(path);
        if (!Files.exists(path)) {
            throw new PteFormatException(path + " does not exist; give a Hugging Face checkpoint folder or a .pte made by 'lfmcap export'");
        }
        if (path.getFileName().toString().endsWith(".ptd")) {
            throw new PteFormatException(path + " is a weights file; open the .pte that goes with it");
        }
        return PteModelPackage.open(path);
    }
}
