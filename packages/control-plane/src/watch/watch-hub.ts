import type { PolicyStore } from '../store/types';
import type { ListBody, ListBodyCache } from './list-body';

/** Why a held watch was answered; counted in the metrics. */
export type WatchOutcome = 'change' | 'timeout' | 'shutdown';

export interface WatchResponder {
  /** Sends the shared body; must not throw. */
  answer(body: ListBody, outcome: WatchOutcome): void;
  /** Answers with an error (the store could not be read). */
  fail(err: unknown): void;
  /** Registers cleanup for when the client goes away before the answer. */
  onDisconnect(listener: () => void): void;
}

interface Waiter {
  revision: number;
  responder: WatchResponder;
  timer: NodeJS.Timeout;
}

/**
 * Held long-poll watches. All of them sit in one Set; a change builds the list body once and hands the same buffer
 * to every waiter, so a write wakes 10,000 watches with one serialisation.
 */
export class WatchHub {
  private readonly waiters = new Set<Waiter>();
  private readonly unsubscribe: () => void;
  private waking = false;
  private wakeAgain = false;
  private closed = false;

  constructor(
    private readonly store: PolicyStore,
    private readonly bodies: ListBodyCache,
    private readonly onError: (err: unknown) => void,
    /** Told how long handing one body to `answered` waiters took (the synchronous part of a fan-out). */
    private readonly onFanOut: (answered: number, seconds: number) => void = () => undefined,
  ) {
    this.unsubscribe = store.onChange(() => {
      void this.wake();
    });
  }

  get size(): number {
    return this.waiters.size;
  }

  /**
   * Holds `responder` until the revision differs from `revision` or `timeoutMs` passes. The caller has checked that
   * the revision is still current; anything that changed since is caught by the check below.
   */
  hold(revision: number, timeoutMs: number, responder: WatchResponder): void {
    if (this.closed) {
      void this.answerOne(responder, 'shutdown');
      return;
    }
    const waiter: Waiter = {
      revision,
      responder,
      timer: setTimeout(() => {
        if (this.waiters.delete(waiter)) void this.answerOne(responder, 'timeout');
      }, timeoutMs),
    };
    this.waiters.add(waiter);
    responder.onDisconnect(() => {
      if (this.waiters.delete(waiter)) clearTimeout(waiter.timer);
    });
    if (this.store.currentRevision() !== revision) void this.wake();
  }

  /** Answers every held watch with the current state (shutdown) and refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    if (this.waiters.size === 0) return;
    const body = await this.bodies.current();
    for (const waiter of this.waiters) this.release(waiter, body, 'shutdown');
  }

  private async wake(): Promise<void> {
    if (this.waking) {
      this.wakeAgain = true;
      return;
    }
    this.waking = true;
    try {
      do {
        this.wakeAgain = false;
        if (this.waiters.size === 0) break;
        const body = await this.bodies.current();
        const started = process.hrtime.bigint();
        let answered = 0;
        for (const waiter of this.waiters) {
          if (waiter.revision === body.revision) continue;
          this.release(waiter, body, 'change');
          answered++;
        }
        if (answered > 0) this.onFanOut(answered, Number(process.hrtime.bigint() - started) / 1e9);
      } while (this.wakeAgain);
    } catch (err) {
      this.onError(err);
    } finally {
      this.waking = false;
    }
  }

  private release(waiter: Waiter, body: ListBody, outcome: WatchOutcome): void {
    this.waiters.delete(waiter);
    clearTimeout(waiter.timer);
    waiter.responder.answer(body, outcome);
  }

  private async answerOne(responder: WatchResponder, outcome: WatchOutcome): Promise<void> {
    try {
      responder.answer(await this.bodies.current(), outcome);
    } catch (err) {
      responder.fail(err);
    }
  }
}
