import { before, after } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, HAVE_FIXTURES } from '../fixtures.js';
import { loadModel } from '../../src/model/load.js';
import type { Model } from '../../src/model/types.js';

export interface ChatFixture {
  /** A temporary folder, removed after the file's tests. */
  readonly dir: string;
  /** The tiny chat model (real Llama 3 tokenizer), when fixtures are present. */
  readonly model: Model | undefined;
  /** The official Llama 3.1 Instruct chat template text ('' without fixtures). */
  readonly template: string;
}

/** Registers the file's before/after hooks for eval tests that render chat prompts; `set` receives the fixture. */
export function useChatFixture(prefix: string, set: (f: ChatFixture) => void): void {
  let made: ChatFixture | undefined;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    const model = HAVE_FIXTURES ? await loadModel(fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf')) : undefined;
    const template = HAVE_FIXTURES ? readFileSync(fixture('chat', 'llama3.1-instruct.chat_template.jinja'), 'utf8') : '';
    made = { dir, model, template };
    set(made);
  });
  after(async () => {
    if (!made) return;
    rmSync(made.dir, { recursive: true, force: true });
    await made.model?.dispose();
  });
}
