import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTokenizer } from '../src/tokenizer/load.js';
import { SpecialFilter } from '../src/cli/special-filter.js';
import { fixture, skipNoFixtures } from './fixtures.js';

test('SpecialFilter drops special tokens from the printed stream, with and without stop strings', { skip: skipNoFixtures }, async () => {
  const tok = await loadTokenizer(fixture('tokenizers', 'llama3.1', 'tokenizer.json'));
  const ids = tok.encode('Hi<|reserved_special_token_228|> there<|start_header_id|>. é', { addBos: false, specials: 'parse' });
  assert.ok(ids.some((id) => tok.isSpecial(id)));
  // Decoding mode: each chunk's id is decoded here.
  const a = new SpecialFilter(tok, false);
  let printed = ids.map((id) => a.push({ id, text: 'ignored' })).join('') + a.flush();
  assert.equal(printed, 'Hi there. é');
  // Chunk-text mode (stop strings active): the generator's text, released late and in uneven pieces.
  const b = new SpecialFilter(tok, true);
  const texts = ids.map((id) => tok.decode([id]));
  const chunks = ids.map((id, i) => ({ id, text: i % 3 === 2 ? texts.slice(i - 2, i + 1).join('') : '' }));
  const rest = texts.slice(ids.length - (ids.length % 3)).join('');
  printed = chunks.map((c) => b.push(c)).join('') + b.push({ id: ids[ids.length - 1]!, text: rest }) + b.flush();
  assert.equal(printed, 'Hi there. é');
});
