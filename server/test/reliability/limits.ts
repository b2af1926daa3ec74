// Limits under abuse: a connection flood and a frame flood from one user, and more concurrent generations than one
// user may have, across two gateways; meanwhile another user must be served as usual.

import { rssKiB, sleep } from '@chrome-plus/testkit';
import { ChatClient, chatTime, slowestPing, type Tracked, tokensAnswer } from './chat-client.ts';
import { RawWebSocket } from './raw-socket.ts';
import { createStage, leakedSecrets } from './stage.ts';

export interface LimitsOptions {
  /** Sockets the flooding user opens at once. */
  connections: number;
  /** Sockets that each send `floodFrames` pings as fast as they can. */
  floodSockets: number;
  floodFrames: number;
  /** The per-user cap on generations in flight, and how many the user tries at once. */
  concurrentLimit: number;
  concurrentTries: number;
  /** Sockets opened without ever saying hello (no token needed for that). */
  anonymousConnections: number;
  /** Sockets per user per gateway (MAX_SOCKETS_PER_USER), when the gateway has that setting. */
  socketsPerUser?: number;
  /** HELLO_TIMEOUT_MS of the gateways (default: theirs, the protocol's 5 s). */
  helloTimeoutMs?: number;
}

export interface LimitsResult {
  connectionFlood: {
    opened: number;
    refused: number;
    refusalCodes: Record<string, number>;
    closeCodes: Record<string, number>;
    rssGrowthKiB: number;
    otherUserSlowestPingMs: number;
    otherUserChatMs: number;
  };
  anonymousFlood: {
    opened: number;
    closeCodes: Record<string, number>;
    /** Time from the last socket opened to the last one closed by the gateway. */
    allClosedAfterMs: number;
    rssGrowthKiB: number;
    otherUserSlowestPingMs: number;
  };
  frameFlood: {
    framesSent: number;
    rateLimitedAnswers: number;
    retryAfterMs: number | undefined;
    closeCodes: Record<string, number>;
    otherUserSlowestPingMs: number;
    otherUserChatMs: number;
  };
  concurrent: {
    tried: number;
    accepted: number;
    rateLimited: number;
    retryAfterMs: number | undefined;
    acceptedCompleted: number;
    otherUserCompleted: number;
    otherUserSlowestMs: number;
  };
  leaks: string[];
  crashes: number;
}

function count(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

export async function limits(options: LimitsOptions): Promise<LimitsResult> {
  const stage = await createStage('limits', {
    users: ['flooder', 'other'],
    env: {
      MAX_CONCURRENT_GENERATIONS: String(options.concurrentLimit),
      MAX_FRAMES_PER_SECOND: '50',
      ...(options.socketsPerUser !== undefined && { MAX_SOCKETS_PER_USER: String(options.socketsPerUser) }),
      ...(options.helloTimeoutMs !== undefined && { HELLO_TIMEOUT_MS: String(options.helloTimeoutMs) }),
    },
  });
  const flooder = stage.users[0]!;
  const other = stage.users[1]!;
  try {
    const [gatewayA, gatewayB] = await Promise.all([
      stage.fleet.start('gateway', 'gateway-a'),
      stage.fleet.start('gateway', 'gateway-b'),
      stage.fleet.start('worker'),
    ]);
    const otherClient = new ChatClient({
      urls: () => [gatewayA.url],
      token: other.token,
      secrets: stage.secrets,
    });
    await otherClient.connect();
    await chatTime(otherClient, 'warm-up', 20_000);

    // 1. A connection flood: one user opens many sockets at once, each saying hello.
    const rssBefore = rssKiB(gatewayA.pid) ?? 0;
    const connectionFlood: LimitsResult['connectionFlood'] = {
      opened: 0,
      refused: 0,
      refusalCodes: {},
      closeCodes: {},
      rssGrowthKiB: 0,
      otherUserSlowestPingMs: 0,
      otherUserChatMs: 0,
    };
    const sockets: RawWebSocket[] = [];
    const flood = (async () => {
      const batch = 50;
      for (let start = 0; start < options.connections; start += batch) {
        await Promise.all(
          Array.from({ length: Math.min(batch, options.connections - start) }, async () => {
            try {
              const socket = await RawWebSocket.connect(gatewayA.port, { timeoutMs: 20_000 });
              sockets.push(socket);
              socket.sendText(JSON.stringify({ type: 'hello', token: flooder.token }));
            } catch {
              count(connectionFlood.closeCodes, 'upgrade failed');
            }
          }),
        );
      }
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const answered = sockets.filter(
          (socket) => socket.texts.length > 0 || socket.closeCode !== undefined || socket.ended,
        ).length;
        if (answered === sockets.length) break;
        await sleep(50);
      }
    })();
    const [, slowestDuringConnections] = await Promise.all([flood, slowestPing(otherClient, flood)]);
    connectionFlood.otherUserSlowestPingMs = slowestDuringConnections;
    connectionFlood.otherUserChatMs = await chatTime(otherClient, 'during-connection-flood', 20_000);
    connectionFlood.rssGrowthKiB = (rssKiB(gatewayA.pid) ?? 0) - rssBefore;
    await sleep(200);
    for (const socket of sockets) {
      const welcomed = socket.texts.some((text) => text.includes('"welcome"'));
      if (welcomed && socket.closeCode === undefined) connectionFlood.opened++;
      else {
        connectionFlood.refused++;
        const refusal = socket.texts.map((text) => /"code":"([a-z_]+)"/.exec(text)?.[1]).find(Boolean);
        if (refusal !== undefined) count(connectionFlood.refusalCodes, refusal);
      }
      if (socket.closeCode !== undefined) count(connectionFlood.closeCodes, String(socket.closeCode));
      socket.destroy();
    }

    // 2. Sockets that never say hello: nothing to authenticate, so only the hello timeout (4408) bounds them.
    const anonymousRssBefore = rssKiB(gatewayA.pid) ?? 0;
    const anonymous: RawWebSocket[] = [];
    const anonymousFlood: LimitsResult['anonymousFlood'] = {
      opened: 0,
      closeCodes: {},
      allClosedAfterMs: 0,
      rssGrowthKiB: 0,
      otherUserSlowestPingMs: 0,
    };
    const silent = (async () => {
      for (let start = 0; start < options.anonymousConnections; start += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, options.anonymousConnections - start) }, async () => {
            const socket = await RawWebSocket.connect(gatewayA.port, { timeoutMs: 20_000 }).catch(
              () => undefined,
            );
            if (socket !== undefined) anonymous.push(socket);
          }),
        );
      }
      anonymousFlood.opened = anonymous.length;
      anonymousFlood.rssGrowthKiB = (rssKiB(gatewayA.pid) ?? 0) - anonymousRssBefore;
      const openedAt = Date.now();
      while (
        Date.now() < openedAt + 15_000 &&
        anonymous.some((socket) => socket.closeCode === undefined && !socket.ended)
      )
        await sleep(50);
      anonymousFlood.allClosedAfterMs = Date.now() - openedAt;
    })();
    const [, slowestDuringSilent] = await Promise.all([silent, slowestPing(otherClient, silent)]);
    anonymousFlood.otherUserSlowestPingMs = slowestDuringSilent;
    for (const socket of anonymous) {
      count(anonymousFlood.closeCodes, String(socket.closeCode ?? 'open'));
      socket.destroy();
    }

    // 3. A frame flood from several sockets of one user.
    const frameFlood: LimitsResult['frameFlood'] = {
      framesSent: 0,
      rateLimitedAnswers: 0,
      retryAfterMs: undefined,
      closeCodes: {},
      otherUserSlowestPingMs: 0,
      otherUserChatMs: 0,
    };
    const flooders: RawWebSocket[] = [];
    for (let index = 0; index < options.floodSockets; index++) {
      const socket = await RawWebSocket.connect(gatewayA.port);
      socket.sendText(JSON.stringify({ type: 'hello', token: flooder.token }));
      flooders.push(socket);
    }
    await sleep(300);
    const frames = (async () => {
      for (const socket of flooders) {
        for (let index = 0; index < options.floodFrames; index++) {
          socket.sendText(`{"type":"ping","t":${index}}`);
          frameFlood.framesSent++;
        }
        await sleep(1);
      }
      const deadline = Date.now() + 15_000;
      while (
        Date.now() < deadline &&
        flooders.some((socket) => socket.closeCode === undefined && !socket.ended)
      )
        await sleep(50);
    })();
    const [, slowestDuringFrames] = await Promise.all([frames, slowestPing(otherClient, frames)]);
    frameFlood.otherUserSlowestPingMs = slowestDuringFrames;
    frameFlood.otherUserChatMs = await chatTime(otherClient, 'during-frame-flood', 20_000);
    for (const socket of flooders) {
      for (const text of socket.texts) {
        if (!text.includes('"rate_limited"')) continue;
        frameFlood.rateLimitedAnswers++;
        const retry = /"retryAfterMs":(\d+)/.exec(text);
        if (retry !== null) frameFlood.retryAfterMs ??= Number(retry[1]);
      }
      count(frameFlood.closeCodes, String(socket.closeCode ?? 'open'));
      socket.destroy();
    }

    // 4. More generations at once than the user may have, half through each gateway.
    const onA = new ChatClient({ urls: () => [gatewayA.url], token: flooder.token });
    const onB = new ChatClient({ urls: () => [gatewayB.url], token: flooder.token });
    await onA.connect();
    await onB.connect();
    const longAnswer = tokensAnswer(30);
    const tries: Tracked[] = [];
    for (let index = 0; index < options.concurrentTries; index++) {
      const client = index % 2 === 0 ? onA : onB;
      tries.push(client.send(`many-${index}`, '[[fake:answer tokens=30 interval=50]] long', longAnswer));
    }
    const otherRequests: Tracked[] = [];
    for (let index = 0; index < 3; index++)
      otherRequests.push(
        otherClient.send(`other-${index}`, '[[fake:answer tokens=5 interval=10]] hi', tokensAnswer(5)),
      );
    await Promise.all([onA.waitSettled(30_000), onB.waitSettled(30_000), otherClient.waitSettled(30_000)]);
    const concurrent: LimitsResult['concurrent'] = {
      tried: tries.length,
      accepted: tries.filter((tracked) => tracked.acceptedAt !== undefined).length,
      rateLimited: tries.filter((tracked) => tracked.refusal?.code === 'rate_limited').length,
      retryAfterMs: undefined,
      acceptedCompleted: tries.filter(
        (tracked) => tracked.events.at(-1)?.type === 'chat.done' && tracked.last > 0,
      ).length,
      otherUserCompleted: otherRequests.filter((tracked) => tracked.events.at(-1)?.type === 'chat.done')
        .length,
      otherUserSlowestMs: Math.max(
        ...otherRequests.map((tracked) => (tracked.endedAt ?? Number.NaN) - tracked.sentAt),
      ),
    };
    for (const tracked of tries) {
      if (tracked.refusal?.code !== 'rate_limited') continue;
      concurrent.retryAfterMs = tracked.refusal.retryAfterMs ?? concurrent.retryAfterMs;
    }
    onA.close();
    onB.close();
    otherClient.close();
    return {
      connectionFlood,
      anonymousFlood,
      frameFlood,
      concurrent,
      leaks: leakedSecrets(stage.secrets, [stage.fleet.output()]),
      crashes: stage.fleet.started.filter((process_) => !process_.alive()).length,
    };
  } finally {
    await stage.close();
  }
}
