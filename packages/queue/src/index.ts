/** Run a Parry evaluation across machines on a BullMQ queue over Redis: submit shards as jobs, work them off, merge. */
export { DEFAULT_REDIS_URL, type RedisTarget, checkReachable, parseRedisUrl, redisUrlFrom } from './redis.js';
export {
  DEFAULT_QUEUE,
  type EvaluationSpec,
  type PlannedJob,
  type PlanOptions,
  type ShardJobData,
  type ShardJobResult,
  checkRunId,
  jobIdOf,
  planShardJobs,
  resolvePaths,
  runIdOf,
  shardFileOf,
} from './jobs.js';
export { type EvaluateShardOptions, type ShardProgress, evaluateShard, isTextTarget, workerName } from './evaluate.js';
export { type WorkerOptions, runWorker } from './worker.js';
export { type CollectOptions, type CollectStatus, type SubmitOptions, type SubmitOutcome, collectEvaluation, openQueue, submitEvaluation } from './submit.js';
