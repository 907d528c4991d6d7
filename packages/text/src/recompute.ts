/**
 * Activation recomputation ("gradient checkpointing") for tfjs: a function whose backward pass runs its forward again
 * instead of keeping its intermediates on the gradient tape.
 *
 * tfjs' tape keeps every tensor a kernel saves for its backward pass until the whole backward pass ends, and it keeps
 * every intermediate gradient until then too. For a Transformer layer that is ~30 activation-sized tensors per layer
 * for the whole step. Wrapped here, a layer leaves on the outer tape its input, the attention mask and what it keeps
 * (a {@link Keeper}: the outputs of its dense layers, 9 x tokens x hidden values for a BERT layer); its own tape lives
 * only while its gradients are computed, one layer at a time: the activation memory of one layer instead of all of
 * them. Only the ops that are not kept run again (softmax, GELU, LayerNorm, the attention products, dropout): a
 * recomputation that ran every matMul again cost about one more forward pass (27% of a step).
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
 * What a recomputed function keeps from its first run. `keep(compute, replay)` in the first run computes and keeps
 * `compute()`; in the recomputation it returns `replay(kept)` instead (for the same call, in call order), which
 * must have the value of `kept` and the gradients `compute` would have had. So an expensive op (a dense layer's
 * matMul) is computed once, and only the cheap ones around it run again.
 */
export interface Keeper {
  keep(compute: () => tf.Tensor, replay: (kept: tf.Tensor) => tf.Tensor): tf.Tensor;
}

/**
 * `f(keeper, ...inputs)`, whose gradient is taken by running `f` again: only `inputs` and what `f` keeps through
 * `keeper` stay for the backward pass; there the gradients w.r.t. `inputs` and `weights` come from a fresh tape over
 * a second call of `f`, whose kept ops replay their kept values.
 *
 * @param f a function of `inputs` that reads `weights` (from its closure) and no other variable; each call must
 *   compute the same function (same dropout masks: see `replayingDropout`) and make the same `keep` calls in the
 *   same order.
 * @param inputs tensors the gradient flows back through (kept until the backward pass).
 * @param weights the variables `f` reads; their gradients go to the outer tape as every other op's do.
 */
export function recomputeGrad(
  f: (keeper: Keeper, ...inputs: tf.Tensor[]) => tf.Tensor,
  inputs: readonly tf.Tensor[],
  weights: readonly tf.Variable[],
): tf.Tensor {
  const n = inputs.length;
  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const xs = (args as tf.Tensor[]).slice(0, n);
    const kept: tf.Tensor[] = [];
    const value = f({ keep: (compute) => {
      const y = compute();
      kept.push(y);
      return y;
    } }, ...xs);
    save([...xs, ...kept]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        withOwnTape(() => {
          const wrt = [...saved.slice(0, n), ...weights];
          let at = 0;
          const replay: Keeper = {
            keep: (_compute, again) => {
              if (n + at >= saved.length) throw new Error('recomputeGrad: the recomputation made more keep calls than the first run');
              return again(saved[n + at++]);
            },
          };
          const { value: y, grads } = tf.engine().gradients(() => f(replay, ...saved.slice(0, n)), wrt, dy, true);
          y.dispose();
          // an input the function does not depend on (e.g. the mask of a row without padding) gets zeros
          return wrt.map((x, i) => grads[i] ?? tf.zerosLike(x));
        }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(...inputs, ...weights);
}
