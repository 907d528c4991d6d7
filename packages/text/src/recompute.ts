/**
 * Activation recomputation ("gradient checkpointing") for tfjs: a function whose backward pass runs its forward again
 * instead of keeping its intermediates on the gradient tape.
 *
 * tfjs' tape keeps every tensor a kernel saves for its backward pass until the whole backward pass ends, and it keeps
 * every intermediate gradient until then too. For a Transformer layer that is ~30 activation-sized tensors per layer
 * for the whole step. Wrapped here, a layer leaves two things on the outer tape (its input and the attention mask);
 * its own tape lives only while its gradients are computed, one layer at a time: the activation memory of one layer
 * instead of all of them, for about one more forward pass of time.
 */
import * as tf from '@tensorflow/tfjs-core';

interface EngineState {
  activeTape: unknown;
}

/**
 * Runs `fn` and restores the engine's active tape afterwards. Computing gradients inside a backward pass (the outer
 * tape's gradient depth is 0 there) makes the inner `gradients` call replace the active tape and leave it null at its
 * end, where the outer call still reads it to free its saved tensors.
 */
function withOwnTape<T>(fn: () => T): T {
  const state = (tf.engine() as unknown as { state: EngineState }).state;
  const outer = state.activeTape;
  try {
    return fn();
  } finally {
    state.activeTape = outer;
  }
}

/**
 * `f(...inputs)`, whose gradient is taken by running `f` again: only `inputs` are kept for the backward pass; there
 * the gradients w.r.t. `inputs` and `weights` come from a fresh tape over a second call of `f`.
 *
 * @param f a function of `inputs` that reads `weights` (from its closure) and no other variable; each call must
 *   compute the same function (same dropout masks: see `replayingDropout`).
 * @param inputs tensors the gradient flows back through (kept until the backward pass).
 * @param weights the variables `f` reads; their gradients go to the outer tape as every other op's do.
 */
export function recomputeGrad(f: (...inputs: tf.Tensor[]) => tf.Tensor, inputs: readonly tf.Tensor[], weights: readonly tf.Variable[]): tf.Tensor {
  const n = inputs.length;
  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const xs = args as tf.Tensor[];
    save(xs.slice(0, n));
    return {
      value: f(...xs.slice(0, n)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        withOwnTape(() => {
          const wrt = [...saved, ...weights];
          const { value, grads } = tf.engine().gradients(() => f(...saved), wrt, dy, true);
          value.dispose();
          // an input the function does not depend on (e.g. the mask of a row without padding) gets zeros
          return wrt.map((x, i) => grads[i] ?? tf.zerosLike(x));
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(...inputs, ...weights);
}
