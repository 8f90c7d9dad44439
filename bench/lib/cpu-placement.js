// Where the benches' processes run. A sidecar, like Envoy, is judged on a CPU of its own: proxy benchmarks pin the
// proxy and the load generator to separate cores, as a Kubernetes sidecar container has CPU of its own. On this
// 2-core machine the load generator, the workload and the sidecar are otherwise three busy processes on two CPUs, and
// a sidecar that wakes while both CPUs are taken can wait for the scheduler's next tick (4 ms at HZ=250) before it
// runs: a stall that no code in the sidecar can shorten.
// `pinned`: the sidecars' main threads (where the proxy, the plugin's VMs and its timers run) share the last CPU;
// every other thread (the driver, the workload and control plane, V8's and libuv's helper threads in the sidecar
// processes) runs on the others. `shared`: every thread may run on any CPU, as the scheduler pleases.
// Linux only (taskset, from util-linux), with at least 2 CPUs allowed; elsewhere only `shared` is available.
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');

/** Sets the CPU list of process `pid`: of all its threads, or only of its main thread. */
function setAffinity(pid, cpus, { allThreads }) {
  execFileSync('taskset', [...(allThreads ? ['-a'] : []), '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** The CPUs this process may run on (Linux: /proc/self/status), as numbers; empty where that cannot be read. */
function allowedCpus() {
  try {
    const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
    return list.split(',').flatMap((range) => {
      const [from, to = from] = range.split('-').map(Number);
      return Array.from({ length: to - from + 1 }, (_, i) => from + i);
    });
  } catch {
    return [];
  }
}

/**
 * Placement of the driver (this process), its helper processes and the sidecar processes, within the CPUs this
 * process may use (a container may allow fewer than the machine has). `available` says whether `pinned` can be
 * used here and, when not, `reason` says why.
 */
function cpuPlacement() {
  const cpus = process.platform === 'linux' ? allowedCpus() : [];
  const all = cpus.join(',');
  const own = String(cpus[cpus.length - 1]);
  const others = cpus.slice(0, -1).join(',');
  let reason = '';
  if (process.platform !== 'linux') reason = 'not Linux';
  else if (cpus.length < 2) reason = cpus.length === 1 ? 'a single CPU' : 'no list of allowed CPUs';
  else {
    try {
      setAffinity(process.pid, all, { allThreads: true });
    } catch (err) {
      reason = `taskset failed (${err.code ?? err.message})`;
    }
  }
  return {
    available: reason === '',
    reason,
    /** The sidecars' CPU and the others', as taskset lists. */
    own,
    others,
    /** Every thread of `helpers` (and of this process) on the other CPUs; the main threads of `sidecars` on their own. */
    pin({ helpers, sidecars }) {
      if (reason !== '') throw new Error(`cannot pin threads here: ${reason}`);
      for (const pid of [process.pid, ...helpers, ...sidecars]) setAffinity(pid, others, { allThreads: true });
      for (const pid of sidecars) setAffinity(pid, own, { allThreads: false });
    },
    /** Every thread of these processes (and of this one) on any CPU; nothing to do where threads were never pinned. */
    share({ helpers, sidecars }) {
      if (reason !== '') return;
      for (const pid of [process.pid, ...helpers, ...sidecars]) setAffinity(pid, all, { allThreads: true });
    },
  };
}

module.exports = { cpuPlacement };
