import { describe, expect, it } from 'vitest';
import { ownEmbeddingsNote } from './notes.js';

describe('recipe notes', () => {
  it('warn when the word vectors are the victim\'s own input embeddings, and only then', () => {
    const [note] = ownEmbeddingsNote('bert input embeddings', 0.8);
    expect(note).toMatch(/own input embeddings, not counter-fitted vectors: the cosine threshold 0\.8/);
    expect(note).toMatch(/--word-vectors/);
    expect(ownEmbeddingsNote('/data/counter-fitted-vectors.txt', 0.5)).toEqual([]);
  });
});
