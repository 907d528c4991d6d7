/**
 * The Redis a queue runs on: `--redis redis://host:port[/db]` or `PARRY_REDIS_URL`, checked before BullMQ is started
 * so that a bad URL or an unreachable server is one line (exit 2), not a client retrying forever.
 */
import * as net from 'node:net';
import { UsageError } from '@parry/core';
import type { RedisOptions } from 'bullmq';

/** The URL used when neither `--redis` nor `PARRY_REDIS_URL` is given. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** A Redis server to connect to: BullMQ's connection options and the URL (password hidden) for messages. */
export interface RedisTarget {
  connection: RedisOptions;
  /** The URL with any password replaced by `***`, for messages. */
  display: string;
}

const FIX = 'pass --redis redis://host:port[/db] (or set PARRY_REDIS_URL), e.g. --redis redis://127.0.0.1:6379';

/** The URL given by flag, else `PARRY_REDIS_URL`, else the default; `source` names where it came from. */
export function redisUrlFrom(flag: string | undefined, env: Record<string, string | undefined> = process.env): { url: string; source: string } {
  if (flag !== undefined) return { url: flag, source: '--redis' };
  if (env.PARRY_REDIS_URL) return { url: env.PARRY_REDIS_URL, source: 'PARRY_REDIS_URL' };
  return { url: DEFAULT_REDIS_URL, source: 'the default Redis URL' };
}

/**
 * Parse `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS) into BullMQ connection options. Throws one
 * line naming `source` (the flag or variable) and the fix.
 */
export function parseRedisUrl(url: string, source = '--redis'): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`${source} ${JSON.stringify(url)} is not a URL; ${FIX}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UsageError(`${source} ${JSON.stringify(url)} is not a redis:// or rediss:// URL; ${FIX}`);
  if (!u.hostname) throw new UsageError(`${source} ${JSON.stringify(url)} names no host; ${FIX}`);
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d+$/.test(dbText)) throw new UsageError(`${source} ${JSON.stringify(url)}: the path "/${dbText}" is not a database number; ${FIX}`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
  const connection: RedisOptions = {
    host,
    port,
    ...(dbText ? { db: Number(dbText) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: { servername: host } } : {}),
    // BullMQ workers block on Redis: a command must wait for a reconnect instead of failing
    maxRetriesPerRequest: null,
  };
  const display = u.password ? url.replace(`:${u.password}@`, ':***@') : url;
  return { connection, display };
}

/**
 * Check that a TCP connection to the server opens within `timeoutMs`; refused, unknown host or timeout is one line
 * naming the URL and the fix. (BullMQ's client would otherwise retry in the background forever.)
 */
export async function checkReachable(target: RedisTarget, source = '--redis', timeoutMs = 5000): Promise<void> {
  const { host, port } = target.connection as { host: string; port: number };
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port });
    const fail = (why: string) => {
      socket.destroy();
      reject(new UsageError(`cannot reach Redis at ${target.display} (${source}): ${why}; start it (e.g. redis-server --port ${port}) or ${FIX}`));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer in ${Math.round(timeoutMs / 1000)} s`));
    socket.once('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
  });
}

/** BullMQ could not load its Redis client (a missing `ioredis` package) or the server refused it: one line. */
export function redisClientError(e: unknown, target: RedisTarget): Error {
  const message = e instanceof Error ? e.message : String(e);
  if (/could not load the optional 'ioredis' package/.test(message)) {
    return new UsageError("BullMQ's Redis client (the ioredis package) is not installed; add ioredis to the dependencies next to bullmq");
  }
  if (/NOAUTH|WRONGPASS|invalid password|invalid username/i.test(message)) {
    return new UsageError(`Redis at ${target.display} refused the credentials (${message.split('\n')[0]}); give user:password in the URL, e.g. redis://user:secret@host:6379`);
  }
  return e instanceof Error ? e : new Error(message);
}
