// The pure parts of one upload's reception; its stream and endings are tested over HTTP in server/test/upload-quota.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refusalAnswer, uploadName } from './receive-upload.ts';

const limits = { maxUserBytes: 10_000, maxUserFiles: 200, maxUserUploads: 8, uploadMs: 600_000 };

test('each refusal of the store has its status, code and a message that names the limit', () => {
  const answer = (reason: 'bytes' | 'files' | 'uploads' | 'expired') =>
    refusalAnswer({ ok: false, reason, retryAfterMs: 1_500 }, limits);
  assert.deepEqual(answer('expired'), {
    status: 408,
    code: 'expired',
    message: 'an upload may take at most 600 seconds',
  });
  assert.equal(answer('uploads').status, 429);
  assert.match(answer('uploads').message, /at most 8 uploads/);
  assert.deepEqual(answer('uploads').headers, { 'retry-after': '2' });
  assert.match(answer('files').message, /at most 200 stored files/);
  assert.equal(answer('bytes').status, 413);
  assert.equal(answer('bytes').code, 'too_large');
  assert.match(answer('bytes').message, /quota of 10000 bytes/);
});

test('file names lose their control characters and are cut at 255 characters', () => {
  assert.equal(uploadName('a\nb\u007fc.txt'), 'a b c.txt');
  assert.equal(uploadName(''), 'file');
  assert.equal(uploadName(undefined), 'file');
  assert.equal(uploadName('x'.repeat(300)).length, 255);
});
