#!/bin/bash
# Submit the sharded evaluation and its merge. Run it from the directory that holds runs/mnist-cnn (in a Parry clone:
# the repository root, after `parry train`): Slurm runs both scripts in the directory they were submitted from.
# `parry` must be on PATH on the compute nodes (e.g. a wrapper script that runs node <clone>/apps/cli/dist/bin.js).
set -euo pipefail
here=$(dirname "$0")

mkdir -p logs runs/shards
jobid=$(sbatch --parsable "$here/parry-eval.sbatch")
sbatch --dependency=afterok:"$jobid" "$here/parry-merge.sbatch"
echo "submitted the array $jobid and its merge; squeue --me shows them"
