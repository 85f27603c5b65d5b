package io.lfmcap.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalModelStoreTest {
    @TempDir Path tmp;

    private static String sha(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = tmp.resolve("src").resolve(name);
        Files.createDirectories(p.getParent());
        return Files.write(p, bytes);
    }

    @Test
    void aPteFileIsItsOwnDigestAndIsCopiedOnceThenReused() throws Exception {
        byte[] bytes = "pte bytes".getBytes(StandardCharsets.UTF_8);
        Path pte = write("tiny.pte", bytes);
        ModelFiles files = ModelFiles.list(pte.toUri().toString(), new Configuration());
        assertEquals(List.of(new ModelFiles.Entry("tiny.pte", bytes.length)), files.entries());
        String digest = sha(bytes);

        LocalModelStore store = new LocalModelStore(tmp.resolve("cache"));
        Path copy = store.copy(files, digest, i -> new ByteArrayInputStream(bytes));
        assertEquals(tmp.resolve("cache").resolve(digest).resolve("tiny.pte"), copy);
        assertArrayEquals(bytes, Files.readAllBytes(copy));

        Path again = store.copy(files, digest, i -> { throw new IOException("must not be read again"); });
        assertEquals(copy, again);
    }

    @Test
    void aCopyWithOtherBytesFailsNamingBothDigestsAndLeavesNothing() throws Exception {
        byte[] bytes = "pte bytes".getBytes(StandardCharsets.UTF_8);
        Path pte = write("tiny.pte", bytes);
        ModelFiles files = ModelFiles.list(pte.toUri().toString(), new Configuration());
        String digest = sha(bytes);
        byte[] corrupt = "pte bytez".getBytes(StandardCharsets.UTF_8);

        Path cache = tmp.resolve("cache");
        var e = assertThrows(ModelChecksumException.class,
                () -> new LocalModelStore(cache).copy(files, digest, i -> new ByteArrayInputStream(corrupt)));
        assertTrue(e.getMessage().contains(digest), e.getMessage());
        assertTrue(e.getMessage().contains(sha(corrupt)), e.getMessage());
        try (Stream<Path> left = Files.list(cache)) {
            assertEquals(0, left.count());
        }
    }

    @Test
    void aPteWithExternalWeightsShipsItsPtdAndIsNamedByTheManifest() throws Exception {
        byte[] program = "program".getBytes(StandardCharsets.UTF_8);
        byte[] weights = "weights".getBytes(StandardCharsets.UTF_8);
        Path pte = write("m.pte", program);
        write("m.ptd", weights);
        write("other.ptd", weights);
        ModelFiles files = ModelFiles.list(pte.toUri().toString(), new Configuration());
        assertEquals(List.of("m.pte", "m.ptd"), files.entries().stream().map(ModelFiles.Entry::relativePath).toList());

        String manifest = sha(program) + "  m.pte\n" + sha(weights) + "  m.ptd\n";
        String digest = Sha256.modelDigest(files, List.of(sha(program), sha(weights)));
        assertEquals(sha(manifest.getBytes(StandardCharsets.UTF_8)), digest);

        Path copy = new LocalModelStore(tmp.resolve("cache")).copy(files, digest,
                i -> new ByteArrayInputStream(i == 0 ? program : weights));
        assertEquals("m.pte", copy.getFileName().toString());
        assertArrayEquals(weights, Files.readAllBytes(copy.resolveSibling("m.ptd")));
    }

    @Test
    void aCheckpointFolderShipsOnlyItsModelFilesInPathOrder() throws Exception {
        write("ckpt/config.json", "{}".getBytes(StandardCharsets.UTF_8));
        write("ckpt/model.safetensors", new byte[] {1, 2, 3});
        write("ckpt/tokenizer.json", "{\"t\":1}".getBytes(StandardCharsets.UTF_8));
        write("ckpt/README.md", "# not shipped".getBytes(StandardCharsets.UTF_8));
        write("ckpt/.gitattributes.json", "hidden".getBytes(StandardCharsets.UTF_8));
        ModelFiles files = ModelFiles.list(tmp.resolve("src/ckpt").toUri().toString(), new Configuration());
        assertTrue(files.folder());
        assertEquals("ckpt", files.name());
        assertEquals(List.of("config.json", "model.safetensors", "tokenizer.json"),
                files.entries().stream().map(ModelFiles.Entry::relativePath).toList());

        Path folder = tmp.resolve("src/ckpt");
        String digest = LocalModelStore.digestOf(folder, files);
        LocalModelStore.verify(folder, files, digest);
        Files.write(folder.resolve("model.safetensors"), new byte[] {1, 2, 4});
        assertThrows(ModelChecksumException.class, () -> LocalModelStore.verify(folder, files, digest));
    }

    @Test
    void aMissingModelSaysWhatToPass() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> ModelFiles.list(tmp.resolve("nope.pte").toUri().toString(), new Configuration()));
        assertTrue(e.getMessage().contains("nope.pte does not exist"), e.getMessage());
        assertFalse(e.getMessage().isBlank());
    }
}
