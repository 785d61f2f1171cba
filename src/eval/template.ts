/**
 * Task templates: Jinja (the harness writes doc_to_text in Jinja too), rendered with
 * @huggingface/jinja. Note that it trims the newline after a block tag ({% if %}), as jinja2's
 * trim_blocks does; expression-only templates (all the built-in ones) render exactly.
 */
import { Template } from '@huggingface/jinja';
import { BadArgumentError } from '../errors/errors.js';

const cache = new Map<string, Template>();

export function renderTemplate(source: string, doc: Record<string, unknown>, what = 'template'): string {
  let t = cache.get(source);
  try {
    if (!t) {
      // @huggingface/jinja drops a final newline (jinja2's keep_trailing_newline=False); the
      // harness keeps it, and descriptions end in "\n\n", so an empty expression goes last.
      t = new Template(source + "{{ '' }}");
      cache.set(source, t);
    }
    return t.render(doc);
  } catch (e) {
    throw new BadArgumentError(`${what} ${JSON.stringify(source.length > 60 ? source.slice(0, 60) + '…' : source)}: ${(e as Error).message}`);
  }
}
