// What every scenario returns, and the pieces of load they share: clients over a set of gateways and a paced sender.

import { sleep } from '@chrome-plus/testkit';
import { ChatClient, type Figures, requestsOf, tally } from './chat-client.ts';
import { leakedSecrets, type Stage } from './stage.ts';

export interface ScenarioResult {
  name: string;
  figures: Figures;
  /** One line per faulty request (empty when all is well). */
  details: string[];
  /** What the scenario did and saw besides the figures (kills, restarts, memory, latencies). */
  notes: string[];
  /** Secrets found in any process's log or any frame (must be empty). */
  leaks: string[];
  /** Processes that died without being killed by the scenario. */
  crashes: number;
}

/** Opens `count` clients, spread over the users and the gateways `urls` gives. */
export async function openClients(
  stage: Stage,
  count: number,
  urls: () => string[],
  options: { firstUser?: number } = {},
): Promise<ChatClient[]> {
  const clients: ChatClient[] = [];
  for (let index = 0; index < count; index++) {
    const user = stage.users[((options.firstUser ?? 0) + index) % stage.users.length]!;
    const client = new ChatClient({ urls, token: user.token, secrets: stage.secrets, firstUrl: index });
    await client.connect();
    clients.push(client);
  }
  return clients;
}

/** Sends `count` requests round-robin over the clients, `spacingMs` apart. */
export async function sendPaced(
  clients: readonly ChatClient[],
  count: number,
  spacingMs: number,
  request: (index: number) => { id: string; content: string; expected?: string },
): Promise<void> {
  for (let index = 0; index < count; index++) {
    const { id, content, expected } = request(index);
    clients[index % clients.length]!.send(id, content, expected);
    if (spacingMs > 0) await sleep(spacingMs);
  }
}

/** Ends a scenario: figures, leaks in logs and frames, and processes that died on their own. */
export function finish(
  name: string,
  stage: Stage,
  clients: readonly ChatClient[],
  notes: string[],
  killedPids: ReadonlySet<number>,
): ScenarioResult {
  const details: string[] = [];
  const figures = tally(
    requestsOf(clients),
    details,
    clients.reduce((sum, client) => sum + client.violations.length, 0),
  );
  const frameLeaks = clients.flatMap((client) => client.leaks);
  const leaks = [...new Set([...leakedSecrets(stage.secrets, [stage.fleet.output()]), ...frameLeaks])];
  const crashes = stage.fleet.started.filter(
    (process_) => !process_.alive() && !killedPids.has(process_.pid),
  ).length;
  return { name, figures, details, notes, leaks, crashes };
}
