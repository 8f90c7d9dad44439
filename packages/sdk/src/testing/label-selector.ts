// Kubernetes label selectors as the API server parses them for `?labelSelector=` (k8s.io/apimachinery labels):
// `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` (exists), `!k` (does not exist), joined by commas.
// `!=` and `notin` also match objects without the key.

export type LabelRequirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'doesnotexist' };

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]{0,61}[a-z0-9A-Z])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

export class LabelSelectorError extends Error {}

/** Splits on commas outside parentheses. */
function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(selector.slice(start));
  return parts;
}

function checkKey(key: string): string {
  if (!KEY.test(key)) throw new LabelSelectorError(`invalid label key "${key}"`);
  return key;
}

function checkValue(value: string): string {
  if (!VALUE.test(value)) throw new LabelSelectorError(`invalid label value: "${value}"`);
  return value;
}

export function parseLabelSelector(selector: string): LabelRequirement[] {
  if (selector.trim() === '') return [];
  return splitTopLevel(selector).map((raw) => {
    const part = raw.trim();
    const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
    if (set) {
      const values = (set[3] as string).split(',').map((v) => checkValue(v.trim()));
      return { key: checkKey(set[1] as string), op: set[2] as 'in' | 'notin', values };
    }
    const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (eq) {
      const key = checkKey(eq[1] as string);
      const value = checkValue(eq[3] as string);
      return { key, op: eq[2] === '!=' ? 'notin' : 'in', values: [value] };
    }
    if (part.startsWith('!')) return { key: checkKey(part.slice(1).trim()), op: 'doesnotexist' };
    if (part !== '' && !/[\s=!()]/.test(part)) return { key: checkKey(part), op: 'exists' };
    throw new LabelSelectorError(`"${part}"`);
  });
}

export function matchesLabels(requirements: readonly LabelRequirement[], labels: Record<string, string> = {}): boolean {
  return requirements.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    if (!('values' in r)) return has === (r.op === 'exists');
    const listed = has && r.values.includes(labels[r.key] as string);
    return r.op === 'in' ? listed : !listed;
  });
}
