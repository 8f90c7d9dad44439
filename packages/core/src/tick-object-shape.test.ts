// holdTickObjectShape against the V8 behaviour it works around, in child Node processes (the built dist): V8's
// natives syntax prints nextTick's inline caches, and gc() runs a full GC while the tick queue is empty.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { heldTickObject, holdTickObjectShape } from './tick-object-shape';

const DIST = resolve(__dirname, '../dist/tick-object-shape.js');

// Enough ticks for V8 to give nextTick its feedback, then a full GC from a macrotask (no tick object alive), then
// more ticks; prints nextTick's caches for the keyed definitions in its literal.
const SCRIPT = `
if (process.argv[2] === 'hold') require(${JSON.stringify(DIST)}).holdTickObjectShape();
const tick = () => new Promise((r) => process.nextTick(r));
(async () => {
  for (let i = 0; i < 300; i++) await tick();
  await new Promise((r) => setImmediate(() => { globalThis.gc(); globalThis.gc(); r(); }));
  for (let i = 0; i < 10; i++) await tick();
  %DebugPrint(process.nextTick);
})();
`;

let dir: string;
beforeAll(async () => {
  expect(existsSync(DIST)).toBe(true); // build first: npx tsc -b packages/core
  dir = await mkdtemp(join(tmpdir(), 'hfi-tick-shape-'));
  await writeFile(join(dir, 'script.js'), SCRIPT);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function literalCacheStates(mode: 'hold' | 'none'): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--allow-natives-syntax', '--expose-gc', join(dir, 'script.js'), mode],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return [...stdout.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((m) => m[1] ?? '');
}

test('without it, a full GC with no tick queued leaves nextTick megamorphic (the behaviour worked around)', async () => {
  const states = await literalCacheStates('none');
  expect(states.length).toBeGreaterThanOrEqual(4);
  expect(states).toContain('MEGAMORPHIC');
});

test('holding a tick object keeps every keyed definition in nextTick monomorphic across the GC', async () => {
  const states = await literalCacheStates('hold');
  expect(states.length).toBeGreaterThanOrEqual(4);
  expect(states.every((s) => s === 'MONOMORPHIC')).toBe(true);
});

test('it holds the tick object itself, once per process', async () => {
  holdTickObjectShape();
  holdTickObjectShape();
  await new Promise((r) => setImmediate(r));
  const held = heldTickObject();
  expect(held).toBeDefined();
  const keys = Object.getOwnPropertySymbols(held).map(String);
  // Under Jest an AsyncLocalStorage adds its own store symbol to each tick object.
  expect(keys.slice(0, 2)).toEqual(['Symbol(async_id_symbol)', 'Symbol(trigger_async_id_symbol)']);
  expect(Object.keys(held as object)).toEqual(['callback', 'args']);
});
