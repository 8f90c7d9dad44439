// What the experiment shows while it runs. On a terminal, the traffic line is redrawn in place (at most ten times a
// second); elsewhere (CI logs, pipes) each phase prints one line when it ends, so logs stay short.
import type { TrafficSummary } from './traffic';
import { type RequestSample, summarize } from './traffic';

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

const REDRAW_MS = 100;

export function trafficLine(label: string, t: TrafficSummary): string {
  return (
    `${label}: ${t.sent} request${t.sent === 1 ? '' : 's'}, ${t.ok} ok (${t.degraded} from the fallback), ${t.failed} failed, ` +
    `p50 ${t.p50Ms.toFixed(0)} ms, p99 ${t.p99Ms.toFixed(0)} ms`
  );
}

export class Progress {
  readonly #out: ProgressStream;
  readonly #live: boolean;
  readonly #startedAt = performance.now();
  #lastDraw = 0;
  #drawn = false;

  constructor(out: ProgressStream, live = out.isTTY === true) {
    this.#out = out;
    this.#live = live;
  }

  #elapsed(): string {
    return `[${((performance.now() - this.#startedAt) / 1000).toFixed(1).padStart(5)} s]`;
  }

  #clear(): void {
    if (this.#drawn) this.#out.write('\r\x1b[K');
    this.#drawn = false;
  }

  /** One line that stays. */
  step(text: string): void {
    this.#clear();
    this.#out.write(`${this.#elapsed()} ${text}\n`);
  }

  /** A traffic phase in progress: redrawn on a terminal, silent elsewhere. */
  traffic(label: string, samples: readonly RequestSample[]): void {
    if (!this.#live) return;
    const now = performance.now();
    if (now - this.#lastDraw < REDRAW_MS) return;
    this.#lastDraw = now;
    this.#out.write(`\r\x1b[K${this.#elapsed()}   ${trafficLine(label, summarize(samples))}`);
    this.#drawn = true;
  }

  /** A traffic phase ended: its summary as one line. */
  trafficDone(label: string, summary: TrafficSummary): void {
    this.step(`  ${trafficLine(label, summary)}`);
  }
}
