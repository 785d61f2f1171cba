/**
 * Drives an async generator to its end, handing each yielded item to `onItem`, and returns the
 * generator's return value (for `model.generate`: the GenerateResult). `for await` drops that value.
 */
export async function consume<T, R>(gen: AsyncGenerator<T, R, void>, onItem: (item: T) => void): Promise<R> {
  for (;;) {
    const step = await gen.next();
    if (step.done) return step.value;
    onItem(step.value);
  }
}
