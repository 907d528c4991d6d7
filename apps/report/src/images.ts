import { encode } from 'fast-png';
import type { ImageExample } from '@parry/metrics';

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
