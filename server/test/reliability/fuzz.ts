// A seeded fuzzer for socket frames: random and mutated JSON, wrong types, deep nesting, huge strings, invalid UTF-8,
// Unicode edge cases, binary and malformed WebSocket frames, floods. It drives a real gateway process while a
// healthy client chats beside it, and reports crashes, memory and the healthy client's slowest answers.
import { parseServerFrame } from '@chrome-plus/protocol';
import { rssKiB, sleep } from '@chrome-plus/testkit';
import { ChatClient, tokensAnswer } from './chat-client.ts';
import { createRandom, type Random } from './random.ts';
import { Opcode, type RawFrame, RawWebSocket } from './raw-socket.ts';
import { createStage, leakedSecrets } from './stage.ts';

/** One thing the fuzzer does to a socket: text frames (a Buffer may hold invalid UTF-8) or raw WebSocket frames. */
export type FuzzAction =
  | { category: string; kind: 'text'; payloads: (string | Buffer)[] }
  | { category: string; kind: 'raw'; frames: RawFrame[] }
  | { category: string; kind: 'before-hello'; payloads: (string | Buffer)[] };

const unicodeEdges = [
  '\u0000',
  '\u0007',
  '\u202e',
  '\u200d',
  '\ufeff',
  '\uffff',
  '\ufffe',
  '\u{10ffff}',
  '\u{1d54f}',
  '👩‍👩‍👧‍👦',
  'e\u0301\u0301\u0301',
  '\ud800',
  '\udfff',
  '"',
  '\\',
  '\u2028\u2029',
  'ﷺ',
  '𒐫',
];

/** Escapes in JSON text that decode to odd strings (lone surrogates, NUL, noncharacters). */
const jsonEscapes = ['\\ud800', '\\udc00', '\\ud83d\\ude00', '\\u0000', '\\uffff', '\\ufffe', '\\u202e'];

function randomString(random: Random, maxLength: number): string {
  const length = random.integer(0, maxLength);
  let text = '';
  for (let index = 0; index < length; index++) {
    const roll = random.next();
    if (roll < 0.6) text += String.fromCharCode(random.integer(32, 126));
    else if (roll < 0.8) text += random.pick(unicodeEdges);
    else text += String.fromCodePoint(random.integer(0, 0x10ffff));
  }
  return text;
}

function randomId(random: Random): string {
  return random.chance(0.8) ? `fz-${random.integer(0, 50)}` : randomString(random, 20);
}

/** Any JSON value, nested at most `depth` deep. */
function randomValue(random: Random, depth: number): unknown {
  const roll = random.integer(0, depth > 0 ? 9 : 6);
  switch (roll) {
    case 0:
      return null;
    case 1:
      return random.chance(0.5);
    case 2:
      return random.pick([
        0,
        -0,
        1,
        -1,
        1e308,
        -1e308,
        2 ** 53 + 1,
        0.1,
        1e-320,
        4_294_967_296,
        -2_147_483_649,
      ]);
    case 3:
      return random.integer(-1_000_000, 1_000_000);
    case 4:
    case 5:
    case 6:
      return randomString(random, 40);
    case 7:
    case 8:
      return Array.from({ length: random.integer(0, 4) }, () => randomValue(random, depth - 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let index = random.integer(0, 4); index > 0; index--)
        object[
          random.pick([
            'type',
            'id',
            'messages',
            'after',
            't',
            'token',
            '__proto__',
            'constructor',
            randomString(random, 8),
          ])
        ] = randomValue(random, depth - 1);
      return object;
    }
  }
}

function validFrame(random: Random): Record<string, unknown> {
  switch (random.integer(0, 8)) {
    case 0:
      return { type: 'ping', t: random.integer(0, 1_000_000) };
    case 1:
      return { type: 'models.list' };
    case 2:
      return {
        type: 'chat.send',
        id: randomId(random),
        messages: [{ role: random.pick(['user', 'system', 'assistant']), content: randomString(random, 30) }],
        ...(random.chance(0.3) && {
          options: { temperature: random.next() * 2, maxTokens: random.integer(1, 100) },
        }),
      };
    case 3:
      return { type: 'chat.resume', id: randomId(random), after: random.integer(0, 20) };
    case 4:
      return { type: 'chat.cancel', id: randomId(random) };
    case 6: {
      // One file named again and again: the amplification the per-request attachment caps refuse.
      const fileId = `f_${randomString(random, 22).replace(/[^A-Za-z0-9_-]/g, 'a')}`;
      const attachments = Array.from({ length: random.integer(1, 16) }, () => ({ fileId }));
      return {
        type: 'chat.send',
        id: randomId(random),
        messages: Array.from({ length: random.integer(1, 300) }, () => ({
          role: 'user',
          content: 'x',
          attachments,
        })),
      };
    }
    case 7:
      return {
        type: 'chat.send',
        id: randomId(random),
        messages: Array.from({ length: random.integer(500, 1_000) }, (_, index) => ({
          role: index % 2 === 0 ? 'user' : 'assistant',
          content: randomString(random, 20),
        })),
      };
    case 8:
      // A resume past the end of any log: refused, never a watch that waits forever.
      return { type: 'chat.resume', id: randomId(random), after: random.integer(1_000, 2 ** 31) };
    default:
      return { type: 'hello', token: randomString(random, 20) };
  }
}

function mutate(random: Random, text: string): string {
  let result = text;
  for (let count = random.integer(1, 4); count > 0; count--) {
    const at = random.integer(0, result.length);
    const special = random.pick([
      '"',
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '\\',
      '\\u',
      'null',
      '1e999',
      '-',
      ' ',
      '\n',
    ]);
    switch (random.integer(0, 5)) {
      case 0:
        result = result.slice(0, at) + special + result.slice(at + 1);
        break;
      case 1:
        result = result.slice(0, at) + special + result.slice(at);
        break;
      case 2:
        result = result.slice(0, at) + result.slice(at + random.integer(1, 10));
        break;
      case 3:
        result = result.slice(0, at) + result.slice(at, at + 20) + result.slice(at);
        break;
      case 4:
        result = result.slice(0, at);
        break;
      default:
        result = result.slice(0, at) + random.pick(jsonEscapes) + result.slice(at);
    }
  }
  return result;
}

function nested(depth: number, open: string, close: string, inner = '0'): string {
  return `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
}

/** Bytes that are not valid UTF-8, spliced into an otherwise fine frame. */
const badUtf8 = [
  [0xff],
  [0xfe],
  [0xc0, 0x80],
  [0xc3],
  [0xe2, 0x82],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x80],
];

/** The next action, drawn from weighted categories. `maxFrameBytes` is the gateway's limit. */
export function nextAction(random: Random, maxFrameBytes: number): FuzzAction {
  const roll = random.integer(1, 100);
  if (roll <= 15)
    return { category: 'valid frame', kind: 'text', payloads: [JSON.stringify(validFrame(random))] };
  if (roll <= 40)
    return {
      category: 'mutated JSON',
      kind: 'text',
      payloads: [mutate(random, JSON.stringify(validFrame(random)))],
    };
  if (roll <= 58) {
    const frame = validFrame(random);
    const keys = [...Object.keys(frame), 'type', 'id', 'messages'];
    frame[random.pick(keys)] = randomValue(random, 3);
    if (random.chance(0.3) && Array.isArray(frame.messages))
      frame.messages = [{ role: randomValue(random, 1), content: randomValue(random, 2) }];
    return { category: 'wrong types', kind: 'text', payloads: [JSON.stringify(frame)] };
  }
  if (roll <= 63) {
    const depth = random.pick([100, 1_000, 10_000, 100_000, Math.floor(maxFrameBytes / 2.5)]);
    const shape = random.integer(0, 3);
    const payload =
      shape === 0
        ? `{"type":"ping","t":${nested(depth, '[', ']')}}`
        : shape === 1
          ? `{"type":"ping","t":${nested(Math.floor(depth / 5), '{"a":', '}')}}`
          : shape === 2
            ? nested(depth, '[', ']')
            : `{"type":"chat.send","id":"fz-deep","messages":${nested(depth, '[', ']', '{"role":"user","content":"x"}')}}`;
    return { category: 'deep nesting', kind: 'text', payloads: [payload] };
  }
  if (roll <= 68) {
    const size = random.pick([10_000, 100_000, maxFrameBytes - 200, maxFrameBytes + 1_000]);
    const filler = random.chance(0.5)
      ? 'x'.repeat(size)
      : randomString(random, 50)
          .repeat(Math.ceil(size / 60))
          .slice(0, size);
    const field = random.integer(0, 3);
    const payload =
      field === 0
        ? JSON.stringify({ type: 'chat.send', id: 'fz-huge', messages: [{ role: 'user', content: filler }] })
        : field === 1
          ? JSON.stringify({ type: 'chat.resume', id: filler, after: 0 })
          : field === 2
            ? JSON.stringify({ type: filler })
            : JSON.stringify({ type: 'ping', t: filler });
    return { category: 'huge strings', kind: 'text', payloads: [payload] };
  }
  if (roll <= 73) {
    const text = Buffer.from(JSON.stringify(validFrame(random)));
    const at = random.integer(0, text.length);
    const bytes = Buffer.from(random.pick(badUtf8));
    return {
      category: 'invalid UTF-8',
      kind: 'text',
      payloads: [Buffer.concat([text.subarray(0, at), bytes, text.subarray(at)])],
    };
  }
  if (roll <= 83) {
    const edge = () => random.pick(unicodeEdges) + randomString(random, 10);
    const frame = random.pick<Record<string, unknown>>([
      { type: 'ping', t: edge() },
      {
        type: 'chat.send',
        id: `fz-u${random.integer(0, 20)}`,
        messages: [{ role: 'user', content: edge() }],
      },
      { type: 'chat.send', id: edge(), messages: [{ role: 'user', content: 'x' }] },
      { type: 'chat.resume', id: edge(), after: 0 },
      { type: edge() },
      { type: 'chat.send', id: 'fz-u', messages: [{ role: 'user', content: 'x' }], model: edge() },
    ]);
    let text = JSON.stringify(frame);
    if (random.chance(0.4)) text = text.replace(/"([^"]*)"(?=[,}])/, `"$1${random.pick(jsonEscapes)}"`);
    return { category: 'Unicode edge cases', kind: 'text', payloads: [text] };
  }
  if (roll <= 86)
    return {
      category: 'binary frame',
      kind: 'raw',
      frames: [{ opcode: Opcode.binary, payload: random.bytes(random.integer(0, 200)) }],
    };
  if (roll <= 94) {
    const valid = Buffer.from(JSON.stringify({ type: 'ping', t: 'raw' }));
    const variant = random.integer(0, 7);
    const frames: RawFrame[] =
      variant === 0
        ? [{ opcode: Opcode.text, payload: valid, rsv: random.integer(1, 7) }]
        : variant === 1
          ? [{ opcode: random.pick([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]), payload: random.bytes(10) }]
          : variant === 2
            ? [{ opcode: Opcode.text, payload: valid, mask: false }]
            : variant === 3
              ? [{ opcode: Opcode.continuation, payload: valid }]
              : variant === 4
                ? [
                    { opcode: Opcode.text, payload: valid.subarray(0, 5), fin: false },
                    { opcode: Opcode.ping, payload: Buffer.from('mid') },
                    { opcode: Opcode.continuation, payload: valid.subarray(5) },
                  ]
                : variant === 5
                  ? [{ opcode: Opcode.ping, payload: random.bytes(200) }]
                  : variant === 6
                    ? [{ opcode: Opcode.close, payload: Buffer.from([0x03, 0xe7, 0xff, 0xfe]) }]
                    : [{ opcode: Opcode.text, payload: valid, claimedLength: 2 ** 40 }];
    return { category: 'malformed WebSocket frames', kind: 'raw', frames };
  }
  if (roll <= 95) {
    const count = random.integer(500, 1_500);
    return {
      category: 'flood',
      kind: 'text',
      payloads: Array.from({ length: count }, (_, index) => `{"type":"ping","t":${index}}`),
    };
  }
  const garbage = random.chance(0.5)
    ? mutate(random, '{"type":"hello","token":"x"}')
    : JSON.stringify(validFrame(random));
  return { category: 'frames before hello', kind: 'before-hello', payloads: [garbage] };
}

export interface FuzzOptions {
  seed: number;
  /** Stop after this many crafted frames (flood frames not counted)... */
  craftedFrames: number;
  /** ...or this much time, whichever comes first. */
  maxMs: number;
  /** Sockets fuzzing at once. */
  lanes: number;
  maxFrameBytes?: number;
  timelineEveryMs?: number;
}

export interface FuzzResult {
  seed: number;
  framesTried: number;
  /** Of those, frames sent in floods (the rest were crafted one by one). */
  floodFrames: number;
  byCategory: Record<string, number>;
  closeCodes: Record<string, number>;
  /** Gateway processes that died. */
  crashes: number;
  /** Server frames on fuzz sockets that broke the protocol. */
  violations: string[];
  /** Sync pings a fuzz socket sent that got neither a pong nor a close within 10 s. */
  unanswered: number;
  rssBaselineKiB: number;
  rssPeakKiB: number;
  rssEndKiB: number;
  /** RSS in MiB and frames tried so far, about every `timelineEveryMs`: flat, not climbing with the frames. */
  rssTimeline: { frames: number; rssMiB: number }[];
  healthy: { pings: number; slowestPingMs: number; chats: number; chatsDone: number; slowestChatMs: number };
  /** Error codes the gateway answered with, with counts. */
  errorCodes: Record<string, number>;
  leaks: string[];
  durationMs: number;
  gatewayLog: string;
}

export async function fuzzGateway(options: FuzzOptions): Promise<FuzzResult> {
  const maxFrameBytes = options.maxFrameBytes ?? 1_048_576;
  const stage = await createStage('fuzz', {
    env: {
      MAX_FRAME_BYTES: String(maxFrameBytes),
      MAX_FRAMES_PER_SECOND: '2000',
      RATE_LIMIT_PER_MINUTE: '600',
      MAX_CONCURRENT_GENERATIONS: '8',
      // Mutated hellos are wrong tokens from 127.0.0.1, as every lane is: the sign-in throttle would end the run.
      // It has a scenario of its own (security.ts); this one is about frames.
      LOGIN_MAX_FAILURES: '1000000',
    },
    users: ['fuzzer', 'healthy'],
  });
  const fuzzer = stage.users[0]!;
  const healthyUser = stage.users[1]!;
  const result: FuzzResult = {
    seed: options.seed,
    framesTried: 0,
    floodFrames: 0,
    byCategory: {},
    closeCodes: {},
    crashes: 0,
    violations: [],
    unanswered: 0,
    rssBaselineKiB: 0,
    rssPeakKiB: 0,
    rssEndKiB: 0,
    rssTimeline: [],
    healthy: { pings: 0, slowestPingMs: 0, chats: 0, chatsDone: 0, slowestChatMs: 0 },
    errorCodes: {},
    leaks: [],
    durationMs: 0,
    gatewayLog: '',
  };
  const started = Date.now();
  try {
    const gateway = await stage.fleet.start('gateway');
    await stage.fleet.start('worker');
    const healthy = new ChatClient({
      urls: () => [gateway.url],
      token: healthyUser.token,
      secrets: stage.secrets,
    });
    await healthy.connect();
    await healthy.ping();
    await sleep(300);
    result.rssBaselineKiB = rssKiB(gateway.pid) ?? 0;
    result.rssPeakKiB = result.rssBaselineKiB;
    let fuzzing = true;

    const sampler = (async () => {
      let lastMark = 0;
      while (fuzzing) {
        const rss = rssKiB(gateway.pid) ?? 0;
        result.rssPeakKiB = Math.max(result.rssPeakKiB, rss);
        if (Date.now() - lastMark >= (options.timelineEveryMs ?? 5_000)) {
          lastMark = Date.now();
          result.rssTimeline.push({ frames: result.framesTried, rssMiB: Math.round(rss / 1024) });
        }
        await sleep(100);
      }
    })();

    const healthyLoop = (async () => {
      let chat = 0;
      let lastChatAt = 0;
      while (fuzzing) {
        try {
          const elapsed = await healthy.ping(15_000);
          result.healthy.pings++;
          result.healthy.slowestPingMs = Math.max(result.healthy.slowestPingMs, elapsed);
        } catch {
          result.healthy.slowestPingMs = Math.max(result.healthy.slowestPingMs, 15_000);
        }
        if (Date.now() - lastChatAt > 1_000) {
          lastChatAt = Date.now();
          healthy.send(
            `healthy-${chat++}`,
            '[[fake:answer tokens=5 interval=10]] are you fine?',
            tokensAnswer(5),
          );
          result.healthy.chats++;
        }
        await sleep(100);
      }
    })();

    const deadline = started + options.maxMs;
    const lanes = Array.from({ length: options.lanes }, (_, lane) =>
      runLane(createRandom((options.seed + lane * 7_919) >>> 0), lane),
    );

    async function openLane(hello: boolean): Promise<RawWebSocket | undefined> {
      try {
        const socket = await RawWebSocket.connect(gateway.port);
        socket.onText = (text) => {
          const parsed = parseServerFrame(text);
          if (parsed.ok === false) result.violations.push(text.slice(0, 200));
          else if (
            parsed.ok === true &&
            (parsed.frame.type === 'error' || parsed.frame.type === 'chat.error')
          )
            result.errorCodes[parsed.frame.code] = (result.errorCodes[parsed.frame.code] ?? 0) + 1;
        };
        if (hello) {
          socket.sendText(JSON.stringify({ type: 'hello', token: fuzzer.token }));
          if (!(await waitFor(socket, (text) => text.includes('"welcome"'), 10_000))) {
            socket.destroy();
            return undefined;
          }
        }
        return socket;
      } catch {
        return undefined;
      }
    }

    async function runLane(laneRandom: Random, lane: number): Promise<void> {
      let socket: RawWebSocket | undefined;
      let sinceSync = 0;
      let syncCounter = 0;
      while (
        result.framesTried - result.floodFrames < options.craftedFrames &&
        Date.now() < deadline &&
        gateway.alive()
      ) {
        const action = nextAction(laneRandom, maxFrameBytes);
        if (action.kind === 'before-hello') {
          socket?.destroy();
          socket = await openLane(false);
        } else if (socket === undefined || socket.ended || socket.closeCode !== undefined) {
          socket?.destroy();
          socket = await openLane(true);
        }
        if (socket === undefined) {
          await sleep(50);
          continue;
        }
        result.byCategory[action.category] = (result.byCategory[action.category] ?? 0) + 1;
        if (action.kind === 'raw') {
          for (const frame of action.frames) socket.send(frame);
          result.framesTried += action.frames.length;
        } else {
          for (const payload of action.payloads) socket.sendText(payload);
          result.framesTried += action.payloads.length;
          if (action.category === 'flood') result.floodFrames += action.payloads.length;
        }
        sinceSync++;
        const mayClose = action.kind !== 'text' || action.category !== 'valid frame';
        if (mayClose && sinceSync >= 3) {
          sinceSync = 0;
          // A sync point: the gateway handles a socket's frames in order, so the pong (or a close) says it got this far.
          const tag = `sync-${lane}-${++syncCounter}`;
          socket.sendText(JSON.stringify({ type: 'ping', t: tag }));
          const answered = await waitFor(socket, (text) => text.includes(tag), 10_000);
          if (!answered && !socket.ended && socket.closeCode === undefined) result.unanswered++;
        }
        if (socket.closeCode !== undefined || socket.ended) {
          await Promise.race([socket.done, sleep(200)]);
          const code = String(socket.closeCode ?? 'tcp-reset');
          result.closeCodes[code] = (result.closeCodes[code] ?? 0) + 1;
          socket.destroy();
          socket = undefined;
        }
      }
      socket?.destroy();
    }

    await Promise.all(lanes);
    fuzzing = false;
    await sampler;
    await healthyLoop;
    await healthy.waitSettled(20_000);
    for (const tracked of healthy.requests.values()) {
      if (tracked.events.at(-1)?.type === 'chat.done' && tracked.endedAt !== undefined) {
        result.healthy.chatsDone++;
        result.healthy.slowestChatMs = Math.max(
          result.healthy.slowestChatMs,
          tracked.endedAt - tracked.sentAt,
        );
      }
    }
    // After the storm: the gateway still answers, on a fresh socket too.
    const fresh = new ChatClient({
      urls: () => [gateway.url],
      token: healthyUser.token,
      maxReconnectAttempts: 3,
    });
    await fresh.connect();
    await fresh.ping();
    fresh.close();
    healthy.close();
    await sleep(500);
    result.rssEndKiB = rssKiB(gateway.pid) ?? 0;
    result.crashes = stage.fleet.started.filter((process_) => !process_.alive()).length;
    result.leaks = [...new Set([...leakedSecrets(stage.secrets, [stage.fleet.output()]), ...healthy.leaks])];
    result.gatewayLog = gateway.output();
    result.durationMs = Date.now() - started;
    return result;
  } finally {
    await stage.close();
  }
}

/** Waits until the socket receives a text matching `match` (true), closes or times out (false). */
async function waitFor(
  socket: RawWebSocket,
  match: (text: string) => boolean,
  timeoutMs: number,
): Promise<boolean> {
  const from = socket.texts.length;
  const deadline = Date.now() + timeoutMs;
  let seen = from;
  while (Date.now() < deadline) {
    for (; seen < socket.texts.length; seen++) if (match(socket.texts[seen]!)) return true;
    if (socket.ended || socket.closeCode !== undefined) return false;
    await sleep(2);
  }
  return false;
}
