/** An unbounded FIFO that one or more readers await; bounding is the producer's job. */
export class AsyncQueue<T> {
  #items: T[] = [];
  #readers: ((result: IteratorResult<T, undefined>) => void)[] = [];
  #ended = false;

  get ended(): boolean {
    return this.#ended;
  }

  /** False (and dropped) once ended. */
  push(item: T): boolean {
    if (this.#ended) return false;
    const reader = this.#readers.shift();
    if (reader) reader({ value: item, done: false });
    else this.#items.push(item);
    return true;
  }

  /** Readers get what is queued, then done. */
  end(): void {
    this.#ended = true;
    // Readers only wait while nothing is queued, so every waiting reader is done now.
    for (const reader of this.#readers.splice(0)) reader({ value: undefined, done: true });
  }

  /** Takes everything queued and not yet read (to hand it back to its source). */
  takeAll(): T[] {
    return this.#items.splice(0);
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift() as T, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#readers.push(resolve));
  }
}
