export { trainClassifier, learningRateAt, type TrainOptions, type EpochRecord, type LabelledTensors } from './trainer.js';
