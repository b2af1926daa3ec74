// Security checks against real gateway processes: tokens, other users' requests and files across gateways, origins,
// secrets in logs and frames, and how long a token check takes for a near-miss against a far-off guess.
import { performance } from 'node:perf_hooks';
import type { ServerFrame } from '@chrome-plus/protocol';
import { fakeBehaviours } from '@chrome-plus/testkit';
import { createAuthenticator } from '../../src/gateway/auth.ts';
import { answerOf, chatSend, TestClient } from '../harness.ts';
import { RawWebSocket } from './raw-socket.ts';
import { createStage, leakedSecrets } from './stage.ts';

export interface Check {
  name: string;
  expected: string;
  observed: string;
  ok: boolean;
}

function check(checks: Check[], name: string, expected: string, observed: string): void {
  checks.push({ name, expected, observed, ok: expected === observed });
}

async function closeCodeOf(url: string, hello: unknown, headers?: Record<string, string>): Promise<string> {
  const client = await TestClient.connect(url, headers === undefined ? {} : { headers });
  client.send(hello);
  const { code } = await client.closed;
  const codes = client.frames.map((frame) => (frame.type === 'error' ? frame.code : frame.type)).join(',');
  return `${codes} ${code}`;
}

async function upgradeStatus(port: number, origin: string | undefined): Promise<string> {
  try {
    const socket = await RawWebSocket.connect(
      port,
      origin === undefined ? {} : { headers: { Origin: origin } },
    );
    socket.destroy();
    return '101';
  } catch (error) {
    return /HTTP\/1\.1 (\d+)/.exec((error as Error).message)?.[1] ?? (error as Error).message;
  }
}

function errorOf(frames: ServerFrame[], id: string): string {
  const frame = frames.find((candidate) => candidate.type === 'chat.error' && candidate.id === id);
  return frame?.type === 'chat.error'
    ? `${frame.code}${frame.seq === undefined ? '' : ' (with seq)'}`
    : 'none';
}

export async function securityChecks(): Promise<{ checks: Check[]; leaks: string[] }> {
  const checks: Check[] = [];
  const stage = await createStage('security', {
    users: ['ann', 'ben'],
    logLevel: 'debug',
    // TRUST_PROXY: the sign-in throttle's checks play clients at other addresses through X-Forwarded-For.
    env: { ALLOWED_ORIGINS: 'chrome-extension://abcdefghijklmnopabcdefghijklmnop', TRUST_PROXY: 'on' },
  });
  const ann = stage.users[0]!;
  const ben = stage.users[1]!;
  const frames: ServerFrame[] = [];
  try {
    const [gatewayOne, gatewayTwo] = await Promise.all([
      stage.fleet.start('gateway', 'gateway-1'),
      stage.fleet.start('gateway', 'gateway-2'),
      stage.fleet.start('worker'),
    ]);

    check(
      checks,
      'hello without a token',
      'unauthorized 4401',
      await closeCodeOf(gatewayOne.url, { type: 'hello' }),
    );
    check(
      checks,
      'hello with a wrong token (a near miss of a real one)',
      'unauthorized 4401',
      await closeCodeOf(gatewayOne.url, { type: 'hello', token: `${ann.token.slice(0, -1)}x` }),
    );
    check(
      checks,
      'a chat.send before hello',
      'unauthorized 4401',
      await closeCodeOf(gatewayOne.url, chatSend('early', 'hi')),
    );
    check(
      checks,
      'upgrade from a disallowed Origin',
      '403',
      await upgradeStatus(gatewayOne.port, 'https://evil.example'),
    );
    check(
      checks,
      'upgrade from another extension',
      '403',
      await upgradeStatus(gatewayOne.port, 'chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba'),
    );
    check(
      checks,
      'upgrade from the allowed extension',
      '101',
      await upgradeStatus(gatewayOne.port, 'chrome-extension://abcdefghijklmnopabcdefghijklmnop'),
    );
    check(checks, 'upgrade without an Origin (CLI)', '101', await upgradeStatus(gatewayOne.port, undefined));

    // Ben's request streams on gateway 1; Ann, on gateway 2, tries every way to reach it.
    const benClient = await TestClient.open(gatewayOne.url, ben.token);
    const annClient = await TestClient.open(gatewayTwo.url, ann.token);
    const benSecretText = 'ben-private-question-7f3a';
    benClient.send(chatSend('shared-id', `[[fake:answer tokens=40 interval=50]] ${benSecretText}`));
    await benClient.next((frame) => frame.type === 'chat.delta');
    annClient.send({ type: 'chat.resume', id: 'shared-id', after: 0 });
    annClient.send({ type: 'chat.cancel', id: 'shared-id' });
    annClient.send({ type: 'ping', t: 'sync' });
    await annClient.next((frame) => frame.type === 'pong');
    const annErrors = annClient.frames.filter((frame) => frame.type === 'chat.error');
    check(
      checks,
      "another user's id: resume and cancel",
      'not_found,not_found',
      annErrors.map((frame) => (frame.type === 'chat.error' ? frame.code : '')).join(','),
    );
    check(
      checks,
      'the same answers as for an id nobody used',
      'not_found',
      await (async () => {
        annClient.send({ type: 'chat.resume', id: 'never-used', after: 0 });
        await annClient.next((frame) => frame.type === 'chat.error' && frame.id === 'never-used');
        return errorOf(annClient.frames, 'never-used');
      })(),
    );
    annClient.send(chatSend('shared-id', 'my own question'));
    const annEvents = await annClient.untilEnd('shared-id', 20_000);
    check(
      checks,
      "the same id, sent by another user, is that user's own request",
      'Echo: my own question',
      answerOf(annEvents),
    );
    const benEvents = await benClient.untilEnd('shared-id', 20_000);
    check(
      checks,
      "the first user's request was neither cancelled nor seen",
      'chat.done',
      benEvents.at(-1)?.type ?? 'none',
    );
    check(
      checks,
      "no frame to the other user carries the first user's text",
      'false',
      String(JSON.stringify(annClient.frames).includes(benSecretText)),
    );

    // Files: Ben uploads through gateway 1, Ann names his fileId through gateway 2.
    const form = new FormData();
    form.append('file', new Blob(['ben private notes'], { type: 'text/plain' }), 'notes.txt');
    const uploaded = await fetch(`http://127.0.0.1:${gatewayOne.port}/v1/files`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${ben.token}` },
    });
    const fileId = String(((await uploaded.json()) as { fileId?: unknown }).fileId);
    check(checks, 'upload with a token', '201', String(uploaded.status));
    const anonymous = await fetch(`http://127.0.0.1:${gatewayOne.port}/v1/files`, {
      method: 'POST',
      body: form,
    });
    check(checks, 'upload without a token', '401', String(anonymous.status));
    annClient.send(
      chatSend('steal-file', 'read it', {
        messages: [{ role: 'user', content: 'read it', attachments: [{ fileId }] }],
      }),
    );
    await annClient.next((frame) => frame.type === 'chat.error' && frame.id === 'steal-file', 20_000);
    check(checks, "another user's fileId in a message", 'not_found', errorOf(annClient.frames, 'steal-file'));

    // A finished request's log ends at its terminal event: nothing past it will ever come.
    const lastSeq = annEvents.at(-1)?.type === 'chat.done' ? (annEvents.at(-1) as { seq: number }).seq : 0;
    const from = annClient.frames.length;
    annClient.send({ type: 'chat.resume', id: 'shared-id', after: lastSeq + 5 });
    await annClient.next((frame) => frame.type === 'chat.error' && frame.id === 'shared-id', 10_000, from);
    check(
      checks,
      'a resume past the end of the log',
      'bad_request',
      errorOf(annClient.frames.slice(from), 'shared-id'),
    );

    // Guessing tokens from one address: after LOGIN_MAX_FAILURES (10) failures even the right token waits there.
    const guesser = { 'X-Forwarded-For': '203.0.113.7' };
    const guesses: string[] = [];
    for (let guess = 0; guess < 10; guess++) {
      guesses.push(
        await closeCodeOf(gatewayTwo.url, { type: 'hello', token: `guess-${guess}-xxxx` }, guesser),
      );
    }
    check(
      checks,
      'ten wrong tokens from one address',
      'unauthorized 4401',
      [...new Set(guesses)].join(' | '),
    );
    check(
      checks,
      'the right token from that address, right after',
      'rate_limited 1013',
      await closeCodeOf(gatewayTwo.url, { type: 'hello', token: ann.token }, guesser),
    );
    const throttledUpload = await fetch(`http://127.0.0.1:${gatewayTwo.port}/v1/files`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${ann.token}`, ...guesser },
    });
    check(checks, 'an upload from that address, right after', '429', String(throttledUpload.status));
    const elsewhere = await TestClient.connect(gatewayTwo.url, {
      headers: { 'X-Forwarded-For': '203.0.113.8' },
    });
    elsewhere.send({ type: 'hello', token: ann.token });
    check(
      checks,
      'the right token from another address',
      'welcome',
      (await elsewhere.next((frame) => frame.type === 'welcome' || frame.type === 'error')).type,
    );
    elsewhere.close();
    const metrics = await fetch(`http://127.0.0.1:${gatewayOne.port}/metrics`);
    check(checks, '/metrics with tokens set and no METRICS_TOKEN', '403', String(metrics.status));

    // A provider that refuses the key and quotes it in its error body (as a careless one might): the key must
    // not travel on in the frame, nor in the debug logs scanned below.
    stage.fake.enqueue(fakeBehaviours.unauthorized());
    annClient.send(chatSend('quoted-key', 'hello'));
    const refused = (await annClient.untilEnd('quoted-key')).at(-1);
    check(
      checks,
      'the model API refuses the key and quotes it back',
      'chat.error provider_error, the key used',
      `${refused?.type} ${refused?.type === 'chat.error' ? refused.code : ''}${
        stage.fake.requests.at(-1)?.headers.authorization === `Bearer ${stage.secrets[0]}`
          ? ', the key used'
          : ''
      }`,
    );

    frames.push(...benClient.frames, ...annClient.frames);
    benClient.close();
    annClient.close();
    // A graceful stop, so that shutdown logs are part of the scan too.
    for (const process_ of stage.fleet.alive()) await process_.kill('SIGTERM');
    const leaks = leakedSecrets(stage.secrets, [stage.fleet.output(), JSON.stringify(frames)]);
    check(
      checks,
      'keys and tokens in debug logs and frames',
      'none',
      leaks.length === 0 ? 'none' : `${leaks.length} found`,
    );
    return { checks, leaks };
  } finally {
    await stage.close();
  }
}

/**
 * Median time of a token check for a near miss (the real token with its last character changed) and a far miss
 * (nothing in common), over interleaved batches. Tokens are hashed before a constant-time comparison, so the two
 * should not differ beyond noise; a plain `===` would answer a near miss measurably later for long tokens.
 */
export function tokenTiming(rounds = 200, batch = 2_000): { nearMs: number; farMs: number; ratio: number } {
  const token = `timing-${'k'.repeat(4_000)}`;
  const authenticate = createAuthenticator(new Map([[token, 'someone']]));
  const near = `${token.slice(0, -1)}x`;
  const far = `x${'z'.repeat(token.length - 1)}`;
  const nearTimes: number[] = [];
  const farTimes: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const [candidate, times] of round % 2 === 0
      ? ([
          [near, nearTimes],
          [far, farTimes],
        ] as const)
      : ([
          [far, farTimes],
          [near, nearTimes],
        ] as const)) {
      const started = performance.now();
      for (let index = 0; index < batch; index++) authenticate(candidate);
      times.push((performance.now() - started) / batch);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const nearMs = median(nearTimes);
  const farMs = median(farTimes);
  return { nearMs, farMs, ratio: nearMs / farMs };
}
