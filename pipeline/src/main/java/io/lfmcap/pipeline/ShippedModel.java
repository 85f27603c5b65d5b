package io.lfmcap.pipeline;

import java.io.IOException;
import java.io.Serializable;
import java.net.URI;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.SparkFiles;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.SerializableConfiguration;

/**
 * A model on its way to the executors ({@link ModelShipper} makes one on the driver); on an executor,
 * {@link #localPath} gives a verified local copy to open. Keyed by {@link #digest()}: the same digest
 * is the same model, whatever the path.
 */
public sealed interface ShippedModel extends Serializable {
    ModelFiles files();

    /** SHA-256 of the file, or of the folder's manifest ({@link Sha256#modelDigest}). */
    String digest();

    ModelDistribution distribution();

    /** On an executor: the model on local disk, verified against {@link #digest()}. */
    Path localPath(LocalModelStore store) throws IOException;

    /** The bytes travel in a torrent broadcast; each executor writes one local copy. */
    record Broadcasted(ModelFiles files, String digest, Broadcast<ModelBytes> bytes) implements ShippedModel {
        private static final long serialVersionUID = 1L;

        @Override public ModelDistribution distribution() { return ModelDistribution.BROADCAST; }

        @Override
        public Path localPath(LocalModelStore store) throws IOException {
            ModelBytes value = bytes.value();
            return store.copy(files, digest, value::open);
        }
    }

    /** Spark fetched the file or folder ({@code SparkContext.addFile}) into the executor's work folder. */
    record AddedFile(ModelFiles files, String digest) implements ShippedModel {
        private static final long serialVersionUID = 1L;

        @Override public ModelDistribution distribution() { return ModelDistribution.FILES; }

        @Override
        public Path localPath(LocalModelStore store) throws IOException {
            Path local = Paths.get(SparkFiles.get(files.name())); // a .ptd was added beside it
            LocalModelStore.verify(local, files, digest);
            return local;
        }
    }

    /** Every executor reads the same path: mapped in place when local, else copied once. */
    record SharedPath(ModelFiles files, String digest, Broadcast<SerializableConfiguration> hadoopConf) implements ShippedModel {
        private static final long serialVersionUID = 1L;

        @Override public ModelDistribution distribution() { return ModelDistribution.SHARED; }

        @Override
        public Path localPath(LocalModelStore store) throws IOException {
            URI uri = URI.create(files.uri());
            if ("file".equals(uri.getScheme())) {
                Path local = Paths.get(uri);
                LocalModelStore.verify(local, files, digest);
                return local;
            }
            FileSystem fs = FileSystem.get(uri, hadoopConf.value().value());
            return store.copy(files, digest, i -> fs.open(files.source(files.entries().get(i))));
        }
    }
}
