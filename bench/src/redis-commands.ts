// Redis commands per node over a measured window: `INFO commandstats` and `INFO cpu` read on each node before and
// after, their differences kept. On the cluster target the nodes are its masters, so a run shows how the live
// traffic (SPUBLISH, XADD, EVALSHA, BullMQ's scripts) spread over them; on the one-node target, the one node.
import type { Redis } from 'ioredis';

/** A node whose commands are counted: a plain connection to it (a cluster's SCAN and INFO see one node). */
export interface RedisNodeProbe {
  /** host:port, and a note such as "shared" where other clients may use it too. */
  label: string;
  redis: Redis;
}

export interface NodeSnapshot {
  calls: Map<string, number>;
  /** Microseconds spent in commands (the sum of commandstats' usec, INFO left out). */
  usec: number;
  /** used_cpu_user + used_cpu_sys of the redis-server process. */
  cpuSeconds: number;
}

export interface NodeCommands {
  node: string;
  /** Commands over the window, every command (the probe's own INFO calls left out). */
  total: number;
  /** Calls per command over the window, by upper-case name (subcommands as `CLIENT|SETNAME`), most first. */
  calls: Record<string, number>;
  /** Time spent in commands over the window (ms). */
  commandMs: number;
  /** The redis-server process's CPU over the window, as a percentage of one core. */
  cpuPercent: number;
}

/** Parses `INFO commandstats`: `cmdstat_spublish:calls=12,usec=34,…` per line. */
export function parseCommandStats(text: string): { calls: Map<string, number>; usec: number } {
  const calls = new Map<string, number>();
  let usec = 0;
  for (const line of text.split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (match === null) continue;
    const name = match[1]!.toUpperCase();
    calls.set(name, Number(match[2]));
    // The probe's own reads (two INFO per snapshot) are not the system's traffic.
    if (name !== 'INFO') usec += Number(match[3]);
  }
  return { calls, usec };
}

/** used_cpu_user + used_cpu_sys of `INFO cpu`, in seconds. */
export function parseCpuSeconds(text: string): number {
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(text)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

export async function snapshot(probe: RedisNodeProbe): Promise<NodeSnapshot> {
  const [stats, cpu] = await Promise.all([probe.redis.info('commandstats'), probe.redis.info('cpu')]);
  return { ...parseCommandStats(stats), cpuSeconds: parseCpuSeconds(cpu) };
}

/** What a node did between two snapshots `seconds` apart. */
export function difference(
  node: string,
  before: NodeSnapshot,
  after: NodeSnapshot,
  seconds: number,
): NodeCommands {
  const entries: [string, number][] = [];
  for (const [name, count] of after.calls) {
    // The probe's own reads (two INFO per snapshot) are not the system's traffic.
    if (name === 'INFO') continue;
    const calls = count - (before.calls.get(name) ?? 0);
    if (calls > 0) entries.push([name, calls]);
  }
  entries.sort((a, b) => b[1] - a[1]);
  return {
    node,
    total: entries.reduce((sum, [, calls]) => sum + calls, 0),
    calls: Object.fromEntries(entries),
    commandMs: Math.round((after.usec - before.usec) / 100) / 10,
    cpuPercent: seconds > 0 ? Math.round(((after.cpuSeconds - before.cpuSeconds) / seconds) * 1000) / 10 : 0,
  };
}

/** Counts the commands of every node between `start()` and `stop()`; a node that does not answer is left out. */
export function commandCounter(probes: readonly RedisNodeProbe[]) {
  let before: (NodeSnapshot | undefined)[] = [];
  let startedAt = 0;
  const read = () => Promise.all(probes.map((probe) => snapshot(probe).catch(() => undefined)));
  return {
    async start(): Promise<void> {
      before = await read();
      startedAt = performance.now();
    },
    async stop(): Promise<NodeCommands[]> {
      const seconds = (performance.now() - startedAt) / 1000;
      const after = await read();
      return probes.flatMap((probe, index) => {
        const first = before[index];
        const last = after[index];
        return first === undefined || last === undefined
          ? []
          : [difference(probe.label, first, last, seconds)];
      });
    },
  };
}

/** Sum of commands over the nodes, and each node's share of it (0–1). */
export function shares(nodes: readonly NodeCommands[]): { total: number; shares: number[] } {
  const total = nodes.reduce((sum, node) => sum + node.total, 0);
  return { total, shares: nodes.map((node) => (total === 0 ? 0 : node.total / total)) };
}
