/**
 * A one-consumer async queue: the scheduler pushes a request's chunks as steps produce them, the
 * client iterates them, then reads the result. Breaking out of the iteration cancels (onCancel).
 */
export class Channel<T, R> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: (() => void) | undefined;
  private closed = false;
  private failure: { error: unknown } | undefined;
  readonly result: Promise<R>;
  private resolveResult!: (r: R) => void;
  private rejectResult!: (e: unknown) => void;

  constructor(private readonly onCancel: () => void) {
    this.result = new Promise<R>((res, rej) => {
      this.resolveResult = res;
      this.rejectResult = rej;
    });
    this.result.catch(() => {}); // the iterator rethrows; an unread result must not crash the process
  }

  get isClosed(): boolean {
    return this.closed;
  }

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.wake();
  }

  close(result: R): void {
    if (this.closed) return;
    this.closed = true;
    this.resolveResult(result);
    this.wake();
  }

  fail(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.failure = { error };
    this.rejectResult(error);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, void> {
    let complete = false;
    try {
      for (;;) {
        while (this.items.length > 0) yield this.items.shift()!;
        if (this.closed) {
          if (this.failure) throw this.failure.error;
          complete = true;
          return;
        }
        await new Promise<void>((r) => (this.waiter = r));
      }
    } finally {
      if (!complete && !this.closed) this.onCancel();
    }
  }
}
