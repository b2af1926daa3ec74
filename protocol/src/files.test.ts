import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseUploadResponse } from './files.ts';

test('a 201 with a file is read as the file; a refusal as its message; anything else by its status', () => {
  assert.deepEqual(
    parseUploadResponse(201, '{"fileId":"f_abc","name":"a.txt","type":"text/plain","bytes":3}'),
    {
      ok: true,
      file: { fileId: 'f_abc', name: 'a.txt', type: 'text/plain', bytes: 3 },
    },
  );
  assert.deepEqual(
    parseUploadResponse(413, '{"error":"too_large","message":"files may have at most 10 bytes"}'),
    {
      ok: false,
      status: 413,
      message: 'files may have at most 10 bytes',
    },
  );
  assert.deepEqual(parseUploadResponse(502, '<html>Bad gateway</html>'), {
    ok: false,
    status: 502,
    message: 'HTTP 502',
  });
  assert.equal(
    parseUploadResponse(201, '{"fileId":42}').ok,
    false,
    'a 201 that breaks the contract is no file',
  );
});
