import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { HfiError } from '../errors';
import { parsePolicyDocuments, readPolicyInput } from './read';

const one = { metadata: { name: 'one' }, spec: { rules: [] } };
const two = { metadata: { name: 'two' }, spec: { rules: [] } };

function thrownBy(fn: () => unknown): HfiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HfiError) return error;
    throw error;
  }
  throw new Error('expected a throw');
}

async function rejectionOf(promise: Promise<unknown>): Promise<HfiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HfiError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('parsePolicyDocuments: YAML', () => {
  it('reads every document of a stream, skipping empty ones', () => {
    const text = [
      '# leading comment',
      '---',
      'metadata: {name: one}',
      'spec: {rules: []}',
      '---',
      '---',
      '# only a comment',
      '---',
      'metadata:',
      '  name: two',
      'spec:',
      '  rules: []',
      '...',
      '',
    ].join('\n');
    expect(parsePolicyDocuments(text, 'p.yaml')).toEqual([one, two]);
  });

  it('returns nothing for an empty file', () => {
    expect(parsePolicyDocuments('', 'empty.yaml')).toEqual([]);
    expect(parsePolicyDocuments('\n# nothing\n', 'empty.yaml')).toEqual([]);
  });

  it('unwraps a list document and a {policies: [...]} document', () => {
    expect(parsePolicyDocuments('- metadata: {name: one}\n  spec: {rules: []}\n', 'l.yaml')).toEqual([one]);
    expect(parsePolicyDocuments('policies:\n  - metadata: {name: two}\n    spec: {rules: []}\n', 'w.yml')).toEqual([
      two,
    ]);
  });

  it('keeps YAML 1.2 core types: numbers stay numbers, quoted numbers stay strings, no timestamps', () => {
    const [doc] = parsePolicyDocuments('a: 50\nb: "50"\nc: 2025-01-01\nd: 0.5\ne: yes\n', 'x.yaml');
    expect(doc).toEqual({ a: 50, b: '50', c: '2025-01-01', d: 0.5, e: 'yes' });
  });

  it.each([
    ['bad indentation', 'metadata:\n  name: x\n spec: 1\n', 3, 1],
    ['unclosed flow sequence', 'a: 1\nb: [1, 2\nc: 3\n', 3, 1],
    ['duplicate key', 'metadata:\n  name: a\n  name: b\n', 3, 3],
    ['unterminated quote', 'metadata:\n  name: "abc\n', 3, 1],
    ['tab indentation', 'metadata:\n\tname: a\n', 2, 1],
  ])('reports %s with line and column', (_label, text, line, column) => {
    const error = thrownBy(() => parsePolicyDocuments(text, 'bad.yaml'));
    expect(error.code).toBe('HFI_ERR_POLICY_PARSE');
    expect(error.message).toMatch(new RegExp(`^bad\\.yaml:${line}:${column}: invalid YAML: `));
    expect(error.details).toMatchObject({ source: 'bad.yaml', line, column, format: 'yaml', document: 1 });
  });

  it('reports the document number of an error in a later document', () => {
    const text = 'metadata: {name: one}\n---\nmetadata: {name: [\n';
    const error = thrownBy(() => parsePolicyDocuments(text, 'multi.yaml'));
    expect(error.details).toMatchObject({ document: 2, line: 4 });
  });

  it('reads a .yaml file that happens to be JSON', () => {
    expect(parsePolicyDocuments(JSON.stringify(one), 'p.yaml')).toEqual([one]);
  });
});

describe('parsePolicyDocuments: JSON', () => {
  it('reads one policy', () => {
    expect(parsePolicyDocuments(JSON.stringify(one), 'p.json')).toEqual([one]);
  });

  it('reads an array of policies', () => {
    expect(parsePolicyDocuments(JSON.stringify([one, two]), 'p.json')).toEqual([one, two]);
  });

  it('reads the API list form {"policies": [...]}', () => {
    expect(parsePolicyDocuments(JSON.stringify({ policies: [one, two] }), 'p.json')).toEqual([one, two]);
  });

  it('detects JSON without an extension from its first character', () => {
    expect(parsePolicyDocuments(`\n  ${JSON.stringify([two])}`, '<stdin>')).toEqual([two]);
    expect(parsePolicyDocuments('\uFEFF{"metadata":{"name":"one"},"spec":{"rules":[]}}', '<stdin>')).toEqual([one]);
  });

  it('returns nothing for an empty .json file', () => {
    expect(parsePolicyDocuments('  \n', 'empty.json')).toEqual([]);
  });

  it.each([
    ['{"a":}', 1, 6, 'unexpected "}", expected a value'],
    ['{\n  "metadata": {"name": "x"},\n  spec: {}\n}', 3, 3, 'unexpected "s", expected a double-quoted property name'],
    ['[1,]', 1, 4, 'unexpected "]", expected a value'],
    ['{"a": 1', 1, 8, 'unexpected end of input, expected "," or "}" after a property value'],
    ['{"a": 1}\n{"b": 2}', 2, 1, 'unexpected "{" after the JSON value'],
    ['{"a": "x\ty"}', 1, 9, 'control character in string'],
    ['{"a": 01}', 1, 8, 'unexpected "1", expected "," or "}" after a property value'],
  ])('reports a syntax error in %j at line %d, column %d', (text, line, column, reason) => {
    const error = thrownBy(() => parsePolicyDocuments(text, 'bad.json'));
    expect(error.code).toBe('HFI_ERR_POLICY_PARSE');
    expect(error.message).toBe(`bad.json:${line}:${column}: invalid JSON: ${reason}`);
    expect(error.details).toEqual({
      source: 'bad.json',
      line,
      column,
      reason: `invalid JSON: ${reason}`,
      format: 'json',
    });
    expect(error.statusCode).toBe(400);
  });

  it('uses "<input>" as the default source name', () => {
    expect(thrownBy(() => parsePolicyDocuments('[')).message).toMatch(/^<input>:1:2: /);
  });
});

describe('readPolicyInput', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hfi-core-read-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file', async () => {
    const file = path.join(dir, 'two.yaml');
    await writeFile(file, 'metadata: {name: one}\nspec: {rules: []}\n---\nmetadata: {name: two}\nspec: {rules: []}\n');
    await expect(readPolicyInput(file)).resolves.toEqual([one, two]);
  });

  it('names the file in parse errors', async () => {
    const file = path.join(dir, 'broken.json');
    await writeFile(file, '{"metadata": }');
    const error = await rejectionOf(readPolicyInput(file));
    expect(error.code).toBe('HFI_ERR_POLICY_PARSE');
    expect(error.details).toMatchObject({ source: file, line: 1, column: 14 });
  });

  it('reads standard input for "-"', async () => {
    const stdin = new PassThrough();
    const result = readPolicyInput('-', { stdin });
    stdin.write('metadata: {name: one}\n');
    // a multi-byte character split across chunks must survive
    const bytes = Buffer.from('spec: {rules: []}\n---\nmetadata: {name: "tw\u00e9"}\n');
    const split = bytes.indexOf(0xc3) + 1;
    stdin.write(bytes.subarray(0, split));
    stdin.end(bytes.subarray(split));
    await expect(result).resolves.toEqual([one, { metadata: { name: 'twé' } }]);
  });

  it('reads JSON from standard input', async () => {
    await expect(
      readPolicyInput('-', { stdin: Readable.from([JSON.stringify({ policies: [two] })]) }),
    ).resolves.toEqual([two]);
  });

  it('reports syntax errors on standard input as <stdin>', async () => {
    const error = await rejectionOf(readPolicyInput('-', { stdin: Readable.from(['a: [1\n']) }));
    expect(error.code).toBe('HFI_ERR_POLICY_PARSE');
    expect(error.details.source).toBe('<stdin>');
  });

  it('throws HFI_ERR_INPUT_READ for a missing file', async () => {
    const file = path.join(dir, 'missing.yaml');
    const error = await rejectionOf(readPolicyInput(file));
    expect(error.code).toBe('HFI_ERR_INPUT_READ');
    expect(error.message).toBe(`cannot read ${file}: no such file`);
    expect(error.details).toEqual({ source: file, errno: 'ENOENT' });
  });

  it('throws HFI_ERR_INPUT_READ for a directory', async () => {
    const error = await rejectionOf(readPolicyInput(dir));
    expect(error.code).toBe('HFI_ERR_INPUT_READ');
    expect(error.details.errno).toBe('EISDIR');
  });

  it('throws HFI_ERR_INPUT_READ when standard input fails', async () => {
    const stdin = new PassThrough();
    const result = readPolicyInput('-', { stdin });
    stdin.destroy(new Error('stream broke'));
    const error = await rejectionOf(result);
    expect(error.code).toBe('HFI_ERR_INPUT_READ');
    expect(error.message).toBe('cannot read <stdin>: stream broke');
  });
});
