import cliProgress from 'cli-progress';

/** A progress reporter on stderr: an animated bar on a TTY, a few plain lines otherwise (clig.dev). */
export interface Progress {
  update(done: number, extra?: string): void;
  stop(message?: string): void;
}

export interface ProgressOptions {
  quiet?: boolean;
}

export function createProgress(label: string, total: number, options: ProgressOptions = {}): Progress {
  if (options.quiet) return { update() {}, stop() {} };
  const animated = Boolean(process.stderr.isTTY) && !process.env.CI && process.env.TERM !== 'dumb';
  if (animated) {
    const bar = new cliProgress.SingleBar(
      { stream: process.stderr, format: `${label} [{bar}] {value}/{total} {extra} eta {eta_formatted}`, hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { extra: '' });
    return {
      update: (done, extra = '') => bar.update(done, { extra }),
      stop: (message) => {
        bar.stop();
        if (message) process.stderr.write(`${message}\n`);
      },
    };
  }
  let lastTenth = -1;
  process.stderr.write(`${label}: 0/${total}\n`);
  return {
    update(done, extra = '') {
      const tenth = Math.floor((done / total) * 4);
      if (tenth > lastTenth && done < total) {
        lastTenth = tenth;
        if (tenth > 0) process.stderr.write(`${label}: ${done}/${total} ${extra}\n`);
      }
    },
    stop(message) {
      process.stderr.write(`${message ?? `${label}: done`}\n`);
    },
  };
}
