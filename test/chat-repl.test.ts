import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, skipNoFixtures, HAVE_FIXTURES } from './fixtures.js';
import { loadTokenizer } from '../src/tokenizer/load.js';
import { loadModel } from '../src/model/load.js';
import type { Tokenizer } from '../src/tokenizer/types.js';
import type { Model } from '../src/model/types.js';
import type { Session } from '../src/model/session.js';
import type { LlamaConfig } from '../src/config/config.js';
import type { GenerateChunk, GenerateOptions, GenerateResult } from '../src/generate/options.js';
import { chatCommand } from '../src/cli/chat.js';

const GGUF = fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf');
let tok: Tokenizer;
let template: string;

before(async () => {
  if (!HAVE_FIXTURES) return;
  tok = await loadTokenizer(GGUF);
  template = readFileSync(fixture('chat', 'llama3.1-instruct.chat_template.jinja'), 'utf8');
});

interface Call {
  prompt: number[];
  options: GenerateOptions;
}

/** A Model whose replies are scripted: records every prompt and the session it was given. */
function scriptedModel(replies: string[], contextSize: number): { model: Model; calls: Call[]; session: { resets: number; disposed: boolean } } {
  const state = { resets: 0, disposed: false };
  const session = {
    contextSize,
    tokens: [] as number[],
    reset: () => {
      state.resets++;
    },
    dispose: () => {
      state.disposed = true;
    },
  };
  const calls: Call[] = [];
  const eom = tok.specialId('<|eom_id|>')!;
  const model: Model = {
    config: {} as LlamaConfig,
    tokenizer: tok,
    chatTemplate: template,
    logits: () => Promise.reject(new Error('not used')),
    session: () => session as unknown as Session,
    async *generate(prompt: string | readonly number[], options: GenerateOptions = {}): AsyncGenerator<GenerateChunk, GenerateResult, void> {
      assert.ok(Array.isArray(prompt));
      calls.push({ prompt: [...(prompt as number[])], options });
      let text = replies.shift() ?? '';
      const endsEom = text.endsWith('<|eom_id|>');
      if (endsEom) text = text.slice(0, -'<|eom_id|>'.length);
      const ids = tok.encode(text, { addBos: false, specials: 'parse' });
      for (const id of ids) yield { id, text: tok.isSpecial(id) ? '' : tok.decode([id]) };
      return {
        ids,
        text,
        finishReason: 'stop',
        ...(endsEom ? { stoppedBy: eom } : { stoppedBy: tok.specialId('<|eot_id|>')! }),
        promptTokens: prompt.length,
        timings: { prefillMs: 0, decodeMs: 0, prefillTps: 0, decodeTps: 0 },
      };
    },
    dispose: () => Promise.resolve(),
  };
  return { model, calls, session: state };
}

async function runScript(model: Model, lines: string[], extra: { system?: string; maxTokens?: number } = {}): Promise<string> {
  const output = new PassThrough();
  let out = '';
  output.on('data', (d: Buffer) => (out += d.toString('utf8')));
  await chatCommand(model, { ...extra, dateString: '26 Jul 2024', input: Readable.from([lines.join('\n') + '\n']), output });
  return out;
}

const decode = (ids: readonly number[]) => tok.decode(ids);

test('scripted REPL: streaming, one session, system prompt kept across /reset, /system, /exit', { skip: skipNoFixtures }, async () => {
  const { model, calls, session } = scriptedModel(['Hello, human.', 'Four.', 'Again hi.'], 4096);
  const out = await runScript(model, ['Hi!', '/system Be brief.', 'What is 2+2?', '/reset', 'Hello again', '/exit', 'never sent'], { system: 'You are a pirate.', maxTokens: 64 });
  assert.equal(calls.length, 3);
  assert.ok(out.includes('Hello, human.\n') && out.includes('Four.\n') && out.includes('Again hi.\n'), out);
  assert.ok(out.includes('[system prompt set]') && out.includes('[history cleared; system prompt kept]'));
  // Every turn reuses the one session; EOT/EOM are stop ids.
  assert.ok(calls.every((c) => c.options.session === calls[0]!.options.session && c.options.session !== undefined));
  assert.deepEqual([...(calls[0]!.options.stopIds ?? [])].sort(), [128008, 128009]);
  assert.equal(calls[0]!.options.maxTokens, 64);
  const p0 = decode(calls[0]!.prompt);
  const p1 = decode(calls[1]!.prompt);
  const p2 = decode(calls[2]!.prompt);
  assert.ok(p0.includes('You are a pirate.<|eot_id|>') && p0.endsWith('Hi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n'), p0);
  assert.ok(p1.includes('Be brief.<|eot_id|>') && !p1.includes('pirate') && p1.includes('Hi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello, human.<|eot_id|>'), p1);
  assert.ok(p2.includes('Be brief.') && !p2.includes('Hi!') && p2.includes('Hello again'), p2);
  assert.equal(session.resets, 1);
  assert.equal(session.disposed, true);
});

test('scripted REPL: tool calls are shown as calls, /tool sends the result back', { skip: skipNoFixtures }, async () => {
  const { model, calls } = scriptedModel(['<|python_tag|>brave_search.call(query="llama news")<|eom_id|>', 'Llamas are fine.'], 4096);
  const out = await runScript(model, ['Any llama news?', '/tool {"results": ["all good"]}']);
  assert.ok(out.includes('[tool call] brave_search {"query":"llama news"}'), out);
  assert.ok(!out.includes('<|python_tag|>'), 'raw tool syntax is not shown as text');
  assert.ok(out.includes('Llamas are fine.'));
  const p1 = decode(calls[1]!.prompt);
  assert.ok(p1.includes('"query": "llama news"') || p1.includes('brave_search'), p1);
  assert.ok(p1.includes('<|start_header_id|>ipython<|end_header_id|>'), p1);
});

test('scripted REPL: tells the user when history no longer fits, and keeps going', { skip: skipNoFixtures }, async () => {
  const long = 'word '.repeat(45).trim();
  const { model, calls } = scriptedModel(['ok one', 'ok two', 'ok three', 'ok four'], 150);
  const out = await runScript(model, [long, long, 'short', 'x '.repeat(400), 'after'], { maxTokens: 16 });
  assert.match(out, /dropped the \d+ oldest message\(s\)/);
  assert.match(out, /\[CONTEXT_OVERFLOW\].*nothing was truncated/);
  assert.equal(calls.length, 4, 'the oversized turn was not sent');
  for (const c of calls) assert.ok(c.prompt.length <= 150 - 16);
  assert.ok(decode(calls[3]!.prompt).includes('after'));
  assert.ok(!decode(calls[3]!.prompt).includes('x x x'));
});

test('REPL against the real tiny-llama3-chat GGUF: streams, reuses the session and its cached prefix, survives /reset', { skip: skipNoFixtures, timeout: 60_000 }, async () => {
  const model = await loadModel(GGUF, { backend: 'ref' });
  try {
    assert.equal(model.chatTemplate, template);
    const calls: Array<{ prompt: number[]; session: Session; cachedBefore: number[]; chunks: number }> = [];
    // The real model, with generate() observed.
    const observed: Model = {
      config: model.config,
      tokenizer: model.tokenizer,
      chatTemplate: model.chatTemplate,
      logits: (ids, o) => model.logits(ids, o),
      session: (o) => model.session(o),
      async *generate(prompt, options = {}) {
        const call = { prompt: [...(prompt as number[])], session: options.session!, cachedBefore: [...options.session!.tokens], chunks: 0 };
        calls.push(call);
        const gen = model.generate(prompt, options);
        for (;;) {
          const step = await gen.next();
          if (step.done) return step.value;
          call.chunks++;
          yield step.value;
        }
      },
      dispose: () => model.dispose(),
    };
    const out = await runScript(observed, ['Hello!', 'And again?', '/reset', 'Third', '/exit'], { system: 'Be nice.', maxTokens: 8 });
    assert.ok(out.includes('[history cleared; system prompt kept]'), out);
    assert.equal(calls.length, 3);
    assert.ok(calls.every((c) => c.session === calls[0]!.session), 'one session for the whole chat');
    assert.ok(calls.every((c) => c.chunks > 0 || out.length > 0));
    // Turn 2's prompt extends turn 1's, and the session still held turn 1's tokens to reuse.
    const [c0, c1, c2] = calls as [typeof calls[0], typeof calls[0], typeof calls[0]];
    assert.deepEqual(c1.prompt.slice(0, c0.prompt.length), c0.prompt);
    assert.deepEqual(c1.cachedBefore.slice(0, c0.prompt.length), c0.prompt);
    // After /reset the cache was cleared and the new prompt still has the system prompt.
    assert.equal(c2.cachedBefore.length, 0);
    assert.ok(model.tokenizer.decode(c2.prompt).includes('Be nice.'));
    assert.ok(!model.tokenizer.decode(c2.prompt).includes('Hello!'));
  } finally {
    await model.dispose();
  }
});

/** A Model whose every reply streams `tokens` slowly and stops when its signal aborts. */
function slowModel(perToken = 15): { model: Model; calls: Call[]; finish: string[] } {
  const calls: Call[] = [];
  const finish: string[] = [];
  const base = scriptedModel([], 4096).model;
  const model: Model = {
    ...base,
    async *generate(prompt: string | readonly number[], options: GenerateOptions = {}): AsyncGenerator<GenerateChunk, GenerateResult, void> {
      calls.push({ prompt: [...(prompt as number[])], options });
      const ids: number[] = [];
      const word = tok.encode(' blah', { addBos: false });
      let reason: 'length' | 'abort' = 'length';
      for (let i = 0; i < 400; i++) {
        if (options.signal?.aborted) {
          reason = 'abort';
          break;
        }
        await new Promise((r) => setTimeout(r, perToken));
        ids.push(word[0]!);
        yield { id: word[0]!, text: ' blah' };
      }
      finish.push(reason);
      return { ids, text: '', finishReason: reason, promptTokens: prompt.length, timings: { prefillMs: 0, decodeMs: 0, prefillTps: 0, decodeTps: 0 } };
    },
  };
  return { model, calls, finish };
}

/** A stream readline treats as a terminal: keystrokes (Ctrl-C included) arrive as bytes. */
function fakeTTY(): PassThrough & { isTTY: boolean; setRawMode: (b: boolean) => void } {
  return Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} });
}

const until = async (cond: () => boolean, what: string, ms = 5000): Promise<void> => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('Ctrl-C stops the reply and returns to the prompt; the next line is read normally; Ctrl-C twice at an empty prompt exits', { skip: skipNoFixtures, timeout: 30_000 }, async () => {
  const { model, calls, finish } = slowModel();
  const input = fakeTTY();
  const output = new PassThrough();
  let out = '';
  output.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const done = chatCommand(model, { input, output, dateString: '26 Jul 2024', maxTokens: 400, banner: { model: 'tiny.gguf', backend: 'ref', threads: 1 } });
  input.write('Tell me a long story\r');
  await until(() => (out.match(/blah/g) ?? []).length >= 3, 'the reply to stream');
  input.write('\x03');
  await until(() => finish.length === 1, 'the reply to stop');
  assert.deepEqual(finish, ['abort'], 'the reply was aborted through the generate signal');
  await until(() => out.includes('[stopped]'), 'the stop notice');
  input.write('Second question\r');
  await until(() => calls.length === 2, 'the next line to be sent');
  assert.ok(tok.decode(calls[1]!.prompt).includes('Second question'));
  input.write('\x03');
  await until(() => finish.length === 2, 'the second reply to stop');
  let exited = false;
  void done.then(() => (exited = true));
  input.write('\x03');
  await until(() => out.includes('Ctrl-C again to exit'), 'the exit hint');
  assert.equal(exited, false, 'one Ctrl-C at the prompt does not exit');
  input.write('\x03');
  await done;
  assert.match(out, /llama-ts chat · tiny\.gguf\ncontext 4096 tokens · backend ref · 1 thread\n/);
  assert.equal(calls.length, 2);
});

test('""" multi-line messages, /set sampling parameters, /save and /load of a conversation', { skip: skipNoFixtures }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-chat-'));
  try {
    const file = join(dir, 'chat.json');
    const { model, calls } = scriptedModel(['One.', 'Two.', 'Three.'], 4096);
    const out = await runScript(model, [
      '"""first line', 'second line', 'third"""',
      '/set temperature 0.25', '/set top_k 40', '/set top_p 0.9', '/set seed 7', '/set max_tokens 33', '/set', '/set temperature -1', '/set bogus 1',
      '"""one-liner"""',
      `/save ${file}`, '/reset', `/load ${file}`, 'after load',
    ]);
    assert.equal(calls.length, 3);
    assert.ok(tok.decode(calls[0]!.prompt).includes('first line\nsecond line\nthird<|eot_id|>'), tok.decode(calls[0]!.prompt));
    assert.equal(calls[0]!.options.temperature, 0.7);
    const o = calls[1]!.options;
    assert.deepEqual([o.temperature, o.topK, o.topP, o.seed, o.maxTokens], [0.25, 40, 0.9, 7, 33]);
    assert.match(out, /\[temperature 0\.25 {2}top_k 40 {2}top_p 0\.9 .*seed 7 {2}max_tokens 33\]/);
    assert.match(out, /\[BAD_ARGUMENT\] temperature -1 is out of range/);
    assert.match(out, /\[BAD_ARGUMENT\] usage: \/set/);
    assert.ok(tok.decode(calls[1]!.prompt).includes('one-liner<|eot_id|>'));
    assert.match(out, /\[saved 4 message\(s\) to .*chat\.json\]/);
    assert.match(out, /\[loaded 4 message\(s\) from .*chat\.json\]/);
    // After /reset + /load the history is back: the third prompt holds both earlier turns.
    const p2 = tok.decode(calls[2]!.prompt);
    assert.ok(p2.includes('third<|eot_id|>') && p2.includes('One.<|eot_id|>') && p2.includes('one-liner') && p2.includes('after load'), p2);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { messages: { role: string }[] };
    assert.deepEqual(saved.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
    writeFileSync(file, '{"messages":[{"role":"wizard"}]}');
    const bad = await runScript(scriptedModel([], 4096).model, [`/load ${file}`, `/load ${join(dir, 'missing.json')}`]);
    assert.match(bad, /\[BAD_ARGUMENT\].*message 0/);
    assert.match(bad, /\[FILE_NOT_FOUND\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('special tokens are never printed as text', { skip: skipNoFixtures }, async () => {
  const { model } = scriptedModel(['Hi<|reserved_special_token_228|> there<|start_header_id|>.'], 4096);
  const out = await runScript(model, ['hello']);
  assert.ok(out.includes('Hi there.'), out);
  assert.ok(!out.includes('<|'), out);
});
