// The one path every hfi matcher takes: reject extra arguments, check the subject (a wrong one throws a hint rather
// than failing), load what the subject holds (a window's metrics, or the control plane's sidecars), run the check,
// and build the message lazily: the matcher's expected/received lines worded for `.not`, the window, the table of
// what was received, the likely causes and the notes.
import { HfiError } from '@hfi/core';
import { type FaultDelta, formatSelector, type NodeList } from '@hfi/sdk';
import type { MatcherContextLike, MatcherResult } from './context';
import { type Focus, likelyCauses } from './likely-cause';
import { isFaultDelta, isThenable, isWindowLike, type WindowLike } from './subject';
import { faultTable, nodeTable } from './tables';

export interface Verdict {
  pass: boolean;
  /** Expected/received lines, already worded for `.not`. */
  lines(): string[];
  /** Extra likely causes the matcher knows of (shown after the generic ones). */
  causes?(): string[];
}

interface Common<A> {
  ctx: MatcherContextLike;
  matcher: string;
  received: unknown;
  /** Everything after the subject, as passed. */
  args: readonly unknown[];
  /** How many arguments the matcher takes at most. */
  arity: number;
  /** Argument names for the hint line, e.g. 'expected' or 'p, options'. */
  expectedHint: string;
  /** Checks and normalises the arguments; throws a usage error (see usageError) when they are wrong. */
  parse(args: readonly unknown[]): A;
}

export interface FaultMatch<A> extends Common<A> {
  accepts: 'faults';
  /** What the assertion is about, for the likely causes. */
  focus: readonly Focus[];
  /** Whether the assertion, unnegated, expects some faults. */
  expectsFaults(args: A, ctx: MatcherContextLike): boolean;
  check(args: A, delta: FaultDelta, window: WindowLike | undefined): Verdict;
}

export interface WindowMatch<A> extends Common<A> {
  accepts: 'window';
  /** The control plane to ask (from the arguments or the preset). */
  nodesReader(args: A): { nodes(): Promise<NodeList> };
  check(args: A, window: WindowLike, nodes: NodeList): Verdict;
}

function hint(ctx: MatcherContextLike, matcher: string, expected: string): string {
  return ctx.utils.matcherHint(matcher, 'received', expected, {
    ...(ctx.isNot === undefined ? {} : { isNot: ctx.isNot }),
    ...(typeof ctx.promise === 'string' ? { promise: ctx.promise } : {}),
  });
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

/** A matcher called wrongly: Jest shows this error instead of a failed assertion. */
export function usageError(
  ctx: MatcherContextLike,
  matcher: string,
  expectedHint: string,
  problem: string,
  details: Record<string, unknown> = {},
): HfiError {
  return new HfiError('HFI_ERR_MATCHER_USAGE', `${hint(ctx, matcher, expectedHint)}\n\nMatcher error: ${problem}`, {
    details: { matcher, ...details },
  });
}

function subjectError(ctx: MatcherContextLike, m: Common<unknown> & { accepts: string }): HfiError {
  const { received, matcher } = m;
  const example = `await expect(win).${matcher}(${m.expectedHint === 'expected' ? '3' : ''})`;
  let problem: string;
  if (isThenable(received)) {
    problem =
      'received a Promise. Await it first (const win = await hfi.openFaultWindow(…)), ' +
      `or assert on what it resolves to with await expect(promise).resolves.${matcher}(…)`;
  } else if (m.accepts === 'window' && isFaultDelta(received)) {
    problem = `${matcher} needs the fault window itself, not a FaultDelta: it asks the control plane which sidecars applied the window's revision.\nUse ${example}`;
  } else {
    const what =
      m.accepts === 'window'
        ? 'a fault window (from hfi.openFaultWindow)'
        : 'a fault window (from hfi.openFaultWindow) or a FaultDelta (from win.metrics(), win.close() or diffSnapshots)';
    problem = `received value must be ${what}.\n\nReceived has type:  ${typeName(received)}\nReceived has value: ${ctx.utils.printReceived(received)}\n\nUse ${example}`;
  }
  return usageError(ctx, matcher, m.expectedHint, problem, { received: typeName(received) });
}

function windowLine(window: WindowLike): string {
  const acked = new Set(window.targets.map((t) => `${t.namespace}/${t.pod || t.instance}`));
  return `Window: ${window.name} on ${formatSelector(window.selector)}, revision ${window.revision}, ${acked.size} sidecar(s) acked it when it opened${window.closed ? ' (closed)' : ''}`;
}

function section(title: string, lines: readonly string[]): string[] {
  return lines.length === 0 ? [] : ['', title, ...lines];
}

function faultMessage<A>(
  m: FaultMatch<A>,
  args: A,
  delta: FaultDelta,
  window: WindowLike | undefined,
  verdict: Verdict,
) {
  return (): string => {
    const notes = [...delta.notes, ...delta.perPod.flatMap((p) => p.notes.map((n) => `${p.pod}: ${n}`))];
    const causes = [
      ...likelyCauses({
        delta,
        ...(window ? { window } : {}),
        focus: m.focus,
        expectsFaults: m.expectsFaults(args, m.ctx) !== (m.ctx.isNot === true),
      }),
      ...(verdict.causes?.() ?? []),
    ];
    return [
      hint(m.ctx, m.matcher, m.expectedHint),
      '',
      ...verdict.lines(),
      ...(window ? ['', windowLine(window)] : []),
      ...section('Received per pod:', [faultTable(delta)]),
      ...section(
        'Likely cause:',
        causes.map((c) => `  - ${c}`),
      ),
      ...section(
        'Notes:',
        notes.map((n) => `  - ${n}`),
      ),
    ].join('\n');
  };
}

/**
 * A promise for the result that also throws a usage hint when read synchronously: Jest and Vitest read `pass`
 * straight off the return value when the matcher is used asymmetrically (`expect.toHaveInjectedAborts(3)` inside
 * toEqual), which can only work on a FaultDelta.
 */
function asyncResult(run: () => Promise<MatcherResult>, whenSync: () => HfiError): Promise<MatcherResult> {
  const promise = run();
  // Handled here too, so the asymmetric case (nobody awaits) leaves no unhandled rejection; Jest's own handler
  // still sees the rejection in the normal case.
  promise.catch(() => undefined);
  Object.defineProperty(promise, 'pass', {
    get() {
      throw whenSync();
    },
  });
  return promise;
}

export function processMatch<A>(m: FaultMatch<A> | WindowMatch<A>): MatcherResult | Promise<MatcherResult> {
  const { ctx, matcher, received } = m;
  if (m.args.length > m.arity) {
    throw usageError(
      ctx,
      matcher,
      m.expectedHint,
      `${matcher} takes ${m.arity === 0 ? 'no arguments' : `at most ${m.arity} argument${m.arity > 1 ? 's' : ''} (${m.expectedHint})`}, got ${m.args.length}: ${m.args.map((a) => ctx.utils.printExpected(a)).join(', ')}`,
    );
  }
  const args = m.parse(m.args);
  const asymmetricHint = () =>
    usageError(
      ctx,
      matcher,
      m.expectedHint,
      `the asymmetric form expect.${matcher}(…) can only check a FaultDelta (its window's metrics need an await): use it on await win.metrics() or on the delta win.close() returned`,
    );

  if (m.accepts === 'faults') {
    const result = (delta: FaultDelta, window: WindowLike | undefined): MatcherResult => {
      const verdict = m.check(args, delta, window);
      return { pass: verdict.pass, message: faultMessage(m, args, delta, window, verdict) };
    };
    if (isFaultDelta(received)) return result(received, undefined);
    if (!isWindowLike(received)) throw subjectError(ctx, m);
    if (received.closed) {
      throw usageError(
        ctx,
        matcher,
        m.expectedHint,
        `the fault window ${received.name} is closed, so it has no live metrics: assert on the delta close() returned (const delta = await win.close(); await expect(delta).${matcher}(…))`,
      );
    }
    const window = received;
    return asyncResult(async () => result(await window.metrics(), window), asymmetricHint);
  }

  if (!isWindowLike(received)) throw subjectError(ctx, m);
  const window = received;
  const reader = m.nodesReader(args);
  return asyncResult(async () => {
    const nodes = await reader.nodes();
    const verdict = m.check(args, window, nodes);
    return {
      pass: verdict.pass,
      message: () =>
        [
          hint(ctx, matcher, m.expectedHint),
          '',
          ...verdict.lines(),
          '',
          windowLine(window),
          ...section(`Sidecars the control plane knows (store revision ${nodes.revision}):`, [
            nodeTable(nodes.nodes, window.selector, window.revision),
          ]),
          ...section(
            'Likely cause:',
            (verdict.causes?.() ?? []).map((c) => `  - ${c}`),
          ),
        ].join('\n'),
    };
  }, asymmetricHint);
}
