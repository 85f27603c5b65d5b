package io.lfmcap.text;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A plain byte-level BPE trainer (the algorithm of tokenizers' {@code BpeTrainer}, without its
 * heuristics): split the corpus with the pre-tokenizer regex, spell each piece in the byte-level
 * alphabet, then repeatedly merge the most frequent adjacent pair. Deterministic: ties go to the
 * lexicographically smallest (left, right) pair.
 */
final class BpeTrainer {

    /** One learned merge: {@code left + right} becomes a token. */
    record Merge(String left, String right) {
        String result() { return left + right; }
    }

    private BpeTrainer() {}

    /**
     * Learns merges until {@code newTokens} tokens not in the byte alphabet exist.
     *
     * @return the merges in rank order (a merge may recreate an earlier token; it then adds no token)
     */
    static List<Merge> train(String corpus, Pattern preTokenizer, int newTokens) {
        List<String[]> words = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        for (Map.Entry<String, Integer> e : pieceCounts(corpus, preTokenizer).entrySet()) {
            String spelled = ByteLevelAlphabet.encode(e.getKey());
            String[] symbols = new String[spelled.length()];
            for (int i = 0; i < symbols.length; i++) symbols[i] = String.valueOf(spelled.charAt(i));
            words.add(symbols);
            counts.add(e.getValue());
        }

        List<Merge> merges = new ArrayList<>();
        Set<String> learned = new HashSet<>();
        while (learned.size() < newTokens) {
            Merge best = mostFrequentPair(words, counts);
            if (best == null)
                throw new IllegalStateException("BPE corpus too small: every piece is one token after " + learned.size() + " of " + newTokens + " new tokens");
            merges.add(best);
            learned.add(best.result());
            for (int w = 0; w < words.size(); w++) words.set(w, apply(words.get(w), best));
        }
        return merges;
    }

    /** Pre-tokenized pieces with their frequency, in first-seen order. */
    private static Map<String, Integer> pieceCounts(String corpus, Pattern preTokenizer) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        Matcher m = preTokenizer.matcher(corpus);
        while (m.find()) counts.merge(m.group(), 1, Integer::sum);
        return counts;
    }

    private static Merge mostFrequentPair(List<String[]> words, List<Integer> counts) {
        Map<Merge, Long> pairCounts = new HashMap<>();
        for (int w = 0; w < words.size(); w++) {
            String[] s = words.get(w);
            for (int i = 0; i + 1 < s.length; i++) pairCounts.merge(new Merge(s[i], s[i + 1]), (long) counts.get(w), Long::sum);
        }
        Merge best = null;
        long bestCount = 0;
        for (Map.Entry<Merge, Long> e : pairCounts.entrySet()) {
            long c = e.getValue();
            if (c > bestCount || (c == bestCount && isBefore(e.getKey(), best))) {
                best = e.getKey();
                bestCount = c;
            }
        }
        return best;
    }

    private static boolean isBefore(Merge a, Merge b) {
        int byLeft = a.left().compareTo(b.left());
        return byLeft != 0 ? byLeft < 0 : a.right().compareTo(b.right()) < 0;
    }

    /** Merges every non-overlapping occurrence of the pair, left to right. */
    private static String[] apply(String[] symbols, Merge merge) {
        List<String> out = new ArrayList<>(symbols.length);
        for (int i = 0; i < symbols.length; i++) {
            if (i + 1 < symbols.length && symbols[i].equals(merge.left()) && symbols[i + 1].equals(merge.right())) {
                out.add(merge.result());
                i++;
            } else {
                out.add(symbols[i]);
            }
        }
        return out.size() == symbols.length ? symbols : out.toArray(new String[0]);
    }
}
