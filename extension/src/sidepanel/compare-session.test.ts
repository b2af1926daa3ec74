import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScriptedGateway, waitUntil } from '@chrome-plus/client/testing';
import { answerWith, startPanel } from '../../test/panel-session.ts';
import type { AssistantMessage } from '../store/types.ts';

/** A gateway whose answer names the model it was asked for. */
async function modelGateway() {
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type === 'chat.send') answerWith(socket, frame, [`Answer of ${frame.model ?? 'default'}`]);
    },
  }).start();
  return gateway;
}

function shownAnswers(shown: readonly { role: string }[]): AssistantMessage[] {
  return shown.filter((message): message is AssistantMessage => message.role === 'assistant');
}

test('a compared send asks each model in a request of its own; only the first names the conversation', async (t) => {
  const gateway = await modelGateway();
  t.after(() => gateway.stop());
  const panel = await startPanel(gateway.url, { compareModels: () => ['model-a', 'model-b'] });
  t.after(panel.stop);
  const { session, view, store } = panel;

  await session.send({ text: 'which is better?', attachments: [] });
  await waitUntil(() =>
    shownAnswers(view.shown).every((answer) => view.answers.get(answer.id)?.status === 'done'),
  );
  const sends = gateway.framesOfType('chat.send');
  assert.deepEqual(
    sends.map((frame) => frame.model),
    ['model-a', 'model-b'],
  );
  assert.notEqual(sends[0]?.id, sends[1]?.id, 'each its own request');
  assert.equal(sends[0]?.conversationId, view.conversationId, 'the first is recorded in a server history');
  assert.equal(sends[1]?.conversationId, undefined, 'the others are not: the question is recorded once');
  assert.deepEqual(sends[0]?.messages, sends[1]?.messages, 'the same conversation to each');
  const answers = shownAnswers(view.shown);
  assert.deepEqual(
    answers.map((answer) => answer.compare?.model),
    ['model-a', 'model-b'],
  );
  assert.equal(view.busy, false);

  let stored = await store.getConversation(view.conversationId ?? '');
  for (
    let tries = 0;
    stored?.messages.some((message) => message.role === 'assistant' && message.status !== 'done');
    tries += 1
  ) {
    assert.ok(tries < 300, 'the answers never ended in storage');
    await new Promise((resolve) => setTimeout(resolve, 10));
    stored = await store.getConversation(view.conversationId ?? '');
  }
  const [, first, second] = stored?.messages ?? [];
  assert.equal(first?.role === 'assistant' && first.content, 'Answer of model-a');
  assert.equal(second?.role === 'assistant' && second.content, 'Answer of model-b');
  assert.ok(second?.role === 'assistant' && second.timing?.firstTextAt !== undefined, 'its TTFT is kept');

  await session.pick(answers[1]?.id ?? '');
  assert.deepEqual(
    shownAnswers(view.shown).map((answer) => answer.compare?.model),
    ['model-b'],
    'the other answer is gone',
  );
  await session.send({ text: 'go on', attachments: [] });
  await waitUntil(() => gateway.framesOfType('chat.send').length === 4);
  const next = gateway.framesOfType('chat.send').at(-1);
  assert.deepEqual(
    next?.messages.map((message) => message.content),
    ['which is better?', 'Answer of model-b', 'go on'],
    'the next request carries only the picked answer',
  );
  assert.equal(next?.conversationId, undefined, 'compare is still on: the next send is compared too');

  // Reopened: the dropped answer stays hidden.
  await session.open(view.conversationId ?? '');
  assert.deepEqual(
    view.shown.slice(0, 3).map((message) => message.content),
    ['which is better?', 'Answer of model-b', 'go on'],
  );
});

test('sending again without a pick goes on with the first answer that finished; Stop stops every compared answer', async (t) => {
  let compare: string[] | undefined = ['slow', 'fast'];
  const gateway = await new ScriptedGateway({
    onFrame: (frame, socket) => {
      if (frame.type === 'chat.send' && frame.model === 'fast') answerWith(socket, frame, ['Fast answer']);
      if (frame.type === 'chat.send' && frame.model !== 'fast') {
        socket.send({ type: 'chat.accepted', id: frame.id });
        socket.send({ type: 'chat.delta', id: frame.id, seq: 1, text: 'Slow' });
      }
      if (frame.type === 'chat.cancel') socket.send({ type: 'chat.cancelled', id: frame.id, seq: 2 });
    },
  }).start();
  t.after(() => gateway.stop());
  const panel = await startPanel(gateway.url, { compareModels: () => compare });
  t.after(panel.stop);
  const { session, view } = panel;

  await session.send({ text: 'race', attachments: [] });
  const [slow, fast] = shownAnswers(view.shown);
  await waitUntil(() => view.answers.get(fast?.id ?? '')?.status === 'done');
  await waitUntil(() => view.answers.get(slow?.id ?? '')?.text === 'Slow');
  assert.equal(view.busy, true, 'one answer still streams');
  session.stop();
  await waitUntil(
    () => view.answers.get(slow?.id ?? '')?.status === 'cancelled',
    3_000,
    'the slow one stopped',
  );
  assert.equal(gateway.framesOfType('chat.cancel').length, 1);
  assert.equal(view.busy, false);

  compare = undefined;
  await session.send({ text: 'and now?', attachments: [] });
  await waitUntil(() => gateway.framesOfType('chat.send').length === 3);
  const next = gateway.framesOfType('chat.send').at(-1);
  assert.deepEqual(
    next?.messages.map((message) => message.content),
    ['race', 'Fast answer', 'and now?'],
  );
  assert.equal(next?.conversationId, view.conversationId, 'a plain send names the conversation again');
  assert.deepEqual(view.shown.map((message) => message.content).slice(0, 3), [
    'race',
    'Fast answer',
    'and now?',
  ]);
});
