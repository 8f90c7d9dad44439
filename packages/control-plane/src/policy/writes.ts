import { assertValidPolicy, HfiError, isHfiError, type Policy } from '@hfi/core';
import type { PolicyRecord, PolicyStore } from '../store/types';
import { newRecord } from './records';
import { compareSemver, parseSemver } from './semver';

export interface PolicyWriterOptions {
  /** Largest `fixed_delay_ms` accepted (a 400 past it, never a silent clamp). */
  maxDelayMs: number;
  now?: () => number;
}

/** The write endpoints' logic: validation with field paths, the reference's version rules, store conditions. */
export class PolicyWriter {
  private readonly now: () => number;

  constructor(
    private readonly store: PolicyStore,
    private readonly options: PolicyWriterOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** `POST /v1/policies`: create or replace, no version rule. */
  async upsert(body: unknown): Promise<PolicyRecord> {
    const policy = this.validate(body);
    return this.store.put(newRecord(policy, this.now()), 'upsert');
  }

  /** `POST /v1/policies/create`: `metadata.version` (x.y.z) required; 409 when the name is taken. */
  async create(body: unknown): Promise<PolicyRecord> {
    const policy = this.validate(body);
    const version = policy.metadata.version ?? '';
    if (!version) throw invalid('metadata.version', 'version is required');
    if (!parseSemver(version))
      throw invalid('metadata.version', `version must be in the form x.y.z (got "${version}")`);
    try {
      return await this.store.put(newRecord(policy, this.now()), 'create');
    } catch (err) {
      if (isHfiError(err, 'HFI_ERR_POLICY_EXISTS')) throw policyExists(policy.metadata.name, err);
      throw err;
    }
  }

  /** `PUT /v1/policies/:name`: must exist (404), names must agree, versions must increase when both are set. */
  async update(name: string, body: unknown): Promise<PolicyRecord> {
    const policy = this.validate(body);
    if (policy.metadata.name !== name) {
      throw new HfiError('HFI_ERR_POLICY_NAME_MISMATCH', undefined, {
        field: 'metadata.name',
        details: { field: 'metadata.name', url_name: name, body_name: policy.metadata.name },
      });
    }
    const existing = await this.store.get(name);
    if (!existing) throw policyNotFound(name);
    checkVersionIncrease(existing.policy.metadata.version ?? '', policy.metadata.version ?? '');
    try {
      return await this.store.put(newRecord(policy, this.now()), 'update');
    } catch (err) {
      if (isHfiError(err, 'HFI_ERR_POLICY_NOT_FOUND')) throw policyNotFound(name, err);
      throw err;
    }
  }

  async delete(name: string): Promise<void> {
    if (!(await this.store.delete(name))) throw policyNotFound(name);
  }

  private validate(body: unknown): Policy {
    if (body === undefined) {
      throw new HfiError('HFI_ERR_POLICY_PARSE', 'request body is empty; send a policy as JSON or YAML');
    }
    return assertValidPolicy(body, { maxDelayMs: this.options.maxDelayMs });
  }
}

function checkVersionIncrease(oldVersion: string, newVersion: string): void {
  if (!oldVersion || !newVersion) return;
  const details = { field: 'metadata.version', old_version: oldVersion, new_version: newVersion };
  const next = parseSemver(newVersion);
  if (!next) {
    throw new HfiError('HFI_ERR_POLICY_VERSION', `version must be in the form x.y.z (got "${newVersion}")`, {
      field: 'metadata.version',
      details,
    });
  }
  const previous = parseSemver(oldVersion);
  // A stored version that is not x.y.z (written through the upsert endpoint) cannot be compared; any valid one wins.
  if (!previous) return;
  const order = compareSemver(next, previous);
  if (order === 0) {
    throw new HfiError('HFI_ERR_POLICY_VERSION', 'version must be incremented for updates', {
      field: 'metadata.version',
      details,
    });
  }
  if (order < 0) {
    throw new HfiError('HFI_ERR_POLICY_VERSION', 'new version must be greater than old version', {
      field: 'metadata.version',
      details,
    });
  }
}

function invalid(field: string, message: string): HfiError {
  return new HfiError('HFI_ERR_POLICY_INVALID', `${field}: ${message}`, {
    field,
    details: { field, issues: [{ field, message }] },
  });
}

export function policyNotFound(name: string, cause?: unknown): HfiError {
  return new HfiError('HFI_ERR_POLICY_NOT_FOUND', undefined, { cause, details: { resource: 'policy', name } });
}

function policyExists(name: string, cause?: unknown): HfiError {
  return new HfiError('HFI_ERR_POLICY_EXISTS', undefined, { cause, details: { resource: 'policy', name } });
}
