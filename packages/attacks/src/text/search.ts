/**
 * Search methods: greedy search over words ranked by importance (delete / unk / gradient saliency / PWWS weighting /
 * random) and beam search. They see the model only through `SearchContext.evaluate`, which caches texts, counts
 * queries and enforces the query budget.
 */
import { type CandidateCheck, defineTextComponent, type Evaluation, type SearchContext, type SearchMethod, type TextState, UsageError, z } from '@parry/core';
import { acceptCandidate, modifiableIndices } from './constraints.js';
import { alignWords, embeddingGradient } from './white-box.js';




/**
 * Candidate states of `state` at `indices` that pass every constraint. A transformation with `prepare` (masked-LM
 * swaps) is prepared first for all the allowed indices at once.
 */
export async function neighbours(state: TextState, indices: readonly number[], ctx: SearchContext): Promise<TextState[]> {
  return (await neighboursMany([{ state, indices }], ctx))[0];
}

/**
 * {@link neighbours} of several requests (states and word indices) as one search step: the synchronous constraints
 * (`allowCandidate`) filter each request's candidates, then each constraint with an asynchronous batch check
 * (`allowCandidates`, e.g. a sentence encoder) sees every surviving candidate of the step in ONE call. A transformation
 * with `prepare` is prepared once per state, for the union of its requests' allowed indices. One list per request, in
 * order; within a request no two states share a text.
 */
export async function neighboursMany(
  requests: ReadonlyArray<{ state: TextState; indices: readonly number[] }>,
  ctx: SearchContext,
): Promise<TextState[][]> {
  const tctx = { victim: ctx.victim, goal: ctx.goal, rng: ctx.rng, counters: ctx.counters };
  const allowedOf = new Map<TextState, Set<number>>();
  const idxs = requests.map(({ state, indices }) => {
    let allowed = allowedOf.get(state);
    if (!allowed) allowedOf.set(state, (allowed = new Set(modifiableIndices(state, ctx.constraints))));
    return indices.filter((i) => allowed.has(i));
  });
  const out: TextState[][] = requests.map(() => []);
  const checks: CandidateCheck[] = [];
  const at: Array<[number, TextState]> = [];
  const done = new Set<number>();
  for (let r = 0; r < requests.length; r++) {
    if (done.has(r) || idxs[r].length === 0) continue;
    const state = requests[r].state;
    // every request of this state, prepared together, then read in request order
    const group = requests.flatMap((q, k) => (q.state === state && !done.has(k) && idxs[k].length > 0 ? [k] : []));
    if (ctx.transformation.prepare) await ctx.transformation.prepare(state, [...new Set(group.flatMap((k) => idxs[k]))], tctx);
    for (const k of group) {
      done.add(k);
      const seen = new Set<string>();
      for (const c of ctx.transformation.candidates(state, idxs[k], tctx)) {
        if (c.word === state.words[c.index] || !acceptCandidate(state, c.index, c.word, ctx.constraints)) continue;
        const next = state.replace(c.index, c.word);
        if (seen.has(next.text)) continue;
        seen.add(next.text);
        checks.push({ state, index: c.index, word: c.word });
        at.push([k, next]);
      }
    }
  }
  const keep = at.map(() => true);
  for (const c of ctx.constraints) {
    if (!c.allowCandidates) continue;
    const live = checks.flatMap((x, j) => (keep[j] ? [j] : []));
    if (live.length === 0) break;
    const verdicts = await c.allowCandidates(live.map((j) => checks[j]));
    if (verdicts.length !== live.length) throw new Error(`constraint ${c.name} answered ${verdicts.length} verdicts for ${live.length} candidates (a bug in the constraint)`);
    live.forEach((j, v) => (keep[j] = verdicts[v] === true));
  }
  at.forEach(([k, next], j) => {
    if (keep[j]) out[k].push(next);
  });
  return out;
}

/** Word-importance ranking methods of greedy search. */
export const WIR_METHODS = ['delete', 'unk', 'gradient', 'weighted-saliency', 'random'] as const;
export type WirMethod = (typeof WIR_METHODS)[number];

function softmax(xs: number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** Pick the best evaluated state: a successful one with the highest score, else the highest score. */
function best(states: readonly TextState[], evals: ReadonlyArray<Evaluation | null>): { state: TextState; eval: Evaluation } | undefined {
  let pick: { state: TextState; eval: Evaluation } | undefined;
  evals.forEach((e, k) => {
    if (!e) return;
    if (!pick || (e.success && !pick.eval.success) || (e.success === pick.eval.success && e.score > pick.eval.score)) pick = { state: states[k], eval: e };
  });
  return pick;
}

/**
 * How `weighted-saliency` (PWWS) weighs each word's softmax(unk saliency): `textattack` by the best goal score a swap
 * at that word reaches (TextAttack's GreedyWordSwapWIR, `delta_ps.append(max_score_change)` with the score itself), or
 * `paper` by that score minus the original text's score (Ren et al. 2019, eq. 8: ΔP* = P(y|x) − P(y|x*)). The two
 * rank words differently whenever saliencies differ, since `s·m` and `s·(m − score₀)` differ by `s·score₀`.
 */
export const PWWS_WEIGHTINGS = ['textattack', 'paper'] as const;
export type PwwsWeighting = (typeof PWWS_WEIGHTINGS)[number];

/** Word indices in decreasing importance (all queries through `ctx.evaluate`). */
export async function rankWords(
  state: TextState,
  initialEval: Evaluation,
  indices: number[],
  method: WirMethod,
  ctx: SearchContext,
  unk: string,
  weighting: PwwsWeighting = 'textattack',
): Promise<number[]> {
  if (method === 'random') return ctx.rng.shuffle(indices);
  let importance: number[];
  if (method === 'gradient') {
    const wb = ctx.victim.whiteBox;
    if (!wb) throw new UsageError(`gradient word ranking needs a white-box victim (a Parry model); ${ctx.victim.name} gives scores only`);
    const align = alignWords(wb.tokenizer, state.text, state.spans, wb.maxLength, wb.truncation);
    const { grad, dim } = embeddingGradient(wb, align.ids, align.typeIds, ctx.goal);
    ctx.counters.gradientCalls++;
    importance = indices.map((i) => {
      const pos = align.positions[i];
      if (pos.length === 0) return -Infinity;
      let s = 0;
      for (const p of pos) for (let d = 0; d < dim; d++) s += Math.abs(grad[p * dim + d]);
      return s / pos.length;
    });
  } else {
    const texts = indices.map((i) => (method === 'delete' ? state.textWithout(i) : state.textWith(i, unk)));
    const evals = await ctx.evaluate(texts);
    const scores = evals.map((e) => (e ? e.score : -Infinity));
    if (method === 'weighted-saliency') {
      // PWWS: softmax of the unk saliency times the best swap's score (TextAttack) or score gain (the paper); 0 for a
      // word without candidates, as TextAttack.
      const sal = softmax(scores.map((s) => (Number.isFinite(s) ? s : -1e9)));
      const base = weighting === 'paper' ? initialEval.score : 0;
      const gains: number[] = [];
      // every word's swaps as one step (one batch for asynchronous constraints), then scored word by word
      const all = await neighboursMany(indices.map((i) => ({ state, indices: [i] })), ctx);
      for (const next of all) {
        const ev = next.length ? await ctx.evaluate(next.map((n) => n.text)) : [];
        const vals = ev.filter((e): e is Evaluation => !!e).map((e) => e.score);
        gains.push(vals.length ? Math.max(...vals) - base : 0);
      }
      importance = sal.map((s, k) => s * gains[k]);
    } else importance = scores;
  }
  return indices.map((i, k) => ({ i, v: importance[k] })).sort((a, b) => b.v - a.v || a.i - b.i).map((x) => x.i);
}

/**
 * Greedy search with word-importance ranking (TextAttack's GreedyWordSwapWIR): rank the modifiable words once, then
 * for each word in that order try its candidates and keep the best one when it raises the score; stop at success.
 */
export function greedyWir(options: { wir?: WirMethod; unkToken?: string; pwwsWeighting?: PwwsWeighting } = {}): SearchMethod {
  const wir = options.wir ?? 'delete';
  const unk = options.unkToken ?? '[UNK]';
  const weighting = options.pwwsWeighting ?? 'textattack';
  return {
    name: wir === 'weighted-saliency' && weighting === 'paper' ? 'greedy-wir(weighted-saliency, paper)' : `greedy-wir(${wir})`,
    needsWhiteBox: wir === 'gradient',
    async run(initial, initialEval, ctx) {
      const order = await rankWords(initial, initialEval, modifiableIndices(initial, ctx.constraints), wir, ctx, unk, weighting);
      let cur = initial;
      let curEval = initialEval;
      for (const i of order) {
        if (ctx.exhausted) break;
        const next = await neighbours(cur, [i], ctx);
        if (next.length === 0) continue;
        const pick = best(next, await ctx.evaluate(next.map((n) => n.text)));
        if (pick && (pick.eval.success || pick.eval.score > curEval.score)) {
          cur = pick.state;
          curEval = pick.eval;
          if (curEval.success) break;
        }
      }
      return cur;
    },
  };
}

/**
 * Beam search (TextAttack's BeamSearch): expand every state of the beam at every modifiable word, keep the `width`
 * best; stop at the first success, when nothing can be expanded, or (with `stopWhenNoGain`, the default, a guard
 * TextAttack lacks) when the best score stops improving. Without the guard, as TextAttack, the result is the best text
 * of the last step.
 */
export function beamSearch(options: { width?: number; stopWhenNoGain?: boolean } = {}): SearchMethod {
  const width = options.width ?? 10;
  const guard = options.stopWhenNoGain ?? true;
  return {
    name: guard ? `beam(${width})` : `beam(${width}, no gain guard)`,
    async run(initial, initialEval, ctx) {
      let beam: TextState[] = [initial];
      let top = { state: initial, eval: initialEval };
      while (!ctx.exhausted) {
        const pool = (await neighboursMany(beam.map((s) => ({ state: s, indices: modifiableIndices(s, ctx.constraints) })), ctx)).flat();
        const uniq = [...new Map(pool.map((s) => [s.text, s])).values()];
        if (uniq.length === 0) break;
        const evals = await ctx.evaluate(uniq.map((s) => s.text));
        const pick = best(uniq, evals);
        if (!pick) break;
        if (pick.eval.success) return pick.state;
        if (guard && pick.eval.score <= top.eval.score) break;
        top = pick;
        beam = uniq
          .map((s, k) => ({ s, e: evals[k] }))
          .filter((x) => x.e)
          .sort((a, b) => b.e!.score - a.e!.score)
          .slice(0, width)
          .map((x) => x.s);
      }
      return top.state;
    },
  };
}

/** Search methods as registered components (factories). */
export const searchComponents = [
  defineTextComponent({
    kind: 'search',
    name: 'parry/greedy-wir',
    summary: 'greedy word swaps in word-importance order (delete, unk, gradient, weighted-saliency = PWWS, random)',
    options: z.object({
      wir: z.enum(WIR_METHODS).default('delete'),
      unkToken: z.string().default('[UNK]'),
      pwwsWeighting: z.enum(PWWS_WEIGHTINGS).default('textattack').describe("weighted-saliency: best swap score (textattack) or gain over the original (paper)"),
    }),
    create: (_ctx, o) => greedyWir(o),
  }),
  defineTextComponent({
    kind: 'search',
    name: 'parry/beam',
    summary: 'beam search over word swaps, keeping the `width` best texts per step',
    options: z.object({
      width: z.number().int().positive().default(10),
      stopWhenNoGain: z.boolean().default(true).describe('stop when the best score stops improving (TextAttack: false)'),
    }),
    create: (_ctx, o) => beamSearch(o),
  }),
];
