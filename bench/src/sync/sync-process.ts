// A device syncing, in a process of its own (as the load generator is): BENCH_SYNC_SPEC says which user, from which
// cursor, and whether once or in a loop. `once` prints {"result":SyncFigures}; `loop` prints {"started":true} once
// welcomed, syncs from 0 again and again until SIGTERM, then prints {"result":{"syncs":[...]}}.
import { HistoryClient, type SyncFigures, sync } from './history-client.ts';

export interface SyncProcessSpec {
  url: string;
  token: string;
  mode: 'once' | 'loop';
  after: number;
  getConcurrency: number;
  fetchMessages: boolean;
}

export interface SyncLoopResult {
  /** Every full sync the loop finished, each from 0. */
  syncs: SyncFigures[];
}

const spec = JSON.parse(process.env.BENCH_SYNC_SPEC ?? '{}') as SyncProcessSpec;
const write = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

try {
  const client = await HistoryClient.open(spec.url, spec.token);
  const options = {
    after: spec.after,
    getConcurrency: spec.getConcurrency,
    fetchMessages: spec.fetchMessages,
  };
  if (spec.mode === 'once') {
    write({ result: await sync(client, options) });
  } else {
    let stopping = false;
    process.on('SIGTERM', () => {
      stopping = true;
    });
    write({ started: true });
    const syncs: SyncFigures[] = [];
    while (!stopping) syncs.push(await sync(client, { ...options, after: 0 }));
    write({ result: { syncs } satisfies SyncLoopResult });
  }
  client.close();
  process.exit(0);
} catch (error) {
  write({ failed: (error as Error).message });
  process.exit(1);
}
