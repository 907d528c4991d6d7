export { trainClassifier, type TrainOptions, type EpochRecord, type LabelledTensors } from './trainer.js';
