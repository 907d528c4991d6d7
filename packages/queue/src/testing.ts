/**
 * Test kit: a real `redis-server` on 127.0.0.1 for the length of a test file (no persistence, in a temporary folder).
 * Tests never mock Redis. Without the binary: under CI (the `CI` variable set) `startRedisServer` throws, so the tests
 * fail loudly; elsewhere it returns undefined after printing why, and the caller skips.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface RedisServer {
  url: string;
  port: number;
  process: ChildProcess;
  /** Kill the server (SIGKILL) and delete its folder. */
  stop(): Promise<void>;
}

/** Whether `redis-server` is on the PATH. */
export const hasRedisServer = () => spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

/** A TCP port free on 127.0.0.1 now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Start `redis-server --port <free> --bind 127.0.0.1 --save '' --appendonly no` in a temporary folder and wait until it
 * accepts connections. `label` names the test file in the skip message.
 */
export async function startRedisServer(label: string): Promise<RedisServer | undefined> {
  if (!hasRedisServer()) {
    const why = `redis-server is not installed (apt-get install redis-server); the queue tests of ${label} need a real one`;
    if (process.env.CI) throw new Error(`${why}: .ci/run installs it, so under CI this is a failure`);
    process.stderr.write(`SKIPPED ${label}: ${why}\n`);
    return undefined;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-redis-'));
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += String(d)));
    child.stderr!.on('data', (d) => (output += String(d)));
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setInterval(() => {
        if (/Ready to accept connections/.test(output)) done(true);
      }, 20);
      const done = (v: boolean) => {
        clearInterval(timer);
        resolve(v);
      };
      child.once('exit', () => done(false));
      setTimeout(() => done(/Ready to accept connections/.test(output)), 10_000);
    });
    if (ready) {
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        process: child,
        async stop() {
          if (child.exitCode === null) {
            const gone = new Promise((r) => child.once('exit', r));
            child.kill('SIGKILL');
            await gone;
          }
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    if (tries >= 2) throw new Error(`redis-server did not start on 127.0.0.1:${port}: ${output.trim().split('\n').slice(-3).join(' | ')}`);
  }
}
