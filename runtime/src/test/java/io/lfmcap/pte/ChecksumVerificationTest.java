package io.lfmcap.pte;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lfmcap.model.tiny.TinyCheckpoint.Variant;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChecksumVerificationTest {
    @TempDir
    Path tmp;

    @Test
    void theManifestChecksumIsTheSha256OfEveryByteBeforeIt() throws Exception {
        byte[] file = Files.readAllBytes(TinyExports.pte());
        try (PteModelPackage p = PteModelPackage.open(TinyExports.pte())) {
            long covered = p.manifest().fileSha256Bytes();
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(file, 0, (int) covered);
            assertEquals(HexFormat.of().formatHex(d.digest()), p.sha256());
            assertEquals(file.length - covered, p.pteFile().namedData().get(NamedDataKeys.MANIFEST).size(), "only the manifest follows");
        }
    }

    @Test
    void aFileIsHashedOnceThenServedFromTheCache() throws IOException {
        Path copy = copy(TinyExports.pte(), tmp.resolve("cached.pte"));
        try (PteModelPackage p = PteModelPackage.open(copy)) {
            PteModelPackage.Verification first = p.verify();
            assertFalse(first.cached());
            assertEquals(p.manifest().fileSha256Bytes(), first.bytesHashed());
            PteModelPackage.Verification second = p.verify();
            assertTrue(second.cached());
            assertEquals(0, second.bytesHashed());
        }
        try (PteModelPackage reopened = PteModelPackage.open(copy)) {
            assertTrue(reopened.verify().cached(), "another package over the same unchanged file");
        }
    }

    @Test
    void aTouchedFileIsVerifiedAgain() throws IOException {
        Path copy = copy(TinyExports.pte(), tmp.resolve("touched.pte"));
        try (PteModelPackage p = PteModelPackage.open(copy)) {
            assertFalse(p.verify().cached());
            Files.setLastModifiedTime(copy, FileTime.fromMillis(Files.getLastModifiedTime(copy).toMillis() - 60_000));
            assertFalse(p.verify().cached(), "a new modification time is a new key");
        }
    }

    @Test
    void externalWeightsAreVerifiedWithTheProgram() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("ext"));
        Path source = TinyExports.pte(Variant.LFM2_5_VL, true);
        Path pte = copy(source, dir.resolve("m.pte"));
        Path ptd = copy(source.resolveSibling("model.ptd"), dir.resolve("m.ptd"));
        try (PteModelPackage p = PteModelPackage.open(pte)) {
            assertEquals(Files.size(ptd) + p.manifest().fileSha256Bytes(), p.verify().bytesHashed());
        }
        byte[] bytes = Files.readAllBytes(ptd);
        bytes[bytes.length - 3] ^= 1;
        Files.write(ptd, bytes);
        try (PteModelPackage p = PteModelPackage.open(pte)) {
            PteFormatException e = assertThrows(PteFormatException.class, p::verify);
            assertTrue(e.getMessage().contains("m.ptd (whole file)"), e.getMessage());
            assertTrue(e.getMessage().contains("model.multi_modal_projector.linear_2.bias: expected"), "the last weight: " + e.getMessage());
        }
    }

    @Test
    void aFailedVerificationIsNotCached() throws IOException {
        Path copy = tmp.resolve("bad.pte");
        byte[] bytes = Files.readAllBytes(TinyExports.pte());
        bytes[bytes.length / 2] ^= 1;
        Files.write(copy, bytes);
        try (PteModelPackage p = PteModelPackage.open(copy)) {
            assertThrows(PteFormatException.class, p::verify);
            assertThrows(PteFormatException.class, p::verify);
        }
    }

    @Test
    void concurrentVerificationsHashOnce() throws Exception {
        Path copy = copy(TinyExports.pte(), tmp.resolve("concurrent.pte"));
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (PteModelPackage p = PteModelPackage.open(copy)) {
            List<Callable<PteModelPackage.Verification>> tasks = new ArrayList<>();
            for (int i = 0; i < 8; i++) tasks.add(p::verify);
            int hashed = 0;
            for (Future<PteModelPackage.Verification> f : pool.invokeAll(tasks)) if (!f.get().cached()) hashed++;
            assertEquals(1, hashed);
        } finally {
            pool.shutdownNow();
        }
    }

    private static Path copy(Path from, Path to) throws IOException {
        return Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
}
