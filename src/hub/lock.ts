/**
 * One writer per blob across processes: `<blob>.lock` is created exclusively and holds the owner's
 * pid. Others wait for it to go away; a lock whose process is gone (killed mid-download) is taken over.
 */
import { openSync, closeSync, writeSync, readFileSync, rmSync } from 'node:fs';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

function tryTake(lock: string): boolean {
  try {
    const fd = openSync(lock, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  }
}

function stale(lock: string): boolean {
  let text: string;
  try {
    text = readFileSync(lock, 'utf8');
  } catch {
    return false; // gone already: the next try takes it
  }
  const pid = Number(text);
  // Empty: the owner is between create and write; give it time.
  return text !== '' && (!Number.isInteger(pid) || !alive(pid));
}

export async function withFileLock<T>(lock: string, fn: () => Promise<T>, o: { onWait?: () => void; pollMs?: number } = {}): Promise<T> {
  let waited = false;
  for (;;) {
    if (tryTake(lock)) break;
    if (stale(lock)) {
      rmSync(lock, { force: true });
      continue;
    }
    if (!waited) o.onWait?.();
    waited = true;
    await new Promise((r) => setTimeout(r, o.pollMs ?? 300));
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}
