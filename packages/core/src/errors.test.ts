import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CATALOGUE, type HfiErrorCode } from './errors';

// docs/errors.md is the catalogue's documentation: every code gets a section whose status and wire name agree
// with ERROR_CATALOGUE, and the page documents no code that does not exist.
describe('docs/errors.md', () => {
  const doc = readFileSync(path.resolve(__dirname, '../../../docs/errors.md'), 'utf8');
  const sections = new Map<string, string>();
  for (const part of doc.split(/^#### /m).slice(1)) {
    const [heading, ...body] = part.split('\n');
    sections.set(heading.trim(), body.join('\n'));
  }
  const codes = Object.keys(ERROR_CATALOGUE) as HfiErrorCode[];

  it('documents no unknown code', () => {
    expect([...sections.keys()].filter((h) => !(h in ERROR_CATALOGUE))).toEqual([]);
  });

  it.each(codes)('documents %s with its status and wire name, and links it from the index', (code) => {
    const section = sections.get(code);
    expect(section).toBeDefined();
    const { status, wire } = ERROR_CATALOGUE[code];
    expect(section).toMatch(new RegExp(`^Status ${status}\\b[^\\n]*wire \`${wire}\``, 'm'));
    expect(doc).toContain(`- [${code}](#${code.toLowerCase()})`);
  });
});
