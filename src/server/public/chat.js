// The chat page: talks to /v1/chat/completions with streaming, keeps the conversation in
// localStorage, renders markdown (escaped first: model text is never trusted as HTML).
const $ = (id) => document.getElementById(id);
const KEY = 'llama-ts-chat';
const SETTINGS = ['system', 'temperature', 'top_p', 'max_tokens', 'api_key'];
let messages = [];
let controller = null;
let modelId = '';

function save() {
  localStorage.setItem(KEY, JSON.stringify({ messages, settings: Object.fromEntries(SETTINGS.map((k) => [k, $(k).value])) }));
}
function load() {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) || '{}');
    messages = Array.isArray(s.messages) ? s.messages : [];
    for (const k of SETTINGS) if (s.settings && typeof s.settings[k] === 'string') $(k).value = s.settings[k];
  } catch { messages = []; }
}

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
function inline(s) {
  return s
    .replace(/`([^`]+)`/g, (_, c) => `<code>${c}</code>`)
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, '$1<em>$2</em>')
    .replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g, '<a href="$2" rel="noopener noreferrer" target="_blank">$1</a>');
}
/** A small markdown subset: fenced code, headings, lists, paragraphs, inline code/bold/italic/links. */
function markdown(src) {
  const out = [];
  const parts = src.split(/```/);
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      const nl = part.indexOf('\n');
      const lang = nl > 0 ? part.slice(0, nl).trim() : '';
      const code = nl >= 0 ? part.slice(nl + 1) : part;
      out.push(`<pre><code${lang ? ` data-lang="${esc(lang)}"` : ''}>${esc(code.replace(/\n$/, ''))}</code></pre>`);
      return;
    }
    let list = null;
    const flush = () => { if (list) { out.push(`</${list}>`); list = null; } };
    for (const line of esc(part).split('\n')) {
      const h = /^(#{1,4})\s+(.*)$/.exec(line);
      const ul = /^\s*[-*]\s+(.*)$/.exec(line);
      const ol = /^\s*\d+[.)]\s+(.*)$/.exec(line);
      if (h) { flush(); out.push(`<h${h[1].length + 2}>${inline(h[2])}</h${h[1].length + 2}>`); }
      else if (ul || ol) {
        const kind = ul ? 'ul' : 'ol';
        if (list !== kind) { flush(); out.push(`<${kind}>`); list = kind; }
        out.push(`<li>${inline((ul || ol)[1])}</li>`);
      } else if (line.trim() === '') { flush(); }
      else { flush(); out.push(`<p>${inline(line)}</p>`); }
    }
    flush();
  });
  return out.join('');
}

function bubble(m) {
  const div = document.createElement('div');
  div.className = `msg ${m.role}`;
  const body = document.createElement('div');
  body.className = 'body';
  if (m.role === 'assistant') body.innerHTML = markdown(m.content || '');
  else body.textContent = m.content;
  div.append(body);
  if (m.meta) {
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.textContent = m.meta;
    div.append(meta);
  }
  $('log').append(div);
  div.scrollIntoView({ block: 'end' });
  return div;
}
function render() {
  $('log').replaceChildren();
  for (const m of messages) bubble(m);
}

async function send(text) {
  messages.push({ role: 'user', content: text });
  bubble(messages[messages.length - 1]);
  const reply = { role: 'assistant', content: '' };
  messages.push(reply);
  save();
  const div = bubble(reply);
  const body = div.querySelector('.body');
  controller = new AbortController();
  $('stop').disabled = false;
  $('send').disabled = true;
  const t0 = performance.now();
  let first = 0;
  let tokens = 0;
  let chunks = 0;
  const sys = $('system').value.trim();
  const history = messages.slice(0, -1).map(({ role, content }) => ({ role, content }));
  const headers = { 'content-type': 'application/json' };
  if ($('api_key').value) headers.authorization = `Bearer ${$('api_key').value}`;
  let stopped = false;
  try {
    const res = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers,
      signal: controller.signal,
      body: JSON.stringify({
        model: modelId,
        stream: true,
        stream_options: { include_usage: true },
        temperature: Number($('temperature').value),
        top_p: Number($('top_p').value),
        max_tokens: Number($('max_tokens').value),
        messages: sys ? [{ role: 'system', content: sys }, ...history] : history,
      }),
    });
    if (!res.ok) throw new Error((await res.json().catch(() => null))?.error?.message || `HTTP ${res.status}`);
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (!ev.startsWith('data: ')) continue;
        const data = ev.slice(6);
        if (data === '[DONE]') continue;
        const j = JSON.parse(data);
        if (j.error) throw new Error(j.error.message);
        if (j.usage) tokens = j.usage.completion_tokens;
        const delta = j.choices?.[0]?.delta;
        if (delta?.content) {
          if (!first) first = performance.now();
          chunks++;
          reply.content += delta.content;
          body.innerHTML = markdown(reply.content);
          div.scrollIntoView({ block: 'end' });
        }
      }
    }
  } catch (e) {
    if (e.name === 'AbortError') stopped = true;
    else reply.content += `\n\n[error: ${e.message}]`;
  } finally {
    if (!tokens) tokens = chunks; // stopped before the usage chunk: one streamed chunk per token
    const secs = (performance.now() - (first || t0)) / 1000;
    const rate = tokens > 1 && secs > 0 ? `${((tokens - 1) / secs).toFixed(1)} tok/s` : '';
    reply.meta = [stopped ? 'stopped' : '', tokens ? `${tokens} tokens` : '', rate].filter(Boolean).join(' · ');
    body.innerHTML = markdown(reply.content);
    let meta = div.querySelector('.meta');
    if (!meta) { meta = document.createElement('div'); meta.className = 'meta'; div.append(meta); }
    meta.textContent = reply.meta;
    $('status').textContent = rate ? `last reply: ${rate}` : '';
    controller = null;
    $('stop').disabled = true;
    $('send').disabled = false;
    save();
  }
}

$('form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('input').value.trim();
  if (!text || controller) return;
  $('input').value = '';
  void send(text);
});
$('input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    $('form').requestSubmit();
  }
});
$('stop').addEventListener('click', () => controller?.abort());
$('new').addEventListener('click', () => { messages = []; save(); render(); });
for (const k of SETTINGS) $(k).addEventListener('change', save);

load();
render();
fetch('/v1/models', { headers: $('api_key').value ? { authorization: `Bearer ${$('api_key').value}` } : {} })
  .then((r) => r.json())
  .then((j) => { modelId = j.data?.[0]?.id ?? ''; $('model').textContent = modelId; })
  .catch(() => { $('model').textContent = '(model list unavailable)'; });
