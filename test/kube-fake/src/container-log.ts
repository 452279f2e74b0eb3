/** A container's log as the kubelet keeps it: timestamped lines, finished or followed. */
import { nowTimeNano } from './types.js';

/** One log line with the time the kubelet saw it. */
export interface LogLine {
  time: string;
  text: string;
}

/** The log of one run of one container. */
export class ContainerLog {
  readonly lines: LogLine[] = [];
  private size = 0;
  private readonly partial = { stdout: '', stderr: '' };
  private readonly listeners = new Set<(line: LogLine | null) => void>();
  finished = false;

  constructor(private readonly limit: number) {}

  /** Appends process output; complete lines are timestamped and published. */
  write(stream: 'stdout' | 'stderr', chunk: string): void {
    const text = this.partial[stream] + chunk;
    const parts = text.split('\n');
    this.partial[stream] = parts.pop() ?? '';
    for (const p of parts) this.push(`${p}\n`);
  }

  private push(text: string): void {
    const line = { time: nowTimeNano(), text };
    this.lines.push(line);
    this.size += text.length;
    while (this.size > this.limit && this.lines.length > 1) this.size -= this.lines.shift()?.text.length ?? 0;
    for (const l of [...this.listeners]) l(line);
  }

  /** The process ended: flush unterminated lines and tell followers. */
  finish(): void {
    if (this.finished) return;
    for (const s of ['stdout', 'stderr'] as const)
      if (this.partial[s]) {
        this.push(this.partial[s]);
        this.partial[s] = '';
      }
    this.finished = true;
    for (const l of [...this.listeners]) l(null);
  }

  /** Follows new lines (`null` = the container ended); returns the unsubscribe function. */
  follow(listener: (line: LogLine | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The whole log as text. */
  text(): string {
    return this.lines.map((l) => l.text).join('');
  }
}
