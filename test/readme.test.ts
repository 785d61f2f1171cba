/**
 * Every code block of the README runs, so the README cannot drift from the code.
 *
 * How: the ```ts blocks are written, one file each, into a scratch folder inside the package
 * (so `import … from 'llama-ts'` resolves to this package's own exports, as for a user) and run
 * with `node --import tsx`. The ```sh blocks run line by line through bin/llama-ts.js. In both,
 * the model names the README uses are replaced by fixture paths (MODELS below) and a
 * `llama-ts` command by `node bin/llama-ts.js`. Lines that install or fetch things (npm, npx, git,
 * a model command without -m, which would fetch the default model) are skipped; `chat` gets "/exit" on stdin,
 * commands reading stdin get the piped text; `run` and `bench` get short lengths appended (a later
 * option wins). A block must exit 0 and print no error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, REPO_ROOT, skipNoFixtures } from './fixtures.js';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const BIN = join(REPO_ROOT, 'bin', 'llama-ts.js');
const built = existsSync(join(REPO_ROOT, 'dist', 'src', 'index.js'));
const skip = skipNoFixtures || (built ? false : 'not built (npm run build)');

/** README model names → the fixture that stands in for each (a small Llama 3 chat model, etc.). */
const MODELS: ReadonlyArray<[RegExp, () => string]> = [
  [/Llama-3\.2-1B-Instruct-Q8_0\.gguf|Llama-3\.1-8B-Instruct-Q4_K_M\.gguf|\bmodel\.gguf\b/g, () => fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf')],
  [/\btiny-llama2\.llama2c\.bin\b/g, () => fixture('models', 'tiny-llama2', 'tiny-llama2.llama2c.bin')],
  [/\btokenizer\.json\b/g, () => fixture('tokenizers', 'llama3.1', 'tokenizer.json')],
];

function blocks(lang: string): string[] {
  const re = new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g');
  return [...README.matchAll(re)].map((m) => m[1]!);
}

function substitute(code: string): string {
  let out = code;
  for (const [re, path] of MODELS) out = out.replace(re, JSON.stringify(path()).slice(1, -1));
  return out;
}

function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    p.stdin.end(input ?? '');
  });
}

test('README ts blocks run against a fixture model', { skip, timeout: 180_000 }, async () => {
  const ts = blocks('ts');
  assert.ok(ts.length >= 2, 'the README has library snippets');
  const dir = join(REPO_ROOT, 'dist', '.readme-test');
  mkdirSync(dir, { recursive: true });
  try {
    for (const [i, code] of ts.entries()) {
      const file = join(dir, `snippet-${i}.ts`);
      writeFileSync(file, substitute(code));
      const r = await run(process.execPath, ['--import', 'tsx', file]);
      assert.equal(r.code, 0, `README ts block ${i} failed:\n${code}\n--- stderr ---\n${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** One README shell line → argv for bin/llama-ts.js and its stdin, or undefined to skip it. */
function shellLine(line: string): { argv: string[]; input?: string } | undefined {
  let cmd = line.replace(/\s+#.*$/, '').trim();
  if (cmd === '' || /^(npm|npx|git|cd)\b/.test(cmd) || cmd.includes('&&')) return undefined;
  let input: string | undefined;
  const pipe = /^echo\s+"([^"]*)"\s*\|\s*(.*)$/.exec(cmd);
  if (pipe) {
    input = pipe[1] + '\n';
    cmd = pipe[2]!;
  }
  if (!cmd.startsWith('llama-ts')) return undefined;
  // Shell words: "quoted strings" or bare words.
  const argv = [...cmd.slice('llama-ts'.length).matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
  // A model command without -m would fetch the default model: never from a test.
  if (['run', 'chat', 'bench', 'info', 'tokenize'].includes(argv[0] ?? '') && !argv.includes('-m') && !argv.includes('--model')) return undefined;
  // Hub, server, eval and conversion lines need the network, a long-running process or data files
  // the README only names: hub-cli, server-cli, eval-cli and convert tests cover those commands.
  if (['pull', 'list', 'rm', 'serve', 'eval', 'convert', 'quantize'].includes(argv[0] ?? '') || argv.some((a) => a.startsWith('hf:'))) return undefined;
  if (argv[0] === 'chat') input = '/exit\n';
  // Keep it quick: a later option wins, so shorter lengths are appended.
  if (argv[0] === 'run') argv.push('-n', '8');
  if (argv[0] === 'bench') argv.push('-p', '16', '-n', '4', '-r', '1');
  return { argv, ...(input !== undefined ? { input } : {}) };
}

test('README sh blocks run through the CLI against fixture models', { skip, timeout: 300_000 }, async () => {
  let ran = 0;
  for (const block of blocks('sh')) {
    for (const line of block.split('\n')) {
      const cmd = shellLine(substitute(line));
      if (!cmd) continue;
      const r = await run(process.execPath, [BIN, ...cmd.argv], cmd.input);
      assert.equal(r.code, 0, `README line failed: ${line}\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /error/i, line);
      if (cmd.argv.includes('--json')) JSON.parse(r.stdout);
      ran++;
    }
  }
  assert.ok(ran >= 8, `ran ${ran} README commands`);
});

test('the README documents every field run --json prints', { skip }, async () => {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [BIN, 'run', '-m', MODELS[0]![1](), '-p', 'Hi', '-n', '2', '--json', '--backend', 'ref'], (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
  const j = JSON.parse(out) as Record<string, unknown> & { timings: Record<string, unknown> };
  for (const k of [...Object.keys(j), ...Object.keys(j.timings)]) assert.ok(README.includes(k), `README mentions ${k}`);
});
