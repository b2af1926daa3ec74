// One authenticated user trying to take the server down, as the hardening review did it: a file named thousands of
// times in one request, sockets that queue hundreds of large frames (while Redis stalls, so that the gateway cannot
// keep up), and a request that kills every worker that runs it. Real gateway and worker processes on a Redis of the
// scenario's own, their RSS sampled throughout; another user chats meanwhile.

import { rssKiB, sleep, startOwnRedis } from '@chrome-plus/testkit';
import { ChatClient, chatTime, slowestPing } from './chat-client.ts';
import { encodeFrame, Opcode, RawWebSocket } from './raw-socket.ts';
import { createStage, leakedSecrets } from './stage.ts';

export interface AbuseOptions {
  /** Frames naming one file `16 × messages` times, each on a socket of its own. */
  amplificationFrames: number;
  /** Messages per amplification frame (16 attachment references each). */
  amplificationMessages: number;
  /** Sockets that each queue `backlogFrames` large frames at once. */
  backlogSockets: number;
  backlogFrames: number;
  /** How long Redis is stopped (SIGSTOP) while the backlog arrives: every frame then waits in the gateway. */
  redisStallMs: number;
  /** Times the poison request kills its worker before the test stops restarting workers. */
  poisonKillLimit: number;
  /** Environment overrides for the processes (to measure a limit lifted, say). */
  env?: Record<string, string>;
}

export interface AbuseResult {
  amplification: {
    frameBytes: number;
    refusals: Record<string, number>;
    modelCalls: number;
    gatewayRssGrowthMiB: number;
    workerRssGrowthMiB: number;
    otherUserSlowestPingMs: number;
    otherUserChatMs: number;
  };
  backlog: {
    framesSent: number;
    frameBytes: number;
    /** Written by the flooders but still in their own buffers when the stall ended: the gateway stopped reading. */
    heldBackMiB: number;
    answers: number;
    closeCodes: Record<string, number>;
    gatewayRssPeakGrowthMiB: number;
    otherUserSlowestPingMs: number;
    otherUserChatMs: number;
  };
  poison: {
    workersKilled: number;
    modelCalls: number;
    outcome: string;
    retryable: boolean | undefined;
    message: string;
  };
  /** Processes that died without being killed by the scenario. */
  crashes: number;
  leaks: string[];
}

function count(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

/** Samples a process's RSS every 50 ms until `until` settles; returns the peak, in KiB. */
async function peakRss(pid: number, until: Promise<unknown>): Promise<number> {
  let done = false;
  void until.finally(() => {
    done = true;
  });
  let peak = rssKiB(pid) ?? 0;
  while (!done) {
    peak = Math.max(peak, rssKiB(pid) ?? 0);
    await sleep(50);
  }
  return Math.max(peak, rssKiB(pid) ?? 0);
}

/** The ids of the requests that were answered: accepted (then ended), or refused with a reason. */
function answeredIds(sockets: RawWebSocket[]): Set<string> {
  const ids = new Set<string>();
  for (const socket of sockets) {
    for (const text of socket.texts) {
      const match = /^\{"type":"chat\.(?:accepted|error)","id":"([^"]+)"/.exec(text);
      if (match !== null) ids.add(match[1]!);
    }
  }
  return ids;
}

/** Waits until every socket got an answer (or closed), at most `timeoutMs`. */
async function answered(sockets: RawWebSocket[], expected: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const settled = sockets.every(
      (socket) => socket.texts.length >= expected || socket.closeCode !== undefined || socket.ended,
    );
    if (settled) return;
    await sleep(50);
  }
}

export async function abuse(options: AbuseOptions): Promise<AbuseResult> {
  const redis = await startOwnRedis();
  const stage = await createStage('abuse', {
    redisUrl: redis.url,
    users: ['attacker', 'other'],
    env: {
      MAX_FRAMES_PER_SECOND: '50',
      RATE_LIMIT_PER_MINUTE: '100000',
      MAX_CONCURRENT_GENERATIONS: '4',
      ...options.env,
    },
  });
  const [attacker, other] = [stage.users[0]!, stage.users[1]!];
  try {
    const gateway = await stage.fleet.start('gateway');
    let worker = await stage.fleet.start('worker');
    const otherClient = new ChatClient({
      urls: () => [gateway.url],
      token: other.token,
      secrets: stage.secrets,
    });
    await otherClient.connect();
    await chatTime(otherClient, 'warm-up');
    const hello = JSON.stringify({ type: 'hello', token: attacker.token });

    // 1. Amplification: one 100 KB text file, named 16 times in each of many messages, in several frames at once.
    const form = new FormData();
    form.append(
      'file',
      new Blob(['All work and no play. '.repeat(4_600)], { type: 'text/plain' }),
      'big.txt',
    );
    const uploaded = await fetch(`http://127.0.0.1:${gateway.port}/v1/files`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${attacker.token}` },
    });
    const { fileId } = (await uploaded.json()) as { fileId: string };
    const attachments = Array.from({ length: 16 }, () => ({ fileId }));
    const frameFor = (id: string) =>
      JSON.stringify({
        type: 'chat.send',
        id,
        messages: Array.from({ length: options.amplificationMessages }, () => ({
          role: 'user',
          content: 'summarise',
          attachments,
        })),
      });
    const modelCallsBefore = stage.fake.requests.length;
    const gatewayBefore = rssKiB(gateway.pid) ?? 0;
    const workerBefore = rssKiB(worker.pid) ?? 0;
    const amplifiers = await Promise.all(
      Array.from({ length: options.amplificationFrames }, () => RawWebSocket.connect(gateway.port)),
    );
    const amplification = (async () => {
      for (const socket of amplifiers) socket.sendText(hello);
      await answered(amplifiers, 1, 10_000);
      for (const [index, socket] of amplifiers.entries()) socket.sendText(frameFor(`amplify-${index}`));
      await answered(amplifiers, 2, 30_000);
      await sleep(1_000); // a job enqueued anyway would have reached the model by now
    })();
    const [, gatewayPeak, workerPeak, pingDuringAmplification] = await Promise.all([
      amplification,
      peakRss(gateway.pid, amplification),
      peakRss(worker.pid, amplification),
      slowestPing(otherClient, amplification),
    ]);
    const refusals: Record<string, number> = {};
    for (const socket of amplifiers) {
      for (const text of socket.texts.slice(1))
        count(refusals, /"code":"([a-z_]+)"/.exec(text)?.[1] ?? 'other');
      socket.destroy();
    }
    const amplificationResult: AbuseResult['amplification'] = {
      frameBytes: Buffer.byteLength(frameFor('amplify-0')),
      refusals,
      modelCalls: stage.fake.requests.length - modelCallsBefore,
      gatewayRssGrowthMiB: Math.round((gatewayPeak - gatewayBefore) / 1024),
      workerRssGrowthMiB: Math.round((workerPeak - workerBefore) / 1024),
      otherUserSlowestPingMs: pingDuringAmplification,
      otherUserChatMs: await chatTime(otherClient, 'after-amplification'),
    };

    // 2. Backlog: several sockets each write many large frames at once, far faster than they are handled.
    const backlogBefore = rssKiB(gateway.pid) ?? 0;
    // Long conversations without attachments pass the cheap checks: each needs Redis, which is stopped meanwhile.
    // Encoded beforehand, so that the client writes as fast as the network takes them.
    const longConversation = Array.from({ length: 1000 }, (_, index) => ({
      role: index % 2 === 0 ? 'user' : 'assistant',
      content: `${index} ${'lorem ipsum '.repeat(50)}`,
    }));
    const backlogFrames = Array.from({ length: options.backlogSockets }, (_, socket) =>
      Array.from({ length: options.backlogFrames }, (_, index) =>
        encodeFrame({
          opcode: Opcode.text,
          payload: Buffer.from(
            JSON.stringify({
              type: 'chat.send',
              id: `backlog-${socket}-${index}`,
              messages: longConversation,
            }),
          ),
        }),
      ),
    );
    // Connected only now: encoding takes a while, and a socket must say hello within 5 s.
    const flooders = await Promise.all(
      Array.from({ length: options.backlogSockets }, () => RawWebSocket.connect(gateway.port)),
    );
    // What the flooders could not hand to the kernel at the end of the stall: the gateway stopped reading them.
    let heldBackBytes = 0;
    const backlog = (async () => {
      for (const socket of flooders) socket.sendText(hello);
      await answered(flooders, 1, 10_000);
      process.kill(redis.pid!, 'SIGSTOP');
      try {
        for (const [index, socket] of flooders.entries()) {
          for (const frame of backlogFrames[index]!) socket.writeBytes(frame);
        }
        await sleep(options.redisStallMs);
        heldBackBytes = flooders.reduce((sum, socket) => sum + socket.unsentBytes, 0);
      } finally {
        process.kill(redis.pid!, 'SIGCONT');
      }
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && answeredIds(flooders).size < flooders.length * options.backlogFrames) {
        await sleep(50);
      }
    })();
    const [, backlogPeak, pingDuringBacklog] = await Promise.all([
      backlog,
      peakRss(gateway.pid, backlog),
      slowestPing(otherClient, backlog),
    ]);
    const closeCodes: Record<string, number> = {};
    const answers = answeredIds(flooders).size;
    for (const socket of flooders) {
      count(closeCodes, String(socket.closeCode ?? 'open'));
      socket.destroy();
    }
    const backlogResult: AbuseResult['backlog'] = {
      framesSent: options.backlogSockets * options.backlogFrames,
      frameBytes: backlogFrames[0]![0]!.length,
      heldBackMiB: Math.round(heldBackBytes / 1_048_576),
      answers,
      closeCodes,
      gatewayRssPeakGrowthMiB: Math.round((backlogPeak - backlogBefore) / 1024),
      otherUserSlowestPingMs: pingDuringBacklog,
      otherUserChatMs: await chatTime(otherClient, 'after-backlog'),
    };

    // 3. Poison: a request whose every run kills its worker (the scenario plays the crash: SIGKILL on arrival).
    let workersKilled = 0;
    let poisonCalls = 0;
    stage.fake.script((request) => {
      if (!JSON.stringify(request.body?.messages).includes('poison-pill')) return undefined;
      poisonCalls++;
      if (workersKilled < options.poisonKillLimit) {
        workersKilled++;
        const victim = worker;
        void victim.kill('SIGKILL').then(async () => {
          worker = await stage.fleet.start('worker', `worker-${workersKilled + 1}`);
        });
      }
      return { type: 'hang' };
    });
    const attackerClient = new ChatClient({ urls: () => [gateway.url], token: attacker.token });
    await attackerClient.connect();
    const poisoned = attackerClient.send('poison', 'poison-pill');
    await attackerClient.waitSettled(60_000);
    const end = poisoned.events.at(-1);
    attackerClient.close();
    stage.fake.script(undefined);
    otherClient.close();

    // A process that exited, or died of any signal but the scenario's SIGKILL (an abort on heap exhaustion), crashed.
    const crashes = stage.fleet.started.filter(
      ({ child }) => child.exitCode !== null || (child.signalCode !== null && child.signalCode !== 'SIGKILL'),
    ).length;
    return {
      amplification: amplificationResult,
      backlog: backlogResult,
      poison: {
        workersKilled,
        modelCalls: poisonCalls,
        outcome: end === undefined ? 'none' : end.type === 'chat.error' ? end.code : end.type,
        retryable: end?.type === 'chat.error' ? end.retryable : undefined,
        message: end?.type === 'chat.error' ? end.message : '',
      },
      crashes,
      leaks: [...leakedSecrets(stage.secrets, [stage.fleet.output()]), ...otherClient.leaks],
    };
  } finally {
    await stage.close();
    await redis.destroy();
  }
}
