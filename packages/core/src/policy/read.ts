// Reading policy documents from files, stdin or text: every YAML document of a stream (the reference read only
// the first), or JSON as one policy, an array of policies, or the API's {"policies":[...]} list.

import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { HfiError } from '../errors';
import { lineColumn, locateJsonError } from './json-locate';

/** Documents and list elements are returned undecoded; validatePolicy says what is wrong with them. */
function unwrap(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    if (Array.isArray(obj.policies) && !('metadata' in obj) && !('spec' in obj)) return obj.policies;
  }
  return [value];
}

function parseError(source: string, text: string, offset: number, reason: string, extra: Record<string, unknown> = {}) {
  const { line, column } = lineColumn(text, offset);
  return new HfiError('HFI_ERR_POLICY_PARSE', `${source}:${line}:${column}: ${reason}`, {
    details: { source, line, column, reason, ...extra },
  });
}

function looksLikeJson(text: string, source: string): boolean {
  const lower = source.toLowerCase();
  if (lower.endsWith('.json')) return true;
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return false;
  const first = /\S/.exec(text)?.[0];
  return first === '{' || first === '[';
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const problem = locateJsonError(text) ?? { offset: 0, reason: (error as Error).message };
    throw parseError(source, text, problem.offset, `invalid JSON: ${problem.reason}`, { format: 'json' });
  }
}

function parseYaml(text: string, source: string): unknown[] {
  const out: unknown[] = [];
  parseAllDocuments(text, { prettyErrors: false }).forEach((doc, index) => {
    const [error] = doc.errors;
    const document = index + 1;
    if (error !== undefined) {
      throw parseError(source, text, error.pos[0], `invalid YAML: ${error.message}`, { format: 'yaml', document });
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (cause) {
      const offset = doc.range?.[0] ?? 0;
      throw parseError(source, text, offset, `invalid YAML: ${(cause as Error).message}`, { format: 'yaml', document });
    }
    // Empty documents (a stray `---`, a comment-only document) are skipped.
    if (value !== null && value !== undefined) out.push(...unwrap(value));
  });
  return out;
}

/**
 * Parses every policy document in a text. JSON when `source` ends in .json (or, with no telling extension, when
 * the text starts with `{` or `[`), YAML otherwise. Syntax errors throw HfiError HFI_ERR_POLICY_PARSE whose
 * message is `source:line:column: reason` and whose details carry source, line, column (1-based) and reason.
 */
export function parsePolicyDocuments(text: string, source = '<input>'): unknown[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (looksLikeJson(body, source)) return body.trim() === '' ? [] : unwrap(parseJson(body, source));
  return parseYaml(body, source);
}

const READ_REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
};

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads and parses a policy file, or standard input for `-`. An unreadable input throws HFI_ERR_INPUT_READ. */
export async function readPolicyInput(
  pathOrDash: string,
  options: { stdin?: NodeJS.ReadableStream } = {},
): Promise<unknown[]> {
  const source = pathOrDash === '-' ? '<stdin>' : pathOrDash;
  let text: string;
  try {
    text = pathOrDash === '-' ? await readStream(options.stdin ?? process.stdin) : await readFile(pathOrDash, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const reason = (code !== undefined && READ_REASONS[code]) || (cause as Error).message;
    throw new HfiError('HFI_ERR_INPUT_READ', `cannot read ${source}: ${reason}`, {
      details: { source, ...(code === undefined ? {} : { errno: code }) },
      cause,
    });
  }
  return parsePolicyDocuments(text, source);
}
