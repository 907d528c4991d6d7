/** Text attacks as contracts: goals, words, parts of an attack, resources, the victim and the runner. */
export * from './words.js';
export * from './goals.js';
export * from './contract.js';
export * from './resources.js';
export * from './victim.js';
export * from './run.js';
