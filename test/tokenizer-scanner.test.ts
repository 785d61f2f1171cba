import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, skipNoFixtures } from './fixtures.js';
import { readFileSync } from 'node:fs';
import { llama3Scanner, regexPreTokenizer, LLAMA3_PATTERN, GPT2_PATTERN, type PreTokenizer } from '../src/tokenizer/scanner.js';
import { compileRegex, translateRegex } from '../src/tokenizer/regex.js';
import { AWKWARD_PARTS, awkwardText, EXTRA_TEXTS, goldenCases, prng, type Llama3Case } from './tokenizer-helpers.js';

function pieces(p: PreTokenizer, s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    const e = p.next(s, i);
    assert.ok(e > i, `no progress at ${i} in ${JSON.stringify(s)}`);
    out.push(s.slice(i, e));
    i = e;
  }
  return out;
}

const oracle = regexPreTokenizer(compileRegex(LLAMA3_PATTERN));

test('Llama 3 pattern: translation to JavaScript', () => {
  assert.equal(
    translateRegex(LLAMA3_PATTERN),
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\p{White_Space}\\p{L}\\p{N}]+[\\r\\n]*|\\p{White_Space}*[\\r\\n]+|\\p{White_Space}+(?!\\P{White_Space})|\\p{White_Space}+",
  );
});

test('regex translation: Oniguruma semantics and refusals', () => {
  const re = compileRegex("(?i:ab[c-d])\\s\\d+\\w\\#");
  assert.ok(re.test('AbD\u0085١x#'));
  re.lastIndex = 0;
  assert.ok(!re.test('AbD\ufeff1x#'), 'U+FEFF is not whitespace in Oniguruma');
  assert.equal(new RegExp(translateRegex('a.b'), 'u').test('a\nb'), false);
  assert.equal(new RegExp(translateRegex('^x$'), 'u').test('a\nx\nb'), true, '^ and $ are line anchors');
  assert.throws(() => compileRegex('a++'), { code: 'TOKENIZER_ERROR' });
  assert.throws(() => compileRegex('(?>a)'), { code: 'TOKENIZER_ERROR' });
  assert.throws(() => compileRegex('(?m:a)'), { code: 'TOKENIZER_ERROR' });
  assert.throws(() => compileRegex('[a'), { code: 'TOKENIZER_ERROR' });
});

test('Llama 3 pattern: the scanner and the regex agree on known pieces', () => {
  const cases: [string, string[]][] = [
    ["I'm sure they'll", ['I', "'m", ' sure', ' they', "'ll"]],
    ["DON'T 'RE", ['DON', "'T", " '", 'RE']],
    ['  two\n\n  x', [' ', ' two', '\n\n', ' ', ' x']],
    ['1234567', ['123', '456', '7']],
    ['a \t\n b  ', ['a', ' \t\n', ' b', '  ']],
    ['x???\n\ny', ['x', '???\n\n', 'y']],
    ['\ufeffword', ['\ufeffword']],
    ['\ud800x', ['\ud800x']],
    ['𝟏𝟐𝟑𝟒', ['𝟏𝟐𝟑', '𝟒']],
  ];
  for (const [s, want] of cases) {
    assert.deepEqual(pieces(llama3Scanner, s), want, JSON.stringify(s));
    assert.deepEqual(pieces(oracle, s), want, JSON.stringify(s));
  }
});

test('Llama 3 pattern: the scanner equals the regex on the corpus and 20k random strings', { skip: skipNoFixtures }, () => {
  const texts = [...goldenCases<Llama3Case>('llama3.1').map((c) => c.text), ...EXTRA_TEXTS, readFileSync(fixture('README.md'), 'utf8')];
  const rnd = prng(2024);
  for (let i = 0; i < 20000; i++) texts.push(awkwardText(rnd));
  // Single code units, lone surrogates included, in random order.
  const units = [...AWKWARD_PARTS.join('')].concat(['\ud83d', '\ude00', '\udc00', '\u0000', '\u00ad', '\u061c']);
  for (let i = 0; i < 2000; i++) texts.push(Array.from({ length: 1 + Math.floor(rnd() * 30) }, () => units[Math.floor(rnd() * units.length)]).join(''));
  for (const t of texts) assert.deepEqual(pieces(llama3Scanner, t), pieces(oracle, t), JSON.stringify(t));
});

test('regex pre-tokenizer: gaps between matches are pieces (Split "Isolated")', () => {
  assert.deepEqual(pieces(regexPreTokenizer(compileRegex('\\d+')), 'ab12cd3'), ['ab', '12', 'cd', '3']);
  assert.deepEqual(pieces(regexPreTokenizer(compileRegex(GPT2_PATTERN)), "it's  ok"), ['it', "'s", ' ', ' ok']);
});
