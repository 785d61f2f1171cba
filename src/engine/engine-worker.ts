/**
 * The engine thread: loads the weights into a backend and runs forward steps for the main thread's
 * scheduler (worker-executor.ts), so the main thread's event loop never waits on compute.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { EngineRequest, EngineWorkerData, FromEngine } from './engine-protocol.js';
import { LocalExecutor } from './executor.js';
import { errorToData } from '../errors/transfer.js';
import { loadWeightsInto } from '../model/load.js';

const port = parentPort!;
const data = workerData as EngineWorkerData;
const post = (m: FromEngine, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

async function main(): Promise<void> {
  let exec: LocalExecutor;
  try {
    exec = await loadWeightsInto(data.path, data.backend, data.threads, (loaded, total, tensor) => post({ kind: 'progress', loaded, total, tensor }));
  } catch (e) {
    post({ kind: 'loadError', error: errorToData(e) });
    return;
  }
  post({ kind: 'ready', info: exec.info });
  port.on('message', (m: EngineRequest) => {
    void handle(exec, m);
  });
}

async function handle(exec: LocalExecutor, m: EngineRequest): Promise<void> {
  try {
    switch (m.op) {
      case 'createCache':
        exec.createCacheSync(m.cache, m.capacity, m.dtype);
        return post({ kind: 'reply', id: m.id, value: null });
      case 'freeCache':
        exec.freeCache(m.cache);
        return post({ kind: 'reply', id: m.id, value: null });
      case 'copyCache':
        await exec.copyCache(m.dst, m.src, m.n);
        return post({ kind: 'reply', id: m.id, value: null });
      case 'step': {
        const logits = exec.stepSync(m.batch, m.out && new Float32Array(m.out));
        return post({ kind: 'reply', id: m.id, value: logits }, [logits.buffer as ArrayBuffer]);
      }
      case 'bandwidth':
        return post({ kind: 'reply', id: m.id, value: (await exec.measureReadBandwidth()) ?? null });
      case 'workSharing':
        return post({ kind: 'reply', id: m.id, value: (await exec.workSharing()) ?? null });
      case 'profile':
        return post({ kind: 'reply', id: m.id, value: (await exec.profile(m.clear)) ?? null });
      case 'dispose':
        await exec.dispose();
        post({ kind: 'reply', id: m.id, value: null });
        port.close();
        return;
    }
  } catch (e) {
    post({ kind: 'reply', id: m.id, error: errorToData(e) });
  }
}

void main();
