import { encode } from 'fast-png';
import { InputError } from '@parry/core';
import type { ImageExample, Results } from '@parry/metrics';
import { neutraliseBidi } from './escape.js';

/** How much the perturbation image amplifies `adversarial - original` around mid-grey. */
export const AMPLIFY = 5;

function dims(shape: number[]): { width: number; height: number; channels: number } {
  const [height, width, channels = 1] = shape;
  return { width, height, channels };
}

function decode(b64: string, expected: number): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
  if (bytes.length !== expected) throw new RangeError(`image has ${bytes.length} bytes, expected ${expected} for its shape`);
  return bytes;
}

/** A PNG data URI for uint8 pixels of shape `[h, w]`, `[h, w, 1]` or `[h, w, 3]`. */
export function pngDataUri(pixels: Uint8Array, shape: number[]): string {
  const { width, height, channels } = dims(shape);
  const png = encode({ width, height, data: pixels, channels, depth: 8 });
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

/** The three images of one example at one epsilon: original, adversarial and the perturbation `0.5 + AMPLIFY * delta`. */
export function exampleImages(example: ImageExample, k: number): { original: string; adversarial: string; perturbation: string } {
  const { width, height, channels } = dims(example.shape);
  const size = width * height * channels;
  const original = decode(example.original, size);
  const adversarial = decode(example.perEpsilon[k].adversarial, size);
  const delta = new Uint8Array(size);
  for (let i = 0; i < size; i++) delta[i] = Math.max(0, Math.min(255, Math.round(127.5 + AMPLIFY * (adversarial[i] - original[i]))));
  return { original: pngDataUri(original, example.shape), adversarial: pngDataUri(adversarial, example.shape), perturbation: pngDataUri(delta, example.shape) };
}

/** The original image alone. */
export function originalImage(example: ImageExample): string {
  const { width, height, channels } = dims(example.shape);
  return pngDataUri(decode(example.original, width * height * channels), example.shape);
}

/** One line, no control characters: names from a results file as they may appear in an error message. */
const oneLine = (s: string) => neutraliseBidi(s).replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');

/**
 * Check every image example of every results file before anything is drawn: a shape `[h, w]` or `[h, w, c]` of
 * positive integers with 1 to 4 channels, `original` and each `adversarial` decoding to exactly `h * w * c` bytes,
 * and the same epsilons in every example of an attack (the grid has one column per epsilon). `validateResults`
 * checks the bytes too; this guards results given in memory. Throws one `InputError` line naming the results file,
 * the attack and the example.
 */
export function checkImageExamples(sources: readonly { file: string; results: Results }[]): void {
  for (const { file, results } of sources) {
    for (const attack of results.attacks) {
      if (attack.modality !== 'image') continue;
      const examples = attack.examples ?? [];
      examples.forEach((x, k) => {
        const bad = (what: string) =>
          new InputError(`results file ${oneLine(file)}: attack ${oneLine(attack.attack)}, example ${k} (index ${x.index}): ${what}; write the results again with \`parry eval\``);
        const shape = x.shape;
        if (!Array.isArray(shape) || shape.length < 2 || shape.length > 3 || !shape.every((d) => Number.isInteger(d) && d > 0) || (shape.length === 3 && shape[2] > 4)) {
          throw bad(`shape ${JSON.stringify(shape)} is not an image ([height, width] or [height, width, channels] with 1 to 4 channels)`);
        }
        const need = shape.reduce((a, b) => a * b, 1);
        const bytes = (b64: unknown) => (typeof b64 === 'string' ? Buffer.from(b64, 'base64').length : -1);
        const original = bytes(x.original);
        if (original !== need) throw bad(`original has ${original} bytes, its shape [${shape}] needs ${need}`);
        const first = examples[0].perEpsilon.map((p) => p.epsilon);
        if (x.perEpsilon.length !== first.length || x.perEpsilon.some((p, j) => p.epsilon !== first[j])) {
          throw bad(`has ${x.perEpsilon.length} epsilon(s) [${x.perEpsilon.map((p) => p.epsilon)}], example 0 has ${first.length} [${first}]`);
        }
        for (const p of x.perEpsilon) {
          const adversarial = bytes(p.adversarial);
          if (adversarial !== need) throw bad(`adversarial at eps ${p.epsilon} has ${adversarial} bytes, its shape [${shape}] needs ${need}`);
        }
      });
    }
  }
}
