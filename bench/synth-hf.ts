/**
 * A small random-weight Hugging Face Llama folder (config.json + one BF16 model.safetensors),
 * written tensor by tensor, for exercising `convert` with a real tokenizer's vocabulary size.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { f32ToBF16 } from '../src/quant/half.js';

export interface SynthShape {
  readonly vocab: number;
  readonly hidden: number;
  readonly inter: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
}

export function writeSynthHF(dir: string, s: SynthShape, seed = 1): void {
  mkdirSync(dir, { recursive: true });
  const hd = s.hidden / s.heads;
  const shapes: Array<[string, number[]]> = [['model.embed_tokens.weight', [s.vocab, s.hidden]]];
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}.`;
    shapes.push(
      [`${p}self_attn.q_proj.weight`, [s.hidden, s.hidden]],
      [`${p}self_attn.k_proj.weight`, [s.kvHeads * hd, s.hidden]],
      [`${p}self_attn.v_proj.weight`, [s.kvHeads * hd, s.hidden]],
      [`${p}self_attn.o_proj.weight`, [s.hidden, s.hidden]],
      [`${p}mlp.gate_proj.weight`, [s.inter, s.hidden]],
      [`${p}mlp.up_proj.weight`, [s.inter, s.hidden]],
      [`${p}mlp.down_proj.weight`, [s.hidden, s.inter]],
      [`${p}input_layernorm.weight`, [s.hidden]],
      [`${p}post_attention_layernorm.weight`, [s.hidden]],
    );
  }
  shapes.push(['model.norm.weight', [s.hidden]], ['lm_head.weight', [s.vocab, s.hidden]]);
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const [name, shape] of shapes) {
    const bytes = shape.reduce((a, x) => a * x, 1) * 2;
    header[name] = { dtype: 'BF16', shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  while (json.length % 8) json += ' ';
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, len);
    writeSync(fd, Buffer.from(json));
    let x = seed >>> 0 || 1;
    const uniform = (): number => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x / 2 ** 32 - 0.5;
    };
    for (const [, shape] of shapes) {
      const n = shape.reduce((a, v) => a * v, 1);
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f32ToBF16(shape.length === 1 ? 1 + 0.2 * uniform() : 0.3 * uniform());
      writeSync(fd, new Uint8Array(out.buffer));
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      model_type: 'llama', vocab_size: s.vocab, hidden_size: s.hidden, intermediate_size: s.inter, num_hidden_layers: s.layers,
      num_attention_heads: s.heads, num_key_value_heads: s.kvHeads, max_position_embeddings: 4096, rms_norm_eps: 1e-5, rope_theta: 500000,
      tie_word_embeddings: false,
    }),
  );
}
