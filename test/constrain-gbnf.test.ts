import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGrammar, type Constraint } from '../src/generate/constrain/index.js';
import { LlamaError } from '../src/errors/errors.js';
import { byteTokenizer } from './helpers/constrain-tokenizer.js';
import { JSON_GBNF, ARITHMETIC_GBNF, LIST_GBNF, C_GBNF } from './constrain-gbnf-grammars.js';

const tok = byteTokenizer();

function accepts(c: Constraint, text: string): boolean {
  const st = c.start();
  for (const id of tok.encode(text)) {
    if (!st.allows(id)) return false;
    st.advance(id);
  }
  return st.canFinish();
}

test('json.gbnf: accepts JSON objects, refuses malformed text', () => {
  const g = compileGrammar(JSON_GBNF, tok);
  for (const s of ['{}', '{"a": 1}', '{"a":[1, 2.5e3, "x\\n", true, null, {"b": -0.5}]}', '{"u":"\\u00e9"}', '{"k": "é😀"}\n']) {
    assert.equal(accepts(g, s), true, s);
  }
  for (const s of ['[]', '{"a":}', '{"a" 1}', '{a:1}', '{"a":01x}', '{"a":"\\x"}', '{"a":1,}', '{"a":"\u0001"}']) {
    assert.equal(accepts(g, s), false, s);
  }
});

test('arithmetic.gbnf', () => {
  const g = compileGrammar(ARITHMETIC_GBNF, tok);
  for (const s of ['1+2=3\n', 'x*(y+2)=z\n', 'a = 1\nb/(c -4)=d\n']) assert.equal(accepts(g, s), true, s);
  for (const s of ['1+2=3', '=3\n', '1++2=3\n', 'X=1\n']) assert.equal(accepts(g, s), false, s);
});

test('list.gbnf', () => {
  const g = compileGrammar(LIST_GBNF, tok);
  for (const s of ['- a\n', '- first item\n- second ü\n']) assert.equal(accepts(g, s), true, s);
  for (const s of ['', '- \n', '* a\n', '- a\u2028b\n', '- a']) assert.equal(accepts(g, s), false, s);
});

test('c.gbnf', () => {
  const g = compileGrammar(C_GBNF, tok);
  const prog = 'int main(){int x = 1;while(x<10){x = x+1;}return x;}';
  assert.equal(accepts(g, prog), true);
  assert.equal(accepts(g, 'int f(int a){if(a>1){return a*2;}else{return 0;}// done\n}'), true);
  assert.equal(accepts(g, 'float g(){/* c */x = g();}'), true);
  assert.equal(accepts(g, ''), true, 'root is (declaration)*');
  for (const s of ['int main(){', 'int main(){x = ;}', 'main(){}', 'int 1x(){}']) assert.equal(accepts(g, s), false, s);
});

test('GBNF syntax: repetition counts, escapes, negated classes, comments', () => {
  const g = compileGrammar('root ::= "a"{2,3} [^x-z\\n]? "\\x41" # comment\n  ("b" | "c")+', tok);
  for (const s of ['aaAb', 'aaaqAbc', 'aawAcc']) assert.equal(accepts(g, s), true, s);
  for (const s of ['aAb', 'aaaaaAb', 'aaxAb', 'aa\nAb', 'aaA']) assert.equal(accepts(g, s), false, s);
});

test('GBNF errors: syntax, undefined rules, left recursion, no root', () => {
  const bad = ['root ::= "a', 'root ::= foo', 'root ::= root "a" | "b"', 'start ::= "a"', 'root ::= [a-', 'root "a"'];
  for (const g of bad) {
    assert.throws(() => compileGrammar(g, tok), (e: unknown) => e instanceof LlamaError && e.code === 'INVALID_GRAMMAR', g);
  }
});
