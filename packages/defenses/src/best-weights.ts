import * as tf from '@tensorflow/tfjs-core';
import type { DefenseState } from '@parry/core';
import { restoreWeights, snapshotWeights } from './adversarial.js';

/** Tracks the best value of a metric and a copy of the weights at that point; resumable through `DefenseState`. */
export class BestWeights {
  best = Number.NEGATIVE_INFINITY;
  bestEpoch = 0;
  private saved: tf.Tensor[] = [];

  /** Record `value` at `epoch`; keeps a weight copy when it improves on the best by more than `minDelta`. */
  offer(value: number, epoch: number, weights: readonly tf.Variable[], minDelta = 0): boolean {
    if (!(value > this.best + minDelta)) return false;
    this.best = value;
    this.bestEpoch = epoch;
    tf.dispose(this.saved);
    this.saved = snapshotWeights(weights);
    return true;
  }

  /** Put the best weights back; false when none were kept. */
  restore(weights: readonly tf.Variable[]): boolean {
    if (this.saved.length === 0) return false;
    restoreWeights(weights, this.saved);
    return true;
  }

  getState(extra: Record<string, unknown> = {}): DefenseState {
    return {
      json: { ...extra, best: Number.isFinite(this.best) ? this.best : null, bestEpoch: this.bestEpoch, count: this.saved.length },
      tensors: Object.fromEntries(this.saved.map((t, i) => [`best/${i}`, t])),
    };
  }

  setState(state: DefenseState): Record<string, unknown> {
    const json = (state.json ?? {}) as { best: number | null; bestEpoch: number; count: number } & Record<string, unknown>;
    this.best = json.best ?? Number.NEGATIVE_INFINITY;
    this.bestEpoch = json.bestEpoch ?? 0;
    tf.dispose(this.saved);
    this.saved = Array.from({ length: json.count ?? 0 }, (_, i) => {
      const t = state.tensors?.[`best/${i}`];
      if (!t) throw new Error(`checkpoint is missing best weights ${i}`);
      return tf.keep(tf.clone(t));
    });
    return json;
  }

  dispose(): void {
    tf.dispose(this.saved);
    this.saved = [];
  }
}
