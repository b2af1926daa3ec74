import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startUpload } from './attachments.ts';
import type { Upload, UploadTarget } from './upload.ts';

function recordingUpload() {
  const targets: UploadTarget[] = [];
  const upload = (target: UploadTarget, _file: File, onProgress: (fraction: number) => void): Upload => {
    targets.push(target);
    onProgress(0.5);
    return {
      result: Promise.resolve({
        ok: true,
        attachment: { fileId: 'f1', name: 'a.txt', size: 5, type: 'text/plain' },
      }),
      abort() {},
    };
  };
  return { targets, upload };
}

const file = new File(['hello'], 'a.txt', { type: 'text/plain' });

test("a file over the server's limit is refused at once, without a request", async () => {
  const { targets, upload } = recordingUpload();
  const started = startUpload(file, () => {}, {
    settings: { serverUrl: 'ws://127.0.0.1:8787/v1/ws', token: '' },
    maxBytes: 4,
    upload,
  });
  assert.equal(started.maxBytes, 4, 'the chip can say what the limit is');
  assert.deepEqual(await started.upload.result, { ok: false, problem: 'too_large', detail: '' });
  assert.deepEqual(targets, []);
});

test("a file within the limit goes to the server's /v1/files with the token, and reports progress", async () => {
  const { targets, upload } = recordingUpload();
  const progress: number[] = [];
  const started = startUpload(file, (fraction) => progress.push(fraction), {
    settings: { serverUrl: 'wss://chat.example.com/v1/ws', token: 'secret' },
    maxBytes: 5,
    upload,
  });
  assert.equal((await started.upload.result).ok, true);
  assert.deepEqual(targets, [{ url: 'https://chat.example.com/v1/files', token: 'secret' }]);
  assert.deepEqual(progress, [0.5]);
});

test('before the server said its limit, any size is tried; no token, no header', async () => {
  const { targets, upload } = recordingUpload();
  const started = startUpload(file, () => {}, {
    settings: { serverUrl: 'ws://127.0.0.1:8787/v1/ws', token: '' },
    maxBytes: undefined,
    upload,
  });
  assert.equal(started.maxBytes, undefined);
  assert.deepEqual(targets, [{ url: 'http://127.0.0.1:8787/v1/files' }]);
});
