import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { HfiError } from '@hfi/core';
import { MemoryStore, type StoreState } from './memory-store';
import type { PolicyRecord } from './types';

const FORMAT = 'hfi-policies/v1';

interface FileContents {
  format: typeof FORMAT;
  revision: number;
  policies: PolicyRecord[];
}

export interface FileStoreOptions {
  path: string;
}

/**
 * The memory store, made durable in one JSON file. Every write replaces the file atomically: write a temp file,
 * fsync it, rename it over the old one, fsync the directory. A write is acknowledged only after that, so a crash
 * (even kill -9 or power loss) leaves either the previous or the new file, never a torn one, and never loses an
 * acknowledged write. The revision counter lives in the same file, so revisions never go back after a restart.
 */
export class FileStore extends MemoryStore {
  override readonly kind = 'file' as const;
  readonly path: string;
  private readonly dir: string;
  private started = false;

  constructor(options: FileStoreOptions) {
    super();
    this.path = resolve(options.path);
    this.dir = dirname(this.path);
  }

  override async start(): Promise<void> {
    if (this.started) return;
    await mkdir(this.dir, { recursive: true });
    await this.removeStaleTempFiles();
    this.state = await this.load();
    this.started = true;
  }

  override async check(): Promise<{ ok: true } | { ok: false; error: string }> {
    const base = await super.check();
    if (!base.ok) return base;
    try {
      await access(this.dir, constants.W_OK);
      return { ok: true };
    } catch (err) {
      return { ok: false, error: `cannot write ${this.dir}: ${(err as Error).message}` };
    }
  }

  protected override async persist(next: StoreState): Promise<void> {
    const contents: FileContents = { format: FORMAT, revision: next.revision, policies: [...next.records.values()] };
    const tmp = `${this.path}.tmp-${process.pid}`;
    try {
      const file = await open(tmp, 'w', 0o600);
      try {
        await file.writeFile(`${JSON.stringify(contents)}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, this.path);
      const dir = await open(this.dir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new HfiError(
        'HFI_ERR_STORE_UNAVAILABLE',
        `cannot write policy file ${this.path}: ${(err as Error).message}`,
        {
          cause: err,
          details: { path: this.path },
        },
      );
    }
  }

  private async load(): Promise<StoreState> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { revision: 0, records: new Map() };
      throw this.unreadable((err as Error).message, err);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw this.unreadable(`not valid JSON (${(err as Error).message})`, err);
    }
    const contents = parsed as Partial<FileContents> | null;
    if (
      !contents ||
      contents.format !== FORMAT ||
      !Number.isSafeInteger(contents.revision) ||
      !Array.isArray(contents.policies)
    ) {
      throw this.unreadable(`not an ${FORMAT} file`);
    }
    const records = new Map<string, PolicyRecord>();
    for (const record of contents.policies) records.set(record.policy.metadata.name, record);
    return { revision: contents.revision as number, records };
  }

  private unreadable(reason: string, cause?: unknown): HfiError {
    // Refuse to start rather than overwrite a file we cannot read.
    return new HfiError('HFI_ERR_STORE_UNAVAILABLE', `cannot read policy file ${this.path}: ${reason}`, {
      cause,
      details: { path: this.path },
    });
  }

  /** A crash between writing and renaming leaves a temp file behind; it never holds an acknowledged write. */
  private async removeStaleTempFiles(): Promise<void> {
    const prefix = `${basename(this.path)}.tmp-`;
    const entries = await readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(
      entries.filter((e) => e.startsWith(prefix)).map((e) => unlink(join(this.dir, e)).catch(() => undefined)),
    );
  }
}
