/**
 * Notes the recipes print with their summaries.
 */

/**
 * When the word vectors are the victim's own input embeddings (no counter-fitted file was given): the recipes'
 * cosine thresholds were set by TextAttack for counter-fitted vectors, where synonyms sit close together; embeddings
 * trained from scratch group words by the label they predict, and on SST-2 none of 1,420 sampled words had a neighbour
 * at cosine >= 0.8 (docs/benchmarks.md, "Why TextFooler and HotFlip fail here"), so the recipe finds few or no swaps.
 */
export function ownEmbeddingsNote(source: string, minCosine: number): string[] {
  if (!source.endsWith('input embeddings')) return [];
  return [
    `the word vectors are the victim's own input embeddings, not counter-fitted vectors: the cosine threshold ${minCosine} assumes counter-fitted ones, and embeddings trained from scratch rarely put synonyms that close, so few swaps pass; give --word-vectors <counter-fitted GloVe-format file> for the reference setup, or lower --opt <recipe>.minCosine and say so`,
  ];
}
