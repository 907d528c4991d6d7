/** The built-in text-attack recipes, one file each, registered like any third-party recipe. */
export { pwws } from './pwws.js';
export { textFooler } from './textfooler.js';
export { deepWordBug } from './deepwordbug.js';
export { hotFlip } from './hotflip.js';
export { bae } from './bae.js';
export { bertAttack } from './bert-attack.js';
