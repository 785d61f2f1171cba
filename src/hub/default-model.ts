/**
 * The model `run`, `chat` (and `serve`) use when no `-m` is given: Llama 3.2 1B Instruct at Q4_K_M
 * from a public (not gated) GGUF repo: 0.8 GB, fits any machine, runs at interactive speed on the
 * wasm backend. LLAMA_TS_DEFAULT_MODEL overrides it.
 */
export const DEFAULT_MODEL = 'hf:bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M';

export function defaultModelRef(env: NodeJS.ProcessEnv = process.env): string {
  const v = env['LLAMA_TS_DEFAULT_MODEL'];
  return v && v.trim() !== '' ? v.trim() : DEFAULT_MODEL;
}
