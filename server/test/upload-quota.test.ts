// The per-user upload quota stays true: expired files, dead gateways and aborted uploads give their bytes back,
// and every failure of an upload releases what it reserved. Real Redis, the real upload route over HTTP.
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { cleanupPrefix, REDIS_URL, testPrefix, until } from '@chrome-plus/testkit';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createFileStore, type FileStore, type FileStoreOptions } from '../src/files/file-store.ts';
import { createUploadRoute } from '../src/files/upload-route.ts';
import { createKeys } from '../src/generations/keys.ts';

const redis = new Redis(REDIS_URL);
const prefixes: string[] = [];
const MAX_UPLOAD = 8000;
const closers: (() => Promise<void>)[] = [];

after(async () => {
  for (const close of closers) await close();
  for (const prefix of prefixes) await cleanupPrefix(prefix);
  redis.disconnect();
});

/**
 * A store on a key prefix of its own, with the given limits, and the upload route in front of it; each user's
 * token is `<user>-token`.
 */
async function startUploads(
  overrides: Partial<FileStoreOptions> = {},
  wrap?: (store: FileStore) => FileStore,
) {
  const prefix = testPrefix('quota');
  prefixes.push(prefix);
  const keys = createKeys(prefix);
  const store = createFileStore({
    redis,
    keys,
    retentionMs: 60_000,
    maxUserBytes: 10_000,
    uploadMs: 60_000,
    ...overrides,
  });
  const route = createUploadRoute({
    store: wrap ? wrap(store) : store,
    authenticate: (token) => token?.replace(/-token$/, ''),
    isOriginAllowed: () => true,
    maxUploadBytes: MAX_UPLOAD,
    logger: pino({ level: 'silent' }),
  });
  const server = createServer((request, response) => {
    void route(request, response).then((handled) => {
      if (!handled) response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );

  async function upload(user: string, bytes: number, name = 'notes.txt', type = 'text/plain') {
    const form = new FormData();
    form.append('file', new Blob(['a'.repeat(bytes)], { type }), name);
    const response = await fetch(`${base}/v1/files`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${user}-token` },
    });
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: (await response.json()) as Record<string, unknown>,
    };
  }
  /** Every file key of the prefix: records, data, cached texts. */
  async function fileKeys(): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:file:*`, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    return found;
  }
  /** An upload sent piece by piece: `write(bytes)` sends that many more bytes of the file. */
  function streamUpload(user: string, fileBytes: number) {
    const boundary = 'quota-test-boundary';
    const head = `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="big.txt"\r\ncontent-type: text/plain\r\n\r\n`;
    const tail = `\r\n--${boundary}--\r\n`;
    const request = httpRequest(`${base}/v1/files`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${user}-token`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': head.length + fileBytes + tail.length,
      },
    });
    request.on('error', () => {});
    const status = new Promise<number>((resolve) => {
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
    });
    request.write(head);
    let sent = 0;
    return {
      request,
      status,
      write(bytes: number) {
        request.write('b'.repeat(bytes));
        sent += bytes;
        if (sent >= fileBytes) request.end(tail);
      },
    };
  }

  return { store, keys, base, upload, fileKeys, streamUpload };
}

const empty = { bytes: 0, files: 0, uploads: 0 };

test('a user who uploads steadily gets room back as their files expire (413 until then)', async () => {
  const { store, upload } = await startUploads({ retentionMs: 1_000 });
  const statuses = [
    (await upload('ana', 4000)).status,
    (await upload('ana', 4000)).status,
    (await upload('ana', 4000)).status,
  ];
  assert.deepEqual(statuses, [201, 201, 413]);
  // Keep trying, as a user would: the refusals must not keep the quota full.
  let last = await upload('ana', 4000);
  assert.equal(last.body.error, 'too_large');
  assert.ok(Number(last.retryAfter) >= 1);
  await until(
    async () => {
      last = await upload('ana', 4000);
      return last.status === 201;
    },
    { what: 'an upload to be accepted again', timeoutMs: 6_000 },
  );
  // The first file expired, the second perhaps not yet.
  const usage = await store.usage('ana');
  assert.ok(usage.files >= 1 && usage.files <= 2 && usage.uploads === 0, JSON.stringify(usage));
  assert.equal(usage.bytes, usage.files * 4000);
});

test('an upload that never commits (its gateway died) frees its bytes and data at its deadline', async () => {
  const { keys, upload } = await startUploads();
  const dying = createFileStore({ redis, keys, retentionMs: 60_000, maxUserBytes: 10_000, uploadMs: 400 });
  const fileId = dying.newFileId();
  assert.deepEqual(await dying.reserve('bo', fileId), { ok: true });
  assert.deepEqual(await dying.append('bo', fileId, Buffer.alloc(5000, 1)), { ok: true });
  assert.deepEqual(await dying.usage('bo'), { bytes: 5000, files: 1, uploads: 1 });
  assert.equal((await upload('bo', 6000)).status, 413, 'the dead upload still counts before its deadline');
  // ...and the gateway is gone: nobody commits, nobody releases.
  await until(async () => (await dying.usage('bo')).files === 0, { what: 'the reservation to expire' });
  assert.deepEqual(await dying.usage('bo'), empty);
  assert.equal(await redis.exists(keys.fileData(fileId)), 0, 'its data expired with it');
  assert.equal((await dying.append('bo', fileId, Buffer.alloc(10))).ok, false, 'a late piece is refused');
  assert.equal((await upload('bo', 6000)).status, 201);
});

test('a client that aborts mid-upload frees its bytes at once, and its data is deleted', async () => {
  const { store, fileKeys, streamUpload } = await startUploads();
  const upload = streamUpload('cy', 7000);
  upload.write(3000);
  await until(async () => (await store.usage('cy')).bytes > 0, { what: 'the first bytes to be stored' });
  assert.equal((await fileKeys()).length, 1, 'the data key being written');
  upload.request.destroy();
  // Far sooner than the upload's 60 s deadline.
  await until(async () => (await store.usage('cy')).files === 0, {
    what: 'the reservation to be released',
    timeoutMs: 2_000,
  });
  assert.deepEqual(await store.usage('cy'), empty);
  assert.deepEqual(await fileKeys(), []);
});

test('usage counts exactly: uploads add their sizes, deletes and expiries take them back to 0', async () => {
  const { store, keys, upload, fileKeys } = await startUploads({ retentionMs: 3_000 });
  const sizes = [1000, 2345, 17, 4000];
  const ids: string[] = [];
  for (const size of sizes) {
    const uploaded = await upload('di', size);
    assert.equal(uploaded.status, 201);
    assert.equal(uploaded.body.bytes, size);
    ids.push(String(uploaded.body.fileId));
  }
  assert.deepEqual(await store.usage('di'), { bytes: 7362, files: 4, uploads: 0 });
  await store.release('di', ids[1]!);
  assert.deepEqual(await store.usage('di'), { bytes: 7362 - 2345, files: 3, uploads: 0 });
  assert.equal(await redis.exists(keys.file(ids[1]!), keys.fileData(ids[1]!)), 0);
  await store.cacheText(ids[0]!, 'extracted text');
  assert.ok((await redis.pttl(keys.fileText(ids[0]!))) > 0, 'the cached text expires with its file');
  // Long enough that a loaded machine still checks the sums before anything expires.
  await until(async () => (await store.usage('di')).files === 0, {
    what: 'every file to expire',
    timeoutMs: 8_000,
  });
  assert.deepEqual(await store.usage('di'), empty);
  assert.equal(
    await redis.exists(keys.userFiles('di'), keys.userUploads('di'), keys.userFileBytes('di')),
    0,
    'no quota keys are left for a user with no files',
  );
  assert.deepEqual(await fileKeys(), [], 'records, data and texts expired with their files');
});

test('every failed upload releases its reservation: wrong type, too large mid-stream, a store error', async () => {
  let appends = 0;
  let breakNext = false;
  let brokenId: string | undefined;
  const { store, upload, fileKeys, streamUpload } = await startUploads({}, (real) => ({
    ...real,
    async append(user, fileId, chunk) {
      const result = await real.append(user, fileId, chunk);
      if (fileId === brokenId) throw new Error('Redis went away');
      appends++;
      return result;
    },
    newFileId() {
      const id = real.newFileId();
      if (breakNext) brokenId = id;
      return id;
    },
  }));

  const exe = await upload('ed', 3000, 'tool.exe', 'application/octet-stream');
  assert.equal(exe.status, 415);
  const tooBig = await upload('ed', MAX_UPLOAD + 2000);
  assert.equal(tooBig.status, 413);
  assert.match(String(tooBig.body.message), /at most 8000 bytes/);
  // Past the limit only after some of it is in Redis.
  const growing = streamUpload('ed', MAX_UPLOAD + 2000);
  growing.write(4000);
  await until(async () => (await store.usage('ed')).bytes > 0, { what: 'the first bytes to be stored' });
  assert.ok(appends > 0);
  growing.write(MAX_UPLOAD + 2000 - 4000);
  assert.equal(await growing.status, 413);
  breakNext = true;
  const broken = await upload('ed', 3000);
  assert.equal(broken.status, 500);
  assert.equal(broken.body.error, 'internal');
  assert.ok(brokenId !== undefined);
  await until(async () => (await store.usage('ed')).files === 0, {
    what: 'every reservation to be released',
    timeoutMs: 2_000,
  });
  assert.deepEqual(await store.usage('ed'), empty);
  assert.deepEqual(await fileKeys(), []);
});

test('uploads in progress and stored files are capped per user (429 with Retry-After)', async () => {
  const { store, upload } = await startUploads({ maxUserUploads: 2, maxUserFiles: 3 });
  const first = store.newFileId();
  assert.deepEqual(await store.reserve('flo', first), { ok: true });
  assert.deepEqual(await store.reserve('flo', store.newFileId()), { ok: true });
  const busy = await upload('flo', 100);
  assert.equal(busy.status, 429);
  assert.equal(busy.body.error, 'rate_limited');
  assert.match(String(busy.body.message), /at most 2 uploads at a time/);
  assert.ok(Number(busy.retryAfter) >= 1);
  await store.release('flo', first);
  assert.equal((await upload('flo', 100)).status, 201);
  assert.equal((await upload('flo', 100)).status, 201);
  const full = await upload('flo', 100);
  assert.equal(full.status, 429, 'an upload in progress and two files make three');
  assert.match(String(full.body.message), /at most 3 stored files/);
  assert.deepEqual(await store.usage('flo'), { bytes: 200, files: 3, uploads: 1 });
});

test('the quota is per user, and a bytes quota of exactly the files fits them', async () => {
  const { store, upload } = await startUploads();
  assert.equal((await upload('gus', 5000)).status, 201);
  assert.equal((await upload('gus', 5000)).status, 201);
  assert.equal((await upload('gus', 1)).status, 413);
  assert.equal((await upload('hal', 5000)).status, 201, 'another user has their own quota');
  assert.deepEqual(await store.usage('gus'), { bytes: 10_000, files: 2, uploads: 0 });
});
