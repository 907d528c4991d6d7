import * as os from 'node:os';
import { getBackendInfo, type BackendInfo } from './backend.js';

/** Facts about where a result was produced; goes into every results file. */
export interface EnvironmentInfo {
  backend: BackendInfo | null;
  node: string;
  platform: string;
  arch: string;
  cpuModel: string;
  cpuCount: number;
  totalMemoryGiB: number;
}

export function environmentInfo(): EnvironmentInfo {
  const cpus = os.cpus();
  return {
    backend: getBackendInfo() ?? null,
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  };
}
