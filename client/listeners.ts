/** A set of callbacks for one kind of event; a throwing callback never stops the others. */

/**
 * @example
 * const onMessage = new Listeners<[string]>("message");
 * const off = onMessage.add((text) => console.log(text));
 * onMessage.emit("hi"); off();
 */
export class Listeners<Args extends unknown[]> {
  #callbacks = new Set<(...args: Args) => void>();

  constructor(private readonly name: string) {}

  get size(): number {
    return this.#callbacks.size;
  }

  /** Adds a callback; returns the function that removes it. */
  add(callback: (...args: Args) => void): () => void {
    // Wrapped so the same function added twice is called twice, like the seeds/000 array.
    const entry = (...args: Args): void => callback(...args);
    this.#callbacks.add(entry);
    return () => void this.#callbacks.delete(entry);
  }

  emit(...args: Args): void {
    for (const callback of [...this.#callbacks]) {
      try {
        callback(...args);
      } catch (error) {
        // The app's bug must not cost the next listener its event, nor the adapter its position.
        console.error(`[hiscrm-im] ${this.name} listener failed:`, error);
      }
    }
  }

  clear(): void {
    this.#callbacks.clear();
  }
}
