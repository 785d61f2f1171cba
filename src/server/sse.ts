import type { ServerResponse } from 'node:http';

/** Server-sent events on a raw response: `data: <json>\n\n` per event, `data: [DONE]` at the end. */
export class SSE {
  private open = true;
  constructor(private readonly res: ServerResponse, headers: Record<string, string>) {
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.on('close', () => (this.open = false));
  }

  get isOpen(): boolean {
    return this.open && !this.res.destroyed;
  }

  send(data: unknown): void {
    if (this.isOpen) this.res.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  end(): void {
    if (this.isOpen) this.res.end('data: [DONE]\n\n');
  }
}
