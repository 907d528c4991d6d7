/**
 * The parts of a text attack (TextAttack's decomposition): a goal function, a transformation that proposes word
 * replacements, constraints on which words and replacements are allowed, and a search method. Plugins implement these
 * interfaces; `runTextAttack` (run.ts) runs an assembled {@link TextAttack} over examples, once for every attack.
 */
import type { Rng } from '../rng.js';
import type { BoundGoal, GoalFunction } from './goals.js';
import type { TextVictim } from './victim.js';
import type { TextState } from './words.js';

/** A replacement of word `index` by `word`. */
export interface Candidate {
  index: number;
  word: string;
}

/** What a transformation may use besides the text. */
export interface TransformContext {
  victim: TextVictim;
  goal: BoundGoal;
  rng: Rng;
  /** Forward+backward passes of white-box methods (not model queries). */
  counters: { gradientCalls: number };
}

export interface Transformation {
  readonly name: string;
  /** Needs `victim.whiteBox` (gradient access). */
  readonly needsWhiteBox?: boolean;
  /** Replacement candidates for the words at `indices` of `state` (never the current word itself). */
  candidates(state: TextState, indices: readonly number[], ctx: TransformContext): Candidate[];
  /**
   * Asynchronous work `candidates` needs first (e.g. masked-LM predictions for all `indices` in one batched call).
   * A search awaits it before calling `candidates` with the same state and indices; a transformation that has it may
   * refuse `candidates` for indices that were not prepared.
   */
  prepare?(state: TextState, indices: readonly number[], ctx: TransformContext): Promise<void>;
}

/** One replacement to check: word `index` of `state` replaced by `word`. */
export interface CandidateCheck {
  state: TextState;
  index: number;
  word: string;
}

export interface Constraint {
  readonly name: string;
  /** May word `index` of `state` be modified? */
  allowIndex?(state: TextState, index: number): boolean;
  /** Is replacing word `index` of `state` by `word` acceptable? */
  allowCandidate?(state: TextState, index: number, word: string): boolean;
  /**
   * Asynchronous verdicts on many replacements at once (a sentence encoder embeds them in one call): one boolean per
   * item, in order. The searches call it once per step with every candidate of that step (of one or several states)
   * that passed all `allowCandidate` checks; a constraint may have both methods.
   */
  allowCandidates?(items: readonly CandidateCheck[]): Promise<boolean[]>;
  /** Set when the constraint is inactive (e.g. no word vectors); reported in the attack summary. */
  readonly note?: string;
}

/** The goal's verdict on one text. */
export interface Evaluation {
  probs: Float32Array;
  score: number;
  success: boolean;
}

/** What a search method sees: the model only through `evaluate` (cached, counted, within the query budget). */
export interface SearchContext {
  readonly goal: BoundGoal;
  readonly victim: TextVictim;
  readonly rng: Rng;
  readonly transformation: Transformation;
  readonly constraints: readonly Constraint[];
  readonly counters: { gradientCalls: number };
  /**
   * Score texts (cached: a text is never sent to the model twice). Entries are null for texts the query budget did
   * not allow; then `exhausted` is true.
   */
  evaluate(texts: readonly string[]): Promise<Array<Evaluation | null>>;
  readonly exhausted: boolean;
}

export interface SearchMethod {
  readonly name: string;
  readonly needsWhiteBox?: boolean;
  /** From the initial state (already evaluated) to the best state found; every returned state's text has been evaluated. */
  run(initial: TextState, initialEval: Evaluation, ctx: SearchContext): Promise<TextState>;
}

/** An assembled text attack: what a text-attack plugin's `create` returns and `runTextAttack` runs. */
export interface TextAttack {
  readonly name: string;
  readonly goal: GoalFunction;
  readonly transformation: Transformation;
  readonly constraints: readonly Constraint[];
  readonly search: SearchMethod;
  /** Deviations and stand-ins the summary repeats (e.g. what replaces the Universal Sentence Encoder). */
  readonly notes?: readonly string[];
  /** The recipe options, for the results file. */
  readonly options?: Record<string, unknown>;
}
