import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatSendFrame, GenerationEvent } from '@chrome-plus/protocol';
import { type GatewaySocket, ScriptedGateway, waitUntil } from '../test/scripted-gateway.ts';
import { openWsSocket } from '../test/ws-socket.ts';
import { type AnswerState, applyAnswerEvent, emptyAnswer } from './answer.ts';
import { ChatClient, type RequestEvent } from './chat-client.ts';

const fastBackoff = { initialMs: 20, maxMs: 100, factor: 2, random: () => 0.5 };

function sendFrame(id: string): ChatSendFrame {
  return { type: 'chat.send', id, messages: [{ role: 'user', content: 'hi' }] };
}

/** The log of one generation, as the server keeps it: events numbered from seq 1. */
function generationLog(id: string, pieces: string[]): GenerationEvent[] {
  const events: GenerationEvent[] = pieces.map((text, index) => ({
    type: 'chat.delta',
    id,
    seq: index + 1,
    text,
  }));
  events.push({ type: 'chat.done', id, seq: pieces.length + 1, finishReason: 'stop', model: 'fake' });
  return events;
}

function startClient(url: string) {
  const events: RequestEvent[] = [];
  const answers = new Map<string, AnswerState>();
  const client = new ChatClient({
    url,
    openSocket: openWsSocket,
    backoff: fastBackoff,
    onEvent: (event) => {
      events.push(event);
      answers.set(event.id, applyAnswerEvent(answers.get(event.id) ?? emptyAnswer(), event));
    },
  });
  client.start();
  return { client, events, answers };
}

function replay(socket: GatewaySocket | undefined, log: GenerationEvent[], after: number, upTo = log.length) {
  for (const event of log) if (event.seq > after && event.seq <= upTo) socket?.send(event);
}

test('send streams deltas in order and ends with done', async (t) => {
  const log = generationLog('r1', ['Hel', 'lo', ' world']);
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type !== 'chat.send') return;
      socket.send({ type: 'chat.accepted', id: frame.id });
      replay(socket, log, 0);
    },
  }).start();
  t.after(() => gateway.stop());
  const { client, answers, events } = startClient(gateway.url);
  t.after(() => client.stop());
  await waitUntil(() => client.connection.state === 'connected');
  client.send(sendFrame('r1'));
  await waitUntil(() => answers.get('r1')?.status === 'done', 3_000, 'done');
  assert.equal(answers.get('r1')?.text, 'Hello world');
  assert.deepEqual(
    events.map((event) => event.type),
    ['chat.accepted', 'chat.delta', 'chat.delta', 'chat.delta', 'chat.done'],
  );
  assert.deepEqual(client.unfinished(), [], 'a finished request is no longer followed');
});

test('after a reconnect the client resumes from its last seq and drops the overlap of the replay', async (t) => {
  const log = generationLog('r2', ['one ', 'two ', 'three ', 'four ', 'five']);
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type === 'chat.send') {
        socket.send({ type: 'chat.accepted', id: frame.id });
        replay(socket, log, 0, 3);
        // The gateway restarts mid-answer.
        setTimeout(() => socket.close(1012), 20);
      }
      if (frame.type === 'chat.resume') {
        // A replay that starts earlier than asked: the client must not show seq 2 and 3 twice.
        replay(socket, log, Math.max(0, frame.after - 2));
      }
    },
  }).start();
  t.after(() => gateway.stop());
  const { client, answers } = startClient(gateway.url);
  t.after(() => client.stop());
  await waitUntil(() => client.connection.state === 'connected');
  client.send(sendFrame('r2'));
  await waitUntil(() => answers.get('r2')?.status === 'done', 3_000, 'done after the reconnect');
  assert.equal(answers.get('r2')?.text, 'one two three four five');
  assert.deepEqual(
    gateway.framesOfType('chat.resume').map((frame) => frame.after),
    [3],
  );
  assert.equal(gateway.framesOfType('chat.send').length, 1, 'an accepted request is never sent twice');
});

test('a gap in seq triggers one resume from the last applied event', async (t) => {
  const log = generationLog('r3', ['a', 'b', 'c', 'd', 'e']);
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type === 'chat.send') {
        socket.send({ type: 'chat.accepted', id: frame.id });
        // seq 1, then 3 and 4 (2 was lost somewhere).
        for (const event of log)
          if (event.seq === 1 || event.seq === 3 || event.seq === 4) socket.send(event);
      }
      if (frame.type === 'chat.resume') replay(socket, log, frame.after);
    },
  }).start();
  t.after(() => gateway.stop());
  const { client, answers } = startClient(gateway.url);
  t.after(() => client.stop());
  await waitUntil(() => client.connection.state === 'connected');
  client.send(sendFrame('r3'));
  await waitUntil(() => answers.get('r3')?.status === 'done', 3_000, 'done');
  assert.equal(answers.get('r3')?.text, 'abcde');
  assert.deepEqual(
    gateway.framesOfType('chat.resume').map((frame) => frame.after),
    [1],
    'one resume for the burst of events after the gap',
  );
});

test('a restart discards the text so far; the final text is the second attempt only', async (t) => {
  const events: GenerationEvent[] = [
    { type: 'chat.delta', id: 'r4', seq: 1, text: 'First try, ' },
    { type: 'chat.delta', id: 'r4', seq: 2, text: 'cut short' },
    { type: 'chat.restart', id: 'r4', seq: 3 },
    { type: 'chat.delta', id: 'r4', seq: 4, text: 'Second try.' },
    { type: 'chat.done', id: 'r4', seq: 5, finishReason: 'stop', model: 'fake' },
  ];
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type === 'chat.send') replay(socket, events, 0);
    },
  }).start();
  t.after(() => gateway.stop());
  const { client, answers } = startClient(gateway.url);
  t.after(() => client.stop());
  await waitUntil(() => client.connection.state === 'connected');
  client.send(sendFrame('r4'));
  await waitUntil(() => answers.get('r4')?.status === 'done');
  assert.equal(answers.get('r4')?.text, 'Second try.');
});

test('a send made while offline, or lost before it was accepted, goes out again on connect', async (t) => {
  const probe = await new ScriptedGateway().start();
  const port = probe.port;
  await probe.stop();
  const { client, answers } = startClient(`ws://127.0.0.1:${port}/v1/ws`);
  t.after(() => client.stop());
  client.send(sendFrame('r5'));
  await waitUntil(() => client.connection.state === 'offline', 3_000, 'offline');

  const log = generationLog('r5', ['queued ', 'then sent']);
  let sends = 0;
  const gateway = await new ScriptedGateway({
    port,
    onFrame: (frame, socket) => {
      if (frame.type !== 'chat.send') return;
      sends += 1;
      // The first socket dies before it can accept; the second one runs the request.
      if (sends === 1) socket.socket.terminate();
      else replay(socket, log, 0);
    },
  }).start();
  t.after(() => gateway.stop());
  await waitUntil(() => answers.get('r5')?.status === 'done', 5_000, 'done');
  assert.equal(answers.get('r5')?.text, 'queued then sent');
  assert.equal(gateway.framesOfType('chat.send').length, 2);
  assert.equal(gateway.framesOfType('chat.resume').length, 0);
});

test('a request restored from storage is resumed from its stored seq on connect', async (t) => {
  const log = generationLog('r6', ['stored ', 'part, ', 'new part']);
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type === 'chat.resume') replay(socket, log, frame.after);
    },
  }).start();
  t.after(() => gateway.stop());
  const events: RequestEvent[] = [];
  const client = new ChatClient({
    url: gateway.url,
    openSocket: openWsSocket,
    backoff: fastBackoff,
    onEvent: (event) => events.push(event),
  });
  t.after(() => client.stop());
  client.track('r6', 2);
  client.start();
  await waitUntil(() => events.some((event) => event.type === 'chat.done'), 3_000, 'done');
  assert.deepEqual(
    events.map((event) => (event.type === 'chat.delta' ? event.text : event.type)),
    ['new part', 'chat.done'],
  );
  assert.deepEqual(gateway.framesOfType('chat.resume'), [{ type: 'chat.resume', id: 'r6', after: 2 }]);
});

test('cancel sends chat.cancel, and the request ends with the server terminal event', async (t) => {
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type === 'chat.send')
        socket.send({ type: 'chat.delta', id: frame.id, seq: 1, text: 'long…' });
      if (frame.type === 'chat.cancel') socket.send({ type: 'chat.cancelled', id: frame.id, seq: 2 });
    },
  }).start();
  t.after(() => gateway.stop());
  const { client, answers } = startClient(gateway.url);
  t.after(() => client.stop());
  await waitUntil(() => client.connection.state === 'connected');
  client.send(sendFrame('r7'));
  await waitUntil(() => answers.get('r7')?.text === 'long…');
  client.cancel('r7');
  await waitUntil(() => answers.get('r7')?.status === 'cancelled', 3_000, 'cancelled');
  assert.deepEqual(client.unfinished(), []);
});

test('a refused send ends the request with the reason; a refused resume of a running request is retried', async (t) => {
  let resumes = 0;
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type === 'chat.send') {
        socket.send({
          type: 'chat.error',
          id: frame.id,
          code: 'rate_limited',
          message: 'too many requests',
          retryable: true,
          retryAfterMs: 1_500,
        });
      }
      if (frame.type === 'chat.resume') {
        resumes += 1;
        if (resumes === 1) {
          socket.send({
            type: 'chat.error',
            id: frame.id,
            code: 'rate_limited',
            message: 'slow down',
            retryable: true,
            retryAfterMs: 30,
          });
        } else {
          socket.send({ type: 'chat.done', id: frame.id, seq: 4, finishReason: 'stop', model: 'fake' });
        }
      }
    },
  }).start();
  t.after(() => gateway.stop());
  const { client, answers } = startClient(gateway.url);
  t.after(() => client.stop());
  await waitUntil(() => client.connection.state === 'connected');
  client.send(sendFrame('refused'));
  await waitUntil(() => answers.get('refused')?.status === 'error', 3_000, 'refused');
  assert.equal(answers.get('refused')?.error?.code, 'rate_limited');
  assert.ok((answers.get('refused')?.error?.retryAt ?? 0) > Date.now() + 1_000, 'the UI can say when');

  client.track('running', 3);
  await waitUntil(() => answers.get('running')?.status === 'done', 3_000, 'done after a second resume');
  assert.equal(resumes, 2);
});

test('frames that are not about a request (history.*) reach onOtherFrame, and a history frame can be sent', async (t) => {
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type === 'history.list')
        socket.send({ type: 'history.changes', ref: frame.ref, conversations: [], cursor: 0, more: false });
    },
  }).start();
  t.after(() => gateway.stop());
  const others: string[] = [];
  const client = new ChatClient({
    url: gateway.url,
    openSocket: openWsSocket,
    backoff: fastBackoff,
    onEvent: () => undefined,
    onOtherFrame: (frame) => others.push(`${frame.type} ${'ref' in frame ? frame.ref : ''}`),
  });
  t.after(() => client.stop());
  client.start();
  await waitUntil(() => client.connection.state === 'connected');
  assert.equal(client.connection.send({ type: 'history.list', ref: 'r1', after: 0 }), true);
  await waitUntil(() => others.length === 1);
  assert.deepEqual(others, ['history.changes r1']);
});
