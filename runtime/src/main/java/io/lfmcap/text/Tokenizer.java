package io.lfmcap.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * A Hugging Face {@code tokenizer.json} run by the {@code tokenizers} library itself (through DJL's
 * JNI binding, {@link HuggingFaceTokenizer}), configured so that {@link #encode} is exactly
 * {@code tokenizer.encode(text, add_special_tokens=False).ids}: no special tokens added, no
 * truncation, no padding, no lower-casing, accent stripping or prefix space of DJL's own, and
 * {@link #decode} is {@code tokenizer.decode(ids, skip_special_tokens)} without DJL's space clean-up.
 * Special-token text inside the input ({@code <|im_start|>}, {@code <image>}) is matched as in
 * {@code tokenizers}: the {@code added_tokens} are split out first, whatever {@code add_special_tokens} says.
 *
 * <p>Thread-safe: encode and decode may run concurrently from any number of threads; {@link #close}
 * waits for calls in flight and frees the native tokenizer.
 */
public final class Tokenizer implements AutoCloseable {
    static {
        DjlNativeSettings.applyOnce();
    }

    private static final Map<String, String> OPTIONS = Map.of(
            "addSpecialTokens", "false",
            "withOverflowingTokens", "false",
            "truncation", "false",
            "padding", "false",
            "doLowerCase", "false");

    private final String source;
    private final HuggingFaceTokenizer tokenizer;
    private final Map<String, Integer> idsByToken;
    private final String[] tokensById;
    private final ReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;

    private Tokenizer(String source, HuggingFaceTokenizer tokenizer, Map<String, Integer> idsByToken, String[] tokensById) {
        this.source = source;
        this.tokenizer = tokenizer;
        this.idsByToken = idsByToken;
        this.tokensById = tokensById;
    }

    /** Loads {@code tokenizer.json}, given as the file or as the folder that holds it. */
    public static Tokenizer load(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        if (!Files.isRegularFile(file))
            throw new IllegalArgumentException("tokenizer file " + file + " does not exist; pass a Hugging Face tokenizer.json or the checkpoint folder holding one");
        try {
            return fromJson(Files.readAllBytes(file), file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer file " + file, e);
        }
    }

    /**
     * Loads a {@code tokenizer.json} from its bytes (UTF-8).
     *
     * @param source what the bytes are (a file name, "model.pte: tokenizer"), named in every error
     */
    public static Tokenizer fromJson(byte[] json, String source) {
        TokenizerVocabulary vocabulary = TokenizerVocabulary.parse(json, source);
        HuggingFaceTokenizer tokenizer;
        try {
            tokenizer = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), OPTIONS);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("tokenizer " + source + " cannot be loaded by the tokenizers library: " + e.getMessage(), e);
        }
        try {
            Map<String, Integer> ids = resolveIds(vocabulary, tokenizer, source);
            return new Tokenizer(source, tokenizer, ids, tokensById(ids));
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    /**
     * Token ids: the model vocabulary, plus added tokens. An added token whose text is in the model
     * vocabulary has that id (as in LFM2, where every special token is); one that is not gets the
     * id {@code tokenizers} assigned it on load, read back by encoding its text alone.
     */
    private static Map<String, Integer> resolveIds(TokenizerVocabulary vocabulary, HuggingFaceTokenizer tokenizer, String source) {
        Map<String, Integer> ids = new HashMap<>(vocabulary.modelVocab);
        List<TokenizerVocabulary.AddedToken> outsideModel = vocabulary.addedTokens.stream()
                .filter(t -> !ids.containsKey(t.content())).toList();
        if (outsideModel.isEmpty()) return ids;
        String[] texts = outsideModel.stream().map(TokenizerVocabulary.AddedToken::content).toArray(String[]::new);
        Encoding[] encodings = tokenizer.batchEncode(texts, false, false);
        for (int i = 0; i < texts.length; i++) {
            long[] encoded = encodings[i].getIds();
            if (encoded.length != 1)
                throw new IllegalArgumentException("tokenizer " + source + ": added token '" + texts[i] + "' does not encode to a single id");
            ids.put(texts[i], Math.toIntExact(encoded[0]));
        }
        return ids;
    }

    private static String[] tokensById(Map<String, Integer> ids) {
        int size = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        String[] byId = new String[size];
        ids.forEach((token, id) -> byId[id] = token);
        return byId;
    }

    /** {@code tokenizer.encode(text, add_special_tokens=False).ids}. */
    public int[] encode(String text) {
        long[] ids = whileOpen(() -> tokenizer.encode(text, false, false).getIds());
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = (int) ids[i];
        return out;
    }

    /** {@code tokenizer.decode(ids, skip_special_tokens)}; every id must be below {@link #vocabSize()}. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] wide = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= tokensById.length)
                throw new IllegalArgumentException("token id " + ids[i] + " at index " + i + " is outside the vocabulary of tokenizer " + source + " (0.." + (tokensById.length - 1) + ")");
            wide[i] = ids[i];
        }
        return whileOpen(() -> tokenizer.decode(wide, skipSpecialTokens));
    }

    /** The id of a token given by its exact vocabulary text (e.g. {@code "<image>"}, {@code "Ġthe"}). */
    public int tokenId(String token) {
        Integer id = idsByToken.get(token);
        if (id == null)
            throw new IllegalArgumentException("tokenizer " + source + " has no token '" + token + "'; is it the tokenizer.json of an LFM2-VL model?");
        return id;
    }

    /** Whether the vocabulary (model or added tokens) holds this exact token text. */
    public boolean hasToken(String token) { return idsByToken.containsKey(token); }

    /** The vocabulary text of a token id (byte-level spelling for BPE pieces, e.g. {@code "Ġcat"}). */
    public String token(int id) {
        String token = id >= 0 && id < tokensById.length ? tokensById[id] : null;
        if (token == null) throw new IllegalArgumentException("tokenizer " + source + " has no token with id " + id);
        return token;
    }

    /** One more than the largest token id (model vocabulary and added tokens). */
    public int vocabSize() { return tokensById.length; }

    /** Where this tokenizer came from, as given on load. */
    public String source() { return source; }

    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (!closed) tokenizer.close();
            closed = true;
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    @Override
    public String toString() { return "Tokenizer[" + source + ", " + vocabSize() + " tokens]"; }

    private <T> T whileOpen(Supplier<T> call) {
        lifecycle.readLock().lock();
        try {
            if (closed) throw new IllegalStateException("tokenizer " + source + " is closed");
            return call.get();
        } finally {
            lifecycle.readLock().unlock();
        }
    }
}
