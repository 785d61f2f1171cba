/**
 * Runs untrusted generated code (HumanEval/MBPP-style programs) in a child Python process with a
 * wall-clock limit (the process group is killed), an address-space limit (RLIMIT_AS) and a CPU
 * limit, a throwaway working folder and a bare environment, and no network: in a fresh network
 * namespace (`unshare -n`, no interfaces up) where the system allows it, and in every case with
 * Python's socket layer disabled before the program runs. It keeps honest mistakes and runaway
 * programs contained; it is not a security boundary against hostile code (use a VM for that).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadArgumentError } from '../errors/errors.js';

export interface SandboxOptions {
  /** Wall-clock limit (default 10 s). */
  readonly timeoutMs?: number;
  /** Address-space limit (default 1 GiB). */
  readonly memoryBytes?: number;
  /** Python interpreter (default python3). */
  readonly python?: string;
}

export type SandboxStatus = 'passed' | 'failed' | 'timeout' | 'memory';

export interface SandboxResult {
  readonly status: SandboxStatus;
  readonly exitCode: number | null;
  /** The end of stderr (for the per-item records). */
  readonly stderr: string;
  readonly ms: number;
  /** Whether the network namespace was used (else only the in-process guard). */
  readonly netns: boolean;
}

/** Set up inside the child before the program: limits, then no sockets. Written for this project. */
const GUARD = `
import resource, sys
mem = int(sys.argv[1]); cpu = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
import socket
def _no_network(*args, **kwargs):
    raise OSError("network access is disabled in the sandbox")
for _name in ("socket", "create_connection", "create_server", "socketpair", "fromfd", "getaddrinfo", "gethostbyname"):
    setattr(socket, _name, _no_network)
sys.modules["_socket"] = None
del socket, _name, resource
with open(sys.argv[3], encoding="utf-8") as _f:
    _src = _f.read()
exec(compile(_src, "program.py", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
`;

let netnsOk: boolean | undefined;
/** Whether `unshare -n` works here (root, or unprivileged user namespaces). Probed once. */
function netnsAvailable(): boolean {
  if (netnsOk === undefined) {
    const r = spawnSync('unshare', ['-n', 'true'], { timeout: 5000, stdio: 'ignore' });
    netnsOk = r.status === 0;
  }
  return netnsOk;
}

export function runPython(program: string, o: SandboxOptions = {}): Promise<SandboxResult> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const mem = o.memoryBytes ?? 2 ** 30;
  if (!(timeoutMs > 0) || !(mem > 0)) throw new BadArgumentError('sandbox limits must be positive');
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-sandbox-'));
  writeFileSync(join(dir, 'program.py'), program);
  const py = o.python ?? 'python3';
  const args = ['-I', '-B', '-c', GUARD, String(mem), String(Math.ceil(timeoutMs / 1000) + 1), join(dir, 'program.py')];
  const netns = netnsAvailable();
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(netns ? 'unshare' : py, netns ? ['-n', '--', py, ...args] : args, {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', PYTHONHASHSEED: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true, // its own process group, so a fork bomb's children die with it
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-4000);
    });
    let timedOut = false;
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      killGroup(); // anything it left behind
      rmSync(dir, { recursive: true, force: true });
      const cpuKilled = signal === 'SIGXCPU' || signal === 'SIGKILL';
      const status: SandboxStatus = timedOut || (cpuKilled && !/MemoryError/.test(stderr)) ? 'timeout' : /MemoryError/.test(stderr) ? 'memory' : code === 0 ? 'passed' : 'failed';
      resolve({ status, exitCode: code, stderr, ms: performance.now() - t0, netns });
    };
    child.on('error', (e) => {
      stderr += String(e);
      finish(null, null);
    });
    child.on('close', finish);
  });
}

/**
 * The unbiased pass@k estimator (Chen et al. 2021): 1 − C(n−c, k) / C(n, k), computed as a
 * product so it stays exact in floating point for large n.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || n < 1 || c < 0 || c > n || k < 1 || k > n) {
    throw new BadArgumentError(`pass@k needs integers 0 ≤ c ≤ n, 1 ≤ k ≤ n (n ${n}, c ${c}, k ${k})`);
  }
  if (n - c < k) return 1;
  let p = 1;
  for (let i = n - c + 1; i <= n; i++) p *= 1 - k / i;
  return 1 - p;
}
