import assert from 'node:assert/strict';
import { test } from 'node:test';
import { myUsageSchema, parseAccountResponse, signedInSchema } from './accounts.ts';

test('an answer of the accounts routes is read as the contract, a refusal as its code and message', () => {
  assert.deepEqual(
    parseAccountResponse(signedInSchema, 201, 201, '{"user":"alice","device":"laptop","token":"cpd_x"}'),
    { ok: true, value: { user: 'alice', device: 'laptop', token: 'cpd_x' } },
  );
  assert.deepEqual(
    parseAccountResponse(
      signedInSchema,
      201,
      401,
      '{"error":"unauthorized","message":"wrong user name or password"}',
    ),
    { ok: false, status: 401, code: 'unauthorized', message: 'wrong user name or password' },
  );
  assert.deepEqual(parseAccountResponse(myUsageSchema, 200, 404, '<html>not here</html>'), {
    ok: false,
    status: 404,
    code: 'http_error',
    message: 'HTTP 404',
  });
  const outOfContract = parseAccountResponse(myUsageSchema, 200, 200, '{"user":"alice"}');
  assert.equal(outOfContract.ok, false);
  assert.equal(!outOfContract.ok && outOfContract.code, 'bad_response');
});
