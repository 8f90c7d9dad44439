import type { NodeStatus } from '@hfi/core';
import { formatSelector, mismatchReasons, type NodeList } from '@hfi/sdk';
import { getHfi } from '../runtime/worker';
import { fail, objectArg } from './arguments';
import type { MatcherContextLike, MatcherResult } from './context';
import { processMatch } from './process-match';
import type { WindowLike } from './subject';
import { nodeState } from './tables';

const matcher = 'toBeAppliedOnAllTargets';
const expectedHint = 'options';

/** Anything that lists the sidecars, such as an HfiClient or a ControlPlaneClient. */
export interface NodesReaderLike {
  nodes(): Promise<NodeList>;
}

export interface AppliedOnAllTargetsOptions {
  /** The control plane to ask; default: the preset's `hfi` client. */
  controlPlane?: NodesReaderLike;
}

/**
 * Every live sidecar the window's selector matches has applied the window's revision (and there is at least one).
 */
export function toBeAppliedOnAllTargets(
  this: MatcherContextLike,
  received: unknown,
  ...args: unknown[]
): MatcherResult | Promise<MatcherResult> {
  const a = { ctx: this, matcher, expectedHint };
  return processMatch<AppliedOnAllTargetsOptions>({
    ctx: this,
    matcher,
    received,
    args,
    arity: 1,
    expectedHint,
    accepts: 'window',
    parse: (list) => {
      if (list[0] === undefined) return {};
      const options = objectArg(a, list[0], 'options', ['controlPlane']);
      const reader = options.controlPlane;
      if (reader !== undefined && typeof (reader as Partial<NodesReaderLike>).nodes !== 'function') {
        fail(a, 'options.controlPlane must have a nodes() method (an HfiClient or a ControlPlaneClient)');
      }
      return reader === undefined ? {} : { controlPlane: reader as NodesReaderLike };
    },
    nodesReader: (options) => {
      if (options.controlPlane) return options.controlPlane;
      try {
        return getHfi();
      } catch (err) {
        return fail(
          a,
          `without the preset's global setup there is no default control plane: pass one, e.g. ${matcher}({ controlPlane: client }) (${(err as Error).message})`,
        );
      }
    },
    check: (_options, window: WindowLike, { nodes }: NodeList) => {
      const states = nodes.map((n) => ({ node: n, state: nodeState(n, window.selector, window.revision) }));
      const targets = states.filter((s) => s.state === 'applied' || s.state === 'behind');
      const behind = targets.filter((s) => s.state === 'behind').map((s) => s.node);
      const applied = targets.length - behind.length;
      const name = (n: NodeStatus) => `${n.namespace}/${n.pod || '(no pod)'} (${n.instance})`;
      return {
        pass: targets.length > 0 && behind.length === 0,
        lines: () => [
          `Expected: ${this.isNot ? 'not ' : ''}every sidecar matching ${formatSelector(window.selector)} to have applied revision ${window.revision} (policy ${window.name})`,
          `Received: ${this.utils.printReceived(applied)} of ${targets.length} live matching sidecar instance(s) applied it`,
        ],
        causes: () => {
          const causes: string[] = [];
          if (targets.length === 0) {
            causes.push(
              nodes.length === 0
                ? "no sidecar has polled the control plane: check the filter's control-plane address and that the sidecars run"
                : `the selector matches no live sidecar: ${nodes.map((n) => `${name(n)}: ${mismatchReasons(window.selector, n).join('; ') || 'stale'}`).join(' | ')}`,
            );
          }
          if (behind.length > 0) {
            causes.push(
              `${behind.map(name).join(', ')} ${behind.length === 1 ? 'has' : 'have'} not applied revision ${window.revision}: it lost its connection to the control plane or its watch fails (see the sidecar's log)`,
            );
          }
          if (window.closed) causes.push('the window is closed: its policy was deleted');
          return causes;
        },
      };
    },
  });
}
