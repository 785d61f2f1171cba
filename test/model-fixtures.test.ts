import { test } from 'node:test';
import { skipNoFixtures } from './fixtures.js';
import { CONTAINERS, KQ_QUANTS, checkContainer, checkQuantized } from './helpers/model-checks.js';

for (const c of CONTAINERS) {
  test(`ref backend: ${c.model} ${c.file || 'HF folder'} matches the float64 reference`, { skip: skipNoFixtures }, async () => {
    const r = await checkContainer(c, { backend: 'ref' });
    if (process.env.LLAMA_TS_REPORT) console.log(JSON.stringify(r));
  });
}

for (const q of KQ_QUANTS) {
  test(`ref backend: llama.cpp-quantized ${q} matches the dequantized reference`, { skip: skipNoFixtures }, async () => {
    const r = await checkQuantized(q, { backend: 'ref' }, 1e-4, true);
    if (process.env.LLAMA_TS_REPORT) console.log(JSON.stringify(r));
  });
}
