// Runs inside the node-llama-cpp install (bench/peers/llamacpp.ts copies it there): llama.cpp's grammar
// engine through node-llama-cpp's LlamaJsonSchemaGrammar on cases prepared by peer-llamacpp.ts.
//   node llamacpp-grammar.mjs <cases.json> <model.gguf>
// The mask is what llama.cpp computes when it must constrain a whole row: the grammar sampler applied
// to every candidate of the 128,256-token vocabulary (node-llama-cpp does that when confidence is
// requested). Its cost is the sampling time with the grammar minus the same sampling without it.
import { readFileSync } from 'node:fs';
import { getLlama, LlamaJsonSchemaGrammar, LlamaGrammarEvaluationState } from 'node-llama-cpp';

const [casesFile, modelPath] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize: 64, sequences: 1, threads: 1 });
const bindings = llama._bindings;
const ctx = context._ctx;
// One row of logits to sample from, reused for every step: the mask's cost does not depend on the values.
ctx.initBatch(1);
const [logitIndex] = ctx.addToBatch(0, 0, Uint32Array.of(model.tokens.bos ?? 0), Uint32Array.of(0));
await ctx.decodeBatch();

const plain = new bindings.AddonSampler(model._model);
plain.applyConfig({ temperature: 0 });
const base = [];
for (let i = 0; i < 200; i++) {
  const t = process.hrtime.bigint();
  await ctx.sampleToken(logitIndex, plain, false, true);
  base.push(Number(process.hrtime.bigint() - t) / 1000);
}
base.sort((a, b) => a - b);
const baseUs = base[base.length >> 1];

const results = [];
const rawUs = [];
const compileMs = [];
for (const c of cases) {
  const row = { file: c.file, category: c.category };
  let grammar;
  const t0 = process.hrtime.bigint();
  try {
    grammar = new LlamaJsonSchemaGrammar(llama, c.schema);
    new LlamaGrammarEvaluationState({ model, grammar }); // parses the GBNF into llama.cpp's grammar
  } catch (e) {
    results.push({ ...row, outcome: 'compile_error', detail: String(e).slice(0, 200) });
    continue;
  }
  compileMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  let outcome = 'pass';
  for (const t of c.tests) {
    const state = new LlamaGrammarEvaluationState({ model, grammar });
    const sampler = new bindings.AddonSampler(model._model);
    sampler.applyConfig({ temperature: 0, grammarEvaluationState: state._state });
    let ok = true;
    for (const id of t.ids) {
      const s = process.hrtime.bigint();
      await ctx.sampleToken(logitIndex, sampler, false, true);
      if (t.valid) rawUs.push(Number(process.hrtime.bigint() - s) / 1000);
      if (!bindings.AddonSampler.canBeNextTokenForGrammarEvaluationState(state._state, id)) {
        ok = false;
        break;
      }
      bindings.AddonSampler.acceptGrammarEvaluationStateToken(state._state, id);
    }
    // node-llama-cpp's JSON grammars end in four newlines, its stop trigger: an instance is complete when
    // they may follow it and EOS after them (EOS passes llama.cpp's grammar only where the root is complete).
    for (const id of [...c.tail, c.eos]) {
      if (!ok) break;
      ok = bindings.AddonSampler.canBeNextTokenForGrammarEvaluationState(state._state, id);
      if (ok && id !== c.eos) bindings.AddonSampler.acceptGrammarEvaluationStateToken(state._state, id);
    }
    sampler.dispose();
    if (t.valid && !ok && outcome === 'pass') outcome = 'validation_error';
    if (!t.valid && ok) outcome = 'invalidation_error';
  }
  results.push({ ...row, outcome });
  process.stderr.write(`${c.file}: ${outcome}\n`);
}
console.log(JSON.stringify({ results, rawUs, baseUs, compileMs }));
await context.dispose();
await model.dispose();
