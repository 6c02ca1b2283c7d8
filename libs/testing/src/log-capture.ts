import { Writable } from 'node:stream';

/** A log destination that keeps every line, so tests can assert on logs (and on what they must not hold). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    // Tests wait for a line with waitFor(logs, 'line', ...).
    this.emit('line');
    callback();
  }

  /** Parsed JSON log records. */
  records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  text(): string {
    return this.lines.join('\n');
  }
}
