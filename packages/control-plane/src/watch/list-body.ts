import { hasDeadlines, withStatus } from '../policy/status';
import type { PolicyStore } from '../store/types';

/** One serialisation of the policy list, shared by every answer that goes out for the same revision. */
export interface ListBody {
  revision: number;
  /** The JSON array of policies with their status (also the SSE payload). */
  policiesJson: string;
  /** `{"policies":[...],"revision":N}`, encoded once. */
  buffer: Buffer;
  builtAtMs: number;
  /** Whether the body holds `remaining_ms` values, which age. */
  hasDeadlines: boolean;
}

/**
 * Builds `GET /v1/policies` bodies and reuses the last one while its revision is current. A body with rule
 * deadlines carries `remaining_ms` relative to the moment it was built, so it is reused only for a short while.
 */
export class ListBodyCache {
  private last: ListBody | undefined;
  private building: Promise<ListBody> | undefined;

  constructor(
    private readonly store: PolicyStore,
    private readonly maxAgeWithDeadlinesMs = 25,
    private readonly now: () => number = Date.now,
  ) {}

  current(): Promise<ListBody> {
    const last = this.last;
    if (last && last.revision === this.store.currentRevision()) {
      if (!last.hasDeadlines || this.now() - last.builtAtMs <= this.maxAgeWithDeadlinesMs) return Promise.resolve(last);
    }
    if (!this.building) {
      this.building = this.build().finally(() => {
        this.building = undefined;
      });
    }
    return this.building;
  }

  private async build(): Promise<ListBody> {
    const snapshot = await this.store.list();
    const nowMs = this.now();
    const policiesJson = JSON.stringify(snapshot.records.map((r) => withStatus(r, nowMs)));
    const body: ListBody = {
      revision: snapshot.revision,
      policiesJson,
      buffer: Buffer.from(`{"policies":${policiesJson},"revision":${snapshot.revision}}`),
      builtAtMs: nowMs,
      hasDeadlines: hasDeadlines(snapshot.records),
    };
    this.last = body;
    return body;
  }
}
