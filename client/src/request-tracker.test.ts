import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestTracker } from './request-tracker.ts';

test('events in order are applied once; replays of applied events are dropped', () => {
  const tracker = new RequestTracker();
  assert.equal(tracker.judge({ seq: 1 }).kind, 'apply');
  assert.equal(tracker.judge({ seq: 2 }).kind, 'apply');
  assert.equal(tracker.judge({ seq: 1 }).kind, 'duplicate');
  assert.equal(tracker.judge({ seq: 2 }).kind, 'duplicate');
  assert.equal(tracker.judge({ seq: 3 }).kind, 'apply');
  assert.equal(tracker.lastSeq, 3);
});

test('a gap asks for one resume from the last applied seq, however many events follow it', () => {
  const tracker = new RequestTracker(4);
  assert.deepEqual(tracker.judge({ seq: 6 }), { kind: 'gap', resumeAfter: 4 });
  assert.deepEqual(tracker.judge({ seq: 7 }), { kind: 'gap', resumeAfter: undefined });
  assert.equal(tracker.lastSeq, 4, 'nothing past the gap is applied');
  assert.equal(tracker.judge({ seq: 5 }).kind, 'apply');
  assert.equal(tracker.judge({ seq: 6 }).kind, 'apply');
  // A later gap is a new one and gets its own resume.
  assert.deepEqual(tracker.judge({ seq: 9 }), { kind: 'gap', resumeAfter: 6 });
});

test('after a reconnect resume, a gap at the same point does not resume twice; a reset allows it', () => {
  const tracker = new RequestTracker(2);
  tracker.resumeSent();
  assert.deepEqual(tracker.judge({ seq: 5 }), { kind: 'gap', resumeAfter: undefined });
  tracker.resetPending();
  assert.deepEqual(tracker.judge({ seq: 5 }), { kind: 'gap', resumeAfter: 2 });
});
