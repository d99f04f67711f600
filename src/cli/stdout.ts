// Writing the result to stdout and knowing whether it arrived: a full disk
// or a closed descriptor is exit 74 (EX_IOERR), never a silent 0. A reader
// that went away (`etrn ... | head -1`, EPIPE) took what it wanted: not an error.

export class Stdout {
  private pending = 0;
  private failure: NodeJS.ErrnoException | null = null;
  private waiters: (() => void)[] = [];

  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {}

  write(text: string): void {
    this.pending += 1;
    try {
      this.stream.write(text, (error) => this.settled(error ?? null));
    } catch (error) {
      this.settled(error as NodeJS.ErrnoException);
    }
  }

  /** Waits for every write; the first error other than EPIPE, or null. */
  async flushed(): Promise<NodeJS.ErrnoException | null> {
    if (this.pending > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.failure;
  }

  private settled(error: NodeJS.ErrnoException | null): void {
    if (error && error.code !== 'EPIPE') this.failure ??= error;
    this.pending -= 1;
    if (this.pending === 0) for (const resolve of this.waiters.splice(0)) resolve();
  }
}
