import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { compileJsonSchema, type Constraint } from '../src/generate/constrain/index.js';
import { LlamaError } from '../src/errors/errors.js';
import { byteTokenizer } from './helpers/constrain-tokenizer.js';

const require = createRequire(import.meta.url);
type Validate = ((x: unknown) => boolean);
type AjvLike = { compile(s: unknown): Validate };
const Ajv2020 = require('ajv/dist/2020').default as new (o: object) => AjvLike;
const Ajv07 = require('ajv').default as new (o: object) => AjvLike;
const addFormats = require('ajv-formats').default as (a: AjvLike) => void;
const ajv2020 = new Ajv2020({ strict: false });
const ajv07 = new Ajv07({ strict: false });
addFormats(ajv2020);
addFormats(ajv07);

const tok = byteTokenizer();

/** Walk the text byte by byte: every byte allowed and the end finishable. */
function accepts(c: Constraint, text: string): boolean {
  const st = c.start();
  for (const id of tok.encode(text)) {
    if (!st.allows(id)) return false;
    st.advance(id);
  }
  return st.canFinish();
}

interface Case {
  name: string;
  schema: object;
  valid: unknown[];
  invalid: unknown[];
  draft07?: boolean;
  /** ajv does not know the keyword (e.g. OpenAPI nullable) */
  noAjv?: boolean;
}

const CASES: Case[] = [
  { name: 'type string', schema: { type: 'string' }, valid: ['', 'a"b\\c\n', 'é€😀'], invalid: [1, null, true, [], {}] },
  { name: 'type number', schema: { type: 'number' }, valid: [0, -1.5, 1e21, 3.25e-7, 12], invalid: ['1', null, [1]] },
  { name: 'type integer', schema: { type: 'integer' }, valid: [0, -7, 123456789], invalid: [1.5, '3', false] },
  { name: 'type boolean', schema: { type: 'boolean' }, valid: [true, false], invalid: [0, 'true', null] },
  { name: 'type null', schema: { type: 'null' }, valid: [null], invalid: [0, '', false] },
  { name: 'type array of types', schema: { type: ['string', 'null'] }, valid: ['x', null], invalid: [1, {}] },
  { name: 'type object', schema: { type: 'object' }, valid: [{}, { a: [1, { b: null }] }], invalid: [[], 'x'] },
  { name: 'type array', schema: { type: 'array' }, valid: [[], [1, 'a', null, [{}]]], invalid: [{}, 1] },
  { name: 'no type: any value', schema: {}, valid: [1, 'a', null, [], { x: 1 }], invalid: [] },
  {
    name: 'properties + required (definition order)',
    schema: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' } }, required: ['a'] },
    valid: [{ a: 1 }, { a: 1, b: 'x' }, { a: 2, b: 'y', extra: [1] }],
    invalid: [{}, { b: 'x' }, { a: 'no' }, { a: 1, b: 2 }],
  },
  {
    name: 'additionalProperties false',
    schema: { type: 'object', properties: { a: { type: 'integer' } }, additionalProperties: false },
    valid: [{}, { a: 1 }],
    invalid: [{ b: 1 }, { a: 1, b: 1 }],
  },
  {
    name: 'additionalProperties schema',
    schema: { type: 'object', properties: { a: { type: 'integer' } }, additionalProperties: { type: 'string' } },
    valid: [{ a: 1, z: 'q' }, { z: 'q' }],
    invalid: [{ z: 1 }, { a: 'x' }],
  },
  {
    name: 'patternProperties',
    schema: { type: 'object', patternProperties: { '^x-': { type: 'integer' } }, additionalProperties: false },
    valid: [{}, { 'x-a': 1, 'x-b': 2 }],
    invalid: [{ y: 1 }, { 'x-a': 'str' }],
  },
  {
    name: 'minProperties / maxProperties',
    schema: { type: 'object', minProperties: 1, maxProperties: 2 },
    valid: [{ a: 1 }, { a: 1, b: 2 }],
    invalid: [{}, { a: 1, b: 2, c: 3 }],
  },
  {
    name: 'items',
    schema: { type: 'array', items: { type: 'integer' } },
    valid: [[], [1, 2, 3]],
    invalid: [[1, 'a'], [1.5]],
  },
  {
    name: 'prefixItems (2020-12) with items false',
    schema: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }], items: false },
    valid: [[], ['a'], ['a', 1]],
    invalid: [[1], ['a', 'b'], ['a', 1, 2]],
  },
  {
    name: 'items array + additionalItems (draft-07)',
    schema: { type: 'array', items: [{ type: 'string' }], additionalItems: { type: 'boolean' } },
    valid: [['a'], ['a', true, false]],
    invalid: [[1], ['a', 1]],
    draft07: true,
  },
  {
    name: 'minItems / maxItems',
    schema: { type: 'array', minItems: 2, maxItems: 3 },
    valid: [[1, 2], [1, 2, 3]],
    invalid: [[], [1], [1, 2, 3, 4]],
  },
  { name: 'enum', schema: { enum: ['a', 1, null, { k: [1] }] }, valid: ['a', 1, null, { k: [1] }], invalid: ['b', 2, { k: [2] }] },
  { name: 'enum with type filter', schema: { type: 'string', enum: ['a', 1] }, valid: ['a'], invalid: [1] },
  { name: 'const', schema: { const: 'fixed' }, valid: ['fixed'], invalid: ['other', 1] },
  {
    name: 'anyOf',
    schema: { anyOf: [{ type: 'integer', minimum: 10 }, { type: 'string', maxLength: 2 }] },
    valid: [10, 99, 'ab'],
    invalid: [9, 'abc', null],
  },
  {
    name: 'oneOf with exclusive branches',
    schema: {
      oneOf: [
        { type: 'object', properties: { kind: { const: 'a' }, x: { type: 'integer' } }, required: ['kind'] },
        { type: 'object', properties: { kind: { const: 'b' }, y: { type: 'string' } }, required: ['kind'] },
      ],
    },
    valid: [{ kind: 'a', x: 1 }, { kind: 'b', y: 's' }],
    invalid: [{ kind: 'c' }, { kind: 'a', x: 's' }, {}],
  },
  {
    name: 'allOf merged',
    schema: { allOf: [{ type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] }, { properties: { a: { minimum: 5 }, b: { type: 'string' } } }] },
    valid: [{ a: 5 }, { a: 7, b: 'x' }],
    invalid: [{ a: 4 }, {}, { a: 6, b: 1 }],
  },
  {
    name: '$ref / $defs',
    schema: { $defs: { pos: { type: 'integer', minimum: 1 } }, type: 'object', properties: { n: { $ref: '#/$defs/pos' } }, required: ['n'] },
    valid: [{ n: 1 }],
    invalid: [{ n: 0 }],
  },
  {
    name: 'definitions (draft-07) and recursion',
    schema: {
      definitions: { node: { type: 'object', properties: { v: { type: 'integer' }, kids: { type: 'array', items: { $ref: '#/definitions/node' } } }, required: ['v'], additionalProperties: false } },
      $ref: '#/definitions/node',
    },
    valid: [{ v: 1 }, { v: 1, kids: [{ v: 2, kids: [{ v: 3 }] }, { v: 4 }] }],
    invalid: [{ v: 1, kids: [{ v: 'x' }] }, { v: 1, kids: [{}] }, { kids: [] }],
    draft07: true,
  },
  { name: 'nullable (OpenAPI)', schema: { type: 'string', nullable: true }, valid: ['a', null], invalid: [1], noAjv: true },
  {
    name: 'minLength / maxLength in characters',
    schema: { type: 'string', minLength: 2, maxLength: 3 },
    valid: ['ab', 'abc', 'éé', '😀😀', 'a\n'],
    invalid: ['a', 'abcd', 'é', ''],
  },
  { name: 'pattern unanchored', schema: { type: 'string', pattern: '[0-9]{3}' }, valid: ['x123y', '999'], invalid: ['12', 'abc'] },
  { name: 'pattern anchored', schema: { type: 'string', pattern: '^[a-z]+(-[a-z]+)*$' }, valid: ['abc', 'a-b-c'], invalid: ['a-', 'A', ''] },
  { name: 'format date-time', schema: { type: 'string', format: 'date-time' }, valid: ['2024-02-29T12:30:00Z', '2023-01-01T00:00:00.5+02:00'], invalid: ['2023-02-29T12:30:00Z', '2024-01-01', 'x'] },
  { name: 'format date', schema: { type: 'string', format: 'date' }, valid: ['2024-02-29', '2000-02-29', '2023-12-31'], invalid: ['2023-02-29', '1900-02-29', '2023-04-31', '2023-13-01'] },
  { name: 'format time', schema: { type: 'string', format: 'time' }, valid: ['12:30:00Z', '23:59:59+01:00'], invalid: ['24:00:00Z', '12:30'] },
  { name: 'format email', schema: { type: 'string', format: 'email' }, valid: ['a.b@example.com', 'x+y@d.co'], invalid: ['a@', '@b.com', 'a..b@c.com', 'plain'] },
  { name: 'format uuid', schema: { type: 'string', format: 'uuid' }, valid: ['123e4567-e89b-12d3-a456-426614174000'], invalid: ['123e4567e89b12d3a456426614174000', 'x'] },
  { name: 'format uri', schema: { type: 'string', format: 'uri' }, valid: ['https://example.com/a?b=c#d', 'mailto:x@y.z'], invalid: ['no scheme', '/relative/path'] },
  { name: 'format ipv4', schema: { type: 'string', format: 'ipv4' }, valid: ['192.168.0.1', '0.0.0.0'], invalid: ['256.1.1.1', '1.2.3', '01.2.3.4'] },
  { name: 'integer minimum/maximum', schema: { type: 'integer', minimum: -5, maximum: 120 }, valid: [-5, 0, 99, 120], invalid: [-6, 121, 1000, -10] },
  { name: 'integer exclusive bounds', schema: { type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 10 }, valid: [1, 9], invalid: [0, 10, -1] },
  { name: 'integer multipleOf', schema: { type: 'integer', multipleOf: 7, minimum: 0 }, valid: [0, 7, 700, 1001], invalid: [1, 8, 1000, -7] },
  { name: 'number bounds', schema: { type: 'number', minimum: 0, maximum: 1 }, valid: [0, 0.5, 1, 0.999], invalid: [-0.1, 1.5, 2, -1] },
  { name: 'number exclusive bounds', schema: { type: 'number', exclusiveMinimum: -2, exclusiveMaximum: 3 }, valid: [-1.99, 0, 2.5, -1], invalid: [-2, 3, 3.1, -2.5] },
  { name: 'annotations ignored', schema: { title: 't', description: 'd', examples: [1], default: 2, $comment: 'c', type: 'integer' }, valid: [1], invalid: ['1'] },
  { name: 'non-keywords ignored', schema: { type: 'integer', 'x-kubernetes-int-or-string': true }, valid: [1], invalid: ['1'] },
];

for (const c of CASES) {
  test(`schema keyword: ${c.name}`, () => {
    const validate = c.noAjv ? undefined : (c.draft07 ? ajv07 : ajv2020).compile(c.schema);
    const con = compileJsonSchema(c.schema, tok);
    for (const v of c.valid) {
      if (validate) assert.equal(validate(v), true, `test data: ajv rejects ${JSON.stringify(v)}`);
      assert.equal(accepts(con, JSON.stringify(v)), true, `valid ${JSON.stringify(v)} refused`);
    }
    for (const v of c.invalid) {
      if (validate) assert.equal(validate(v), false, `test data: ajv accepts ${JSON.stringify(v)}`);
      assert.equal(accepts(con, JSON.stringify(v)), false, `invalid ${JSON.stringify(v)} accepted`);
    }
  });
}

test('json_object: any JSON object', () => {
  const con = compileJsonSchema({ type: 'json_object' }, tok);
  assert.equal(accepts(con, '{"a":[1,2,{"b":null}]}'), true);
  assert.equal(accepts(con, '[1]'), false);
  assert.equal(accepts(con, '"s"'), false);
});

test('unsupported keywords are refused with their name and JSON pointer', () => {
  const bad: [object, string, string][] = [
    [{ not: { type: 'string' } }, 'not', '#'],
    [{ properties: { a: { if: {}, then: {} } } }, 'if', '/properties/a'],
    [{ type: 'array', uniqueItems: true }, 'uniqueItems', '#'],
    [{ type: 'array', contains: { type: 'integer' } }, 'contains', '#'],
    [{ dependentRequired: { a: ['b'] } }, 'dependentRequired', '#'],
    [{ propertyNames: { maxLength: 3 } }, 'propertyNames', '#'],
    [{ unevaluatedProperties: false }, 'unevaluatedProperties', '#'],
    [{ oneOf: [{ type: 'integer' }, { type: 'number' }] }, 'oneOf', '#'],
    [{ type: 'number', multipleOf: 0.1 }, 'multipleOf', '#'],
    [{ type: 'number', minimum: 0.5 }, 'minimum', '#'],
    [{ type: 'string', pattern: '(a)\\1' }, 'pattern', '#'],
    [{ type: 'string', pattern: '(?=a)b' }, 'pattern', '#'],
    [{ $ref: 'other.json#/a' }, '$ref', '#'],
  ];
  for (const [schema, kw, ptr] of bad) {
    assert.throws(() => compileJsonSchema(schema, tok), (e: unknown) => {
      assert.ok(e instanceof LlamaError, String(e));
      assert.equal(e.code, 'UNSUPPORTED_SCHEMA');
      assert.match(e.message, new RegExp(`${kw.replace('$', '\\$')}`));
      assert.ok(e.message.includes(ptr), `${e.message} lacks ${ptr}`);
      return true;
    }, `${JSON.stringify(schema)} should be refused`);
  }
  assert.throws(() => compileJsonSchema({ type: 'integer', foo: 1 }, tok, { strict: true }), /foo/);
});

test('whitespace: flexible but bounded, compact option', () => {
  const schema = { type: 'object', properties: { a: { type: 'array', items: { type: 'integer' } } } };
  const flex = compileJsonSchema(schema, tok);
  assert.equal(accepts(flex, '{ "a" : [ 1 , 2 ] }'), true);
  assert.equal(accepts(flex, '{\n  "a": [\n    1\n  ]\n}'), true);
  assert.equal(accepts(flex, `{${' '.repeat(9)}"a":[]}`), false, 'more than 8 whitespace bytes in one gap');
  assert.equal(accepts(flex, ' {"a":[]}'), false, 'no leading whitespace');
  const compact = compileJsonSchema(schema, tok, { whitespace: 'compact' });
  assert.equal(accepts(compact, '{"a":[1,2]}'), true);
  assert.equal(accepts(compact, '{"a": [1,2]}'), false);
});

test('canFinish only on a complete value; advance refuses what allows refuses', () => {
  const con = compileJsonSchema({ type: 'object', properties: { n: { type: 'integer' } }, required: ['n'], additionalProperties: false }, tok);
  const st = con.start();
  assert.equal(st.canFinish(), false);
  for (const id of tok.encode('{"n":12')) st.advance(id);
  assert.equal(st.canFinish(), false);
  assert.equal(st.allows(tok.encode('}')[0]!), true);
  assert.equal(st.allows(tok.encode('x')[0]!), false);
  assert.throws(() => st.advance(tok.encode('x')[0]!), (e: unknown) => e instanceof LlamaError && e.code === 'TOKEN_NOT_ALLOWED');
  st.advance(tok.encode('}')[0]!);
  assert.equal(st.canFinish(), true);
  assert.equal(st.isDone(), true);
  assert.equal(st.allows(tok.eosIds[0]!), false, 'special tokens are never in the mask');
});

test('forced stretches: a fixed key after { is offered as bytes and tokens', () => {
  const con = compileJsonSchema({ type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false }, tok, { whitespace: 'compact' });
  const st = con.start();
  assert.equal(new TextDecoder().decode(st.forcedBytes()), '{"name":"');
  const ids = st.forced();
  assert.equal(tok.decode(ids), '{"name":"');
  for (const id of ids) st.advance(id);
  assert.equal(st.forcedBytes().length, 0, 'the value is free');
});

test('clone() is independent of the original', () => {
  const con = compileJsonSchema({ type: 'array', items: { type: 'integer' } }, tok);
  const a = con.start();
  a.advance(tok.encode('[')[0]!);
  const b = a.clone();
  b.advance(tok.encode(']')[0]!);
  assert.equal(b.canFinish(), true);
  assert.equal(a.canFinish(), false);
  assert.equal(a.allows(tok.encode('1')[0]!), true);
});
