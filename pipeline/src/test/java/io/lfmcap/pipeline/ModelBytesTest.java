package io.lfmcap.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.DeserializationStream;
import org.apache.spark.serializer.JavaSerializer;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializationStream;
import org.apache.spark.serializer.Serializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag$;

class ModelBytesTest {
    private static final byte[] PTE = random(ModelBytes.CHUNK_BYTES + 1000, 1);
    private static final byte[] PTD = random(3000, 2);
    private static final ModelFiles FILES = new ModelFiles("file:/m/m.pte", "m.pte", false,
            List.of(new ModelFiles.Entry("m.pte", PTE.length), new ModelFiles.Entry("m.ptd", PTD.length)));

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static ModelBytes read(List<String> digests) throws Exception {
        return ModelBytes.read(FILES, e -> new ByteArrayInputStream(e.relativePath().endsWith(".pte") ? PTE : PTD), digests);
    }

    private static byte[] all(InputStream in) throws Exception {
        try (in) {
            return in.readAllBytes();
        }
    }

    @Test
    void filesAreChunkedBelowTwoGigabytesAndReadBackWhole() throws Exception {
        List<String> digests = new ArrayList<>();
        ModelBytes bytes = read(digests);
        assertArrayEquals(PTE, all(bytes.open(0)));
        assertArrayEquals(PTD, all(bytes.open(1)));
        assertEquals(2, digests.size());
    }

    @Test
    void thePayloadSurvivesBothSparkSerializers() throws Exception {
        ModelBytes bytes = read(new ArrayList<>());
        for (Serializer serializer : List.of(new JavaSerializer(new SparkConf()), new KryoSerializer(new SparkConf()))) {
            // As TorrentBroadcast.blockifyObject / unBlockifyObject do: through a stream, never one buffer.
            SerializerInstance s = serializer.newInstance();
            var tag = ClassTag$.MODULE$.<ModelBytes>apply(ModelBytes.class);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            SerializationStream w = s.serializeStream(out);
            w.writeObject(bytes, tag);
            w.close();
            DeserializationStream r = s.deserializeStream(new ByteArrayInputStream(out.toByteArray()));
            ModelBytes back = r.readObject(tag);
            r.close();
            assertArrayEquals(PTE, all(back.open(0)), serializer.getClass().getSimpleName());
            assertArrayEquals(PTD, all(back.open(1)), serializer.getClass().getSimpleName());
        }
    }
}
