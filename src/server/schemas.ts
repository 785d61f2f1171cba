/**
 * Request bodies as JSON schemas: Fastify validates them before a handler runs, so a wrong type is
 * a 400 naming the field. Unknown fields are allowed (SDKs send `user`, `metadata`, …).
 */
const stop = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 16 }, { type: 'null' }] } as const;
const nullableNumber = (min: number, max: number) => ({ anyOf: [{ type: 'number', minimum: min, maximum: max }, { type: 'null' }] }) as const;
const nullableInt = (min: number, max: number) => ({ anyOf: [{ type: 'integer', minimum: min, maximum: max }, { type: 'null' }] }) as const;

const sampling = {
  model: { type: 'string' },
  temperature: nullableNumber(0, 2),
  top_p: nullableNumber(0, 1),
  top_k: nullableInt(0, 1_000_000),
  min_p: nullableNumber(0, 1),
  max_tokens: nullableInt(0, 1_000_000),
  stop,
  seed: nullableInt(-(2 ** 53), 2 ** 53),
  presence_penalty: nullableNumber(-2, 2),
  frequency_penalty: nullableNumber(-2, 2),
  repeat_penalty: nullableNumber(0, 10),
  logit_bias: { anyOf: [{ type: 'object', additionalProperties: { type: 'number', minimum: -100, maximum: 100 } }, { type: 'null' }] },
  n: nullableInt(1, 16),
  stream: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
  stream_options: { anyOf: [{ type: 'object', properties: { include_usage: { type: 'boolean' } } }, { type: 'null' }] },
  // llama-ts: verify-or-escalate override (docs/cascade.md); the policy's fields are checked by the cascade.
  escalate: { anyOf: [{ type: 'boolean' }, { type: 'string' }, { type: 'object' }, { type: 'null' }] },
} as const;

const content = {
  anyOf: [
    { type: 'string' },
    { type: 'null' },
    { type: 'array', items: { type: 'object', required: ['type'], properties: { type: { type: 'string' }, text: { type: 'string' } } } },
  ],
} as const;

export const chatCompletionSchema = {
  type: 'object',
  required: ['messages'],
  properties: {
    ...sampling,
    max_completion_tokens: nullableInt(0, 1_000_000),
    logprobs: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
    top_logprobs: nullableInt(0, 20),
    messages: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['role'],
        properties: {
          role: { enum: ['system', 'developer', 'user', 'assistant', 'tool', 'ipython'] },
          content,
          name: { type: 'string' },
          tool_call_id: { type: 'string' },
          tool_calls: {
            type: 'array',
            items: {
              type: 'object',
              required: ['function'],
              properties: { id: { type: 'string' }, type: { type: 'string' }, function: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, arguments: { anyOf: [{ type: 'string' }, { type: 'object' }] } } } },
            },
          },
        },
      },
    },
    tools: {
      anyOf: [
        {
          type: 'array',
          items: {
            type: 'object',
            required: ['type', 'function'],
            properties: { type: { const: 'function' }, function: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 }, description: { type: 'string' }, parameters: { type: 'object' } } } },
          },
        },
        { type: 'null' },
      ],
    },
    tool_choice: {
      anyOf: [
        { enum: ['auto', 'none', 'required'] },
        { type: 'object', required: ['type', 'function'], properties: { type: { const: 'function' }, function: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } },
        { type: 'null' },
      ],
    },
    parallel_tool_calls: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
    response_format: {
      anyOf: [
        { type: 'object', required: ['type'], properties: { type: { enum: ['text', 'json_object', 'json_schema'] }, json_schema: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, schema: { type: 'object' }, strict: { anyOf: [{ type: 'boolean' }, { type: 'null' }] } } } } },
        { type: 'null' },
      ],
    },
  },
} as const;

export const completionSchema = {
  type: 'object',
  required: ['prompt'],
  properties: {
    ...sampling,
    prompt: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1 }, { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 1 }] },
    echo: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
    logprobs: nullableInt(0, 20),
    suffix: { anyOf: [{ type: 'null' }] },
  },
} as const;

export const tokenizeSchema = {
  type: 'object',
  required: ['content'],
  properties: { content: { type: 'string' }, add_special: { type: 'boolean' }, with_pieces: { type: 'boolean' } },
} as const;

export const detokenizeSchema = {
  type: 'object',
  required: ['tokens'],
  properties: { tokens: { type: 'array', items: { type: 'integer', minimum: 0 } } },
} as const;
