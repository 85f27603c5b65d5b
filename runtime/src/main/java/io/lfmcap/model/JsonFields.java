package io.lfmcap.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Typed reads from one JSON object of a model file, with errors that name the file and the field path
 * ({@code config.json: text_config.hidden_size must be a positive integer (found -3)}).
 *
 * <p>A JSON {@code null} reads like an absent key (the default applies), as transformers treats
 * {@code None} for the fields read here; {@link #isExplicitNull} tells the two apart where that matters.
 */
final class JsonFields {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private final String source;
    private final String prefix;
    private final JsonNode node;

    private JsonFields(String source, String prefix, JsonNode node) {
        this.source = source;
        this.prefix = prefix;
        this.node = node;
    }

    /** Parses {@code json} (the text of {@code source}, a file name) which must be a JSON object. */
    static JsonFields parse(String json, String source) {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ModelFileException(source + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject())
            throw new ModelFileException(source + " must hold a JSON object, found " + (root == null ? "nothing" : root.getNodeType()));
        return new JsonFields(source, "", root);
    }

    String source() { return source; }

    boolean has(String key) {
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    boolean isExplicitNull(String key) {
        JsonNode v = node.get(key);
        return v != null && v.isNull();
    }

    /** The nested object under {@code key}; an absent key gives an empty object (all defaults). */
    JsonFields object(String key) {
        if (!has(key)) return new JsonFields(source, prefix + key + ".", MissingNode.getInstance());
        JsonNode v = node.get(key);
        if (!v.isObject()) throw error(key, "must be a JSON object", v);
        return new JsonFields(source, prefix + key + ".", v);
    }

    int integer(String key, int defaultValue) {
        return has(key) ? toInt(key, node.get(key)) : defaultValue;
    }

    int positiveInt(String key, int defaultValue) {
        int v = integer(key, defaultValue);
        if (v <= 0) throw error(key, "must be a positive integer", node.get(key));
        return v;
    }

    double number(String key, double defaultValue) {
        if (!has(key)) return defaultValue;
        JsonNode v = node.get(key);
        if (!v.isNumber()) throw error(key, "must be a number", v);
        return v.doubleValue();
    }

    double positiveNumber(String key, double defaultValue) {
        double v = number(key, defaultValue);
        if (!(v > 0) || Double.isInfinite(v)) throw error(key, "must be a positive number", node.get(key));
        return v;
    }

    boolean bool(String key, boolean defaultValue) {
        if (!has(key)) return defaultValue;
        JsonNode v = node.get(key);
        if (!v.isBoolean()) throw error(key, "must be true or false", v);
        return v.booleanValue();
    }

    String string(String key, String defaultValue) {
        if (!has(key)) return defaultValue;
        JsonNode v = node.get(key);
        if (!v.isTextual()) throw error(key, "must be a string", v);
        return v.textValue();
    }

    /** An integer, or the first element of a list of integers (as {@code eos_token_id} may be). */
    int integerOrFirst(String key, int defaultValue) {
        if (!has(key)) return defaultValue;
        JsonNode v = node.get(key);
        if (v.isArray()) {
            if (v.isEmpty()) throw error(key, "must not be an empty list", v);
            return toInt(key, v.get(0));
        }
        return toInt(key, v);
    }

    List<Integer> intList(String key) {
        JsonNode v = array(key);
        List<Integer> out = new ArrayList<>(v.size());
        for (JsonNode e : v) out.add(toInt(key, e));
        return out;
    }

    List<String> stringList(String key) {
        JsonNode v = array(key);
        List<String> out = new ArrayList<>(v.size());
        for (JsonNode e : v) {
            if (!e.isTextual()) throw error(key, "must be a list of strings", v);
            out.add(e.textValue());
        }
        return out;
    }

    /** A list of numbers, or one number repeated {@code length} times (HF accepts both for image_mean). */
    double[] numbers(String key, int length, double[] defaultValue) {
        if (!has(key)) return defaultValue.clone();
        JsonNode v = node.get(key);
        if (v.isNumber()) {
            double[] out = new double[length];
            Arrays.fill(out, v.doubleValue());
            return out;
        }
        if (!v.isArray() || v.size() != length) throw error(key, "must be a number or a list of " + length + " numbers", v);
        double[] out = new double[length];
        for (int i = 0; i < length; i++) {
            if (!v.get(i).isNumber()) throw error(key, "must be a number or a list of " + length + " numbers", v);
            out[i] = v.get(i).doubleValue();
        }
        return out;
    }

    ModelFileException error(String key, String message, JsonNode found) {
        return new ModelFileException(source + ": " + prefix + key + " " + message + (found == null ? "" : " (found " + found + ")"));
    }

    /** An error about a field that is fine on its own but inconsistent with others. */
    ModelFileException error(String key, String message) {
        return error(key, message, null);
    }

    private JsonNode array(String key) {
        JsonNode v = node.get(key);
        if (v == null || !v.isArray()) throw error(key, "must be a list", v);
        return v;
    }

    private int toInt(String key, JsonNode v) {
        boolean integral = v.isIntegralNumber() || (v.isFloatingPointNumber() && v.doubleValue() == Math.rint(v.doubleValue()));
        if (!integral || v.doubleValue() < Integer.MIN_VALUE || v.doubleValue() > Integer.MAX_VALUE)
            throw error(key, "must be an integer", v);
        return (int) v.doubleValue();
    }
}
