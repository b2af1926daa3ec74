import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClientFrame, parseServerFrame } from './parse.ts';

test('a valid chat.send parses into a typed frame', () => {
  const result = parseClientFrame(
    JSON.stringify({ type: 'chat.send', id: 'a1', messages: [{ role: 'user', content: 'hi' }] }),
  );
  assert.equal(result.ok, true);
  if (result.ok) assert.equal(result.frame.type, 'chat.send');
});

test('bad frames are refused with bad_request and a reason', () => {
  const cases: [string, RegExp][] = [
    ['{', /not valid JSON/],
    ['[]', /JSON object/],
    ['{"type":1}', /string "type"/],
    ['{"type":"nope"}', /unknown frame type "nope"/],
    ['{"type":"chat.send","id":"x","messages":[]}', /invalid chat.send: messages/],
    ['{"type":"chat.resume","id":"x","after":-1}', /after/],
    ['{"type":"chat.send","id":"has space","messages":[{"role":"user","content":"x"}]}', /id/],
  ];
  for (const [text, message] of cases) {
    const result = parseClientFrame(text);
    assert.equal(result.ok, false, text);
    if (!result.ok) {
      assert.equal(result.code, 'bad_request');
      assert.match(result.message, message);
    }
  }
});

test('a refused chat frame keeps its id so that the refusal can name it', () => {
  const result = parseClientFrame('{"type":"chat.send","id":"r1","messages":"no"}');
  assert.equal(result.ok, false);
  if (!result.ok) assert.equal(result.id, 'r1');
});

test('clients can tell an unknown server frame from a broken one', () => {
  assert.deepEqual(parseServerFrame('{"type":"future.thing","x":1}'), {
    ok: 'unknown',
    type: 'future.thing',
  });
  assert.equal(parseServerFrame('{"type":"chat.delta"}').ok, false);
  assert.equal(parseServerFrame('{"type":"chat.delta","id":"a","seq":1,"text":"x"}').ok, true);
});
