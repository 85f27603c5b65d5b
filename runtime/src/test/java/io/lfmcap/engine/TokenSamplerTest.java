package io.lfmcap.engine;

import static org.junit.jupiter.api.Assertions.*;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TokenSamplerTest {
    @Test
    void greedyTakesTheLowestIdOnTies() {
        TokenSampler s = new TokenSampler(SamplingParams.GREEDY, 5, new int[0], 7, false);
        assertEquals(1, s.next(new float[] {0f, 3f, 1f, 3f, -2f}));
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeScoresOfSeenTokens() {
        // HF RepetitionPenaltyLogitsProcessor with penalty 2: seen token 0 (score 4) -> 2; seen token 1 (score -1) -> -2.
        SamplingParams p = new SamplingParams(0, 1, 0, 2.0, 0);
        TokenSampler s = new TokenSampler(p, 3, new int[] {0, 1}, 7, false);
        assertEquals(2, s.next(new float[] {4f, -1f, 3f}), "token 0 falls to 2 < 3");
        TokenSampler t = new TokenSampler(p, 3, new int[] {0, 1}, 7, false);
        assertEquals(0, t.next(new float[] {4f, -1f, 1.5f}), "token 0 at 2 still beats 1.5");
    }

    @Test
    void suppressedEndOfSequenceIsNeverChosen() {
        TokenSampler s = new TokenSampler(SamplingParams.GREEDY, 9, new int[0], 7, true);
        float[] logits = new float[9];
        logits[7] = 10;
        logits[3] = 1;
        assertEquals(3, s.next(logits));
    }

    @Test
    void minPDropsTokensBelowTheFractionOfTheTopProbability() {
        // probabilities ~ [0.64, 0.24, 0.09, 0.03]; min_p 0.2 keeps those >= 0.128: tokens 0 and 1 only.
        SamplingParams p = new SamplingParams(1.0, 1.0, 0.2, 1.0, 42);
        TokenSampler s = new TokenSampler(p, 4, new int[0], 99, false);
        Set<Integer> drawn = new HashSet<>();
        for (int i = 0; i < 2000; i++) drawn.add(s.next(new float[] {3f, 2f, 1f, 0f}));
        assertEquals(Set.of(0, 1), drawn);
    }

    @Test
    void topPKeepsTheSmallestSetReachingTheMass() {
        // probabilities ~ [0.64, 0.24, 0.09, 0.03]; top_p 0.8 keeps tokens 0 and 1 (0.88 >= 0.8).
        SamplingParams p = new SamplingParams(1.0, 0.8, 0, 1.0, 7);
        TokenSampler s = new TokenSampler(p, 4, new int[0], 99, false);
        Set<Integer> drawn = new HashSet<>();
        for (int i = 0; i < 2000; i++) drawn.add(s.next(new float[] {3f, 2f, 1f, 0f}));
        assertEquals(Set.of(0, 1), drawn);
    }

    /**
     * The min-p draw (only candidates near the top exponentiated, weights relative to the top token) picks what the
     * full softmax path picks: the same seed over the same logits, against a sampler that takes the full path because
     * of a top-p so close to 1 that it drops nothing min-p would keep.
     */
    @Test
    void theMinPShortcutDrawsWhatTheFullSoftmaxDraws() {
        java.util.Random r = new java.util.Random(5);
        for (double minP : new double[] {0.15, 0.02, 0.6}) {
            TokenSampler fast = new TokenSampler(new SamplingParams(0.7, 1.0, minP, 1.0, 99), 2000, new int[0], 99, false);
            TokenSampler full = new TokenSampler(new SamplingParams(0.7, 1 - 1e-12, minP, 1.0, 99), 2000, new int[0], 99, false);
            Set<Integer> distinct = new HashSet<>();
            for (int i = 0; i < 300; i++) {
                float[] logits = new float[2000];
                // logits spread so that about a quarter of the tokens fall below the min-p bound, many close to it
                for (int k = 0; k < logits.length; k++) logits[k] = (float) (r.nextDouble() * -Math.log(minP) * 1.3 * 0.7);
                int a = fast.next(logits.clone()), b = full.next(logits.clone());
                assertEquals(b, a, "draw " + i + " at min_p " + minP);
                distinct.add(a);
            }
            assertTrue(distinct.size() > 5, "the draws vary: " + distinct.size());
        }
    }

    @Test
    void theSameSeedDrawsTheSameSequence() {
        SamplingParams p = new SamplingParams(0.9, 1.0, 0, 1.0, 1234);
        TokenSampler a = new TokenSampler(p, 6, new int[0], 99, false);
        TokenSampler b = new TokenSampler(p, 6, new int[0], 99, false);
        float[] logits = {0.1f, 0.5f, 0.2f, 0.9f, 0.3f, 0.4f};
        for (int i = 0; i < 100; i++) assertEquals(a.next(logits.clone()), b.next(logits.clone()));
    }

    @Test
    void candidatesAreNamedForTheGreedyPenaltyAndTheMinPDrawOnly() {
        TokenSampler recommended = new TokenSampler(SamplingParams.recommended(1), 10, new int[] {1}, 7, true);
        assertEquals(new ModelBackend.Candidates((float) (0.1 * Math.log(0.15)), true), recommended.candidates());
        assertEquals(new ModelBackend.Candidates(0f, true),
                new TokenSampler(new SamplingParams(0, 1, 0, 1.3, 0), 10, new int[0], 7, false).candidates());
        assertEquals(new ModelBackend.Candidates((float) Math.log(0.05), false),
                new TokenSampler(new SamplingParams(1.0, 1, 0.05, 1, 0), 10, new int[0], 7, false).candidates());
        assertNull(new TokenSampler(SamplingParams.GREEDY, 10, new int[0], 7, false).candidates(), "plain greedy picks on the device");
        assertNull(new TokenSampler(new SamplingParams(0.7, 0.9, 0.1, 1, 0), 10, new int[0], 7, false).candidates(), "top-p needs every logit");
        assertNull(new TokenSampler(new SamplingParams(0.7, 1, 0, 1, 0), 10, new int[0], 7, false).candidates(), "no min-p: every logit");
    }

    /**
     * A sampler fed only the candidates of each row (CandidateSelection, the backend's rule) chooses what one fed the
     * whole rows chooses, over many steps: greedy and min-p draws, with and without a repetition penalty (one that
     * lowers and one that raises the seen logits), end-of-sequence suppressed or not. The rows mix wide and flat
     * logits, and put seen tokens on top so that a strong penalty pulls them under unseen ones (the candidates must
     * then reach below the raw maximum).
     */
    @Test
    void candidatesChooseWhatTheWholeRowChooses() {
        int vocab = 3000, eos = 7;
        SamplingParams[] all = {SamplingParams.recommended(11), new SamplingParams(0, 1, 0, 2.0, 0), new SamplingParams(1.0, 1, 0.05, 0.8, 5),
                new SamplingParams(0.6, 1, 0.2, 1, 9), new SamplingParams(0.1, 1, 0.15, 3.0, 13)};
        Random random = new Random(3);
        for (SamplingParams params : all) {
            for (boolean suppressEos : new boolean[] {true, false}) {
                int[] prompt = random.ints(40, 0, vocab).toArray();
                TokenSampler whole = new TokenSampler(params, vocab, prompt, eos, suppressEos);
                TokenSampler sparse = new TokenSampler(params, vocab, prompt, eos, suppressEos);
                ModelBackend.Candidates c = sparse.candidates();
                assertNotNull(c, params.toString());
                boolean[] seen = new boolean[vocab];
                for (int id : prompt) seen[id] = true;
                for (int step = 0; step < 60; step++) {
                    float[] logits = row(random, vocab, step);
                    if (step % 3 == 0) for (int k = 0; k < 5; k++) logits[prompt[k]] = 12f + k;  // seen tokens on top
                    ModelBackend.SparseLogits candidates = CandidateSelection.select(logits, c, seen, suppressEos ? eos : -1);
                    int expected = whole.next(logits.clone());
                    assertEquals(expected, sparse.next(candidates), params + " step " + step + " (" + candidates.count() + " candidates)");
                    seen[expected] = true;
                }
            }
        }
    }

    /** Wide logits, flat ones (many near-ties) and a few with one clear winner. */
    private static float[] row(Random random, int vocab, int step) {
        float[] l = new float[vocab];
        double scale = step % 4 == 0 ? 0.05 : step % 4 == 1 ? 3 : 1;
        for (int i = 0; i < vocab; i++) l[i] = (float) (random.nextGaussian() * scale);
        if (step % 4 == 3) l[random.nextInt(vocab)] = 9f;
        return l;
    }
}
