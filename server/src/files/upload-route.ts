// POST /v1/files: a multipart upload with one `file` field, streamed into the file store piece by piece.
// Over 250 lines: one request's life, from the checks through the stream to every way it can end; each end must
// release the reservation, which is easiest to check with all of them in one place.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FILES_PATH, type UploadedFile, type UploadRefusal } from '@chrome-plus/protocol';
import busboy from 'busboy';
import { bearerToken } from '../gateway/auth.ts';
import { clientAddress, type LoginThrottle } from '../gateway/login-throttle.ts';
import type { Logger } from '../logger.ts';
import type { FileStore, Refusal } from './file-store.ts';
import { detectFileType, type FileType } from './file-types.ts';

export interface UploadRouteOptions {
  store: FileStore;
  authenticate(token: string | undefined): string | undefined;
  isOriginAllowed(origin: string | undefined): boolean;
  /** Failed sign-ins per address, shared with the sockets' hello. */
  loginThrottle?: LoginThrottle;
  trustProxy?: boolean;
  maxUploadBytes: number;
  logger: Logger;
  onUpload?(outcome: 'stored' | 'refused'): void;
}

function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function refusal(code: string, message: string): UploadRefusal {
  return { error: code, message };
}

/** Returns the route handler: true when it handled the request. */
export function createUploadRoute(options: UploadRouteOptions) {
  const { store, logger } = options;

  return async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    const path = new URL(request.url ?? '/', 'http://gateway').pathname;
    if (path !== FILES_PATH) return false;
    const origin = request.headers.origin;
    if (!options.isOriginAllowed(origin)) {
      send(response, 403, refusal('forbidden', 'this origin may not upload'));
      return true;
    }
    // The extension's pages upload cross-origin; answer the browser's preflight for allowed origins.
    const cors: Record<string, string> =
      origin === undefined ? {} : { 'access-control-allow-origin': origin, vary: 'Origin' };
    if (request.method === 'OPTIONS') {
      response
        .writeHead(204, {
          ...cors,
          'access-control-allow-methods': 'POST',
          'access-control-allow-headers': 'authorization, content-type',
          'access-control-max-age': '600',
        })
        .end();
      return true;
    }
    if (request.method !== 'POST') {
      send(response, 405, refusal('bad_request', 'use POST'), { ...cors, allow: 'POST, OPTIONS' });
      return true;
    }
    const address = clientAddress(
      request.socket.remoteAddress,
      request.headers['x-forwarded-for'],
      options.trustProxy ?? false,
    );
    const waitMs = options.loginThrottle?.waitMs(address) ?? 0;
    if (waitMs > 0) {
      send(response, 429, refusal('rate_limited', 'too many failed sign-ins from this address: wait'), {
        ...cors,
        'retry-after': String(Math.ceil(waitMs / 1000)),
      });
      return true;
    }
    const user = options.authenticate(bearerToken(request.headers.authorization));
    if (user === undefined) {
      options.loginThrottle?.failed(address);
      send(
        response,
        401,
        refusal('unauthorized', 'a valid token is needed: Authorization: Bearer <token>'),
        cors,
      );
      return true;
    }
    const declaredLength = Number(request.headers['content-length'] ?? 0);
    // Multipart framing adds a little; anything far above the limit is refused before reading it.
    if (declaredLength > options.maxUploadBytes + 64 * 1024) {
      send(response, 413, refusal('too_large', `files may have at most ${options.maxUploadBytes} bytes`), {
        ...cors,
        connection: 'close',
      });
      request.resume();
      return true;
    }
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: request.headers,
        limits: { files: 1, fileSize: options.maxUploadBytes, fields: 10, parts: 12 },
      });
    } catch {
      send(response, 400, refusal('bad_request', 'send multipart/form-data with one "file" field'), cors);
      request.resume();
      return true;
    }

    await new Promise<void>((resolve) => {
      let fileId: string | undefined;
      /** Set once the upload holds a reservation: any ending but a commit must release it. */
      let reserved = false;
      let stored = 0;
      let finished = false;
      let pending: Promise<unknown> = Promise.resolve();
      let result: { name: string; type: FileType } | undefined;

      const fail = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
        if (finished) return;
        finished = true;
        options.onUpload?.('refused');
        send(response, status, refusal(code, message), { ...cors, ...headers });
        request.unpipe(parser);
        request.resume();
        // After the steps already under way (a piece being appended, a reservation being made), so that
        // nothing they write outlives the release.
        pending = pending
          .then(async () => {
            if (reserved && fileId !== undefined) await store.release(user, fileId);
          })
          .catch((error: unknown) => {
            // Its reservation and data still expire at the upload's deadline.
            logger.error({ err: error }, 'releasing a failed upload failed');
          });
        void pending.finally(resolve);
      };

      /** Runs `step` after the steps before it; an error in it (Redis down, say) fails the upload. */
      const inOrder = (step: () => Promise<void>) => {
        pending = pending.then(step).catch((error: unknown) => {
          logger.error({ err: error }, 'storing an upload failed');
          fail(500, 'internal', 'the file could not be stored; try again');
        });
      };

      const quotaMessage = `your stored files passed your quota of ${store.limits.maxUserBytes} bytes: wait for older ones to expire`;
      const tooSlowMessage = `an upload may take at most ${Math.round(store.limits.uploadMs / 1000)} seconds`;
      const refuse = (refused: Refusal) => {
        const retryAfter = { 'retry-after': String(Math.ceil(refused.retryAfterMs / 1000)) };
        const { limits } = store;
        if (refused.reason === 'expired') {
          fail(408, 'expired', tooSlowMessage);
        } else if (refused.reason === 'uploads') {
          fail(
            429,
            'rate_limited',
            `at most ${limits.maxUserUploads} uploads at a time: wait for one to finish`,
            retryAfter,
          );
        } else if (refused.reason === 'files') {
          fail(
            429,
            'rate_limited',
            `at most ${limits.maxUserFiles} stored files: wait for older ones to expire`,
            retryAfter,
          );
        } else {
          fail(413, 'too_large', quotaMessage, retryAfter);
        }
      };

      parser.on('file', (field, stream, info) => {
        if (field !== 'file' || fileId !== undefined) {
          stream.resume();
          return;
        }
        // Names are shown and put in headings: no control characters.
        const name = Array.from(info.filename || 'file', (char) =>
          char < ' ' || char === '\u007f' ? ' ' : char,
        )
          .join('')
          .slice(0, 255);
        const id = store.newFileId();
        fileId = id;
        let head: Buffer | undefined;
        stream.on('data', (chunk: Buffer) => {
          if (finished) return;
          if (head === undefined) {
            head = chunk;
            const type = detectFileType(name, info.mimeType, chunk.subarray(0, 64));
            if (type === undefined) {
              fail(
                415,
                'unsupported_type',
                `the workers cannot read "${name}": send PDF, DOCX, HTML, Markdown, CSV, code, text, or PNG/JPEG/GIF/WebP images`,
              );
              return;
            }
            result = { name, type };
            inOrder(async () => {
              if (finished) return;
              const reservation = await store.reserve(user, id);
              if (reservation.ok) reserved = true;
              else refuse(reservation);
            });
          }
          // Backpressure: read the next piece only once this one is in Redis.
          stream.pause();
          inOrder(async () => {
            if (finished) return;
            const appended = await store.append(user, id, chunk);
            if (appended.ok) stored += chunk.length;
            else refuse(appended);
          });
          void pending.then(() => stream.resume());
        });
        stream.on('limit', () =>
          fail(413, 'too_large', `files may have at most ${options.maxUploadBytes} bytes`),
        );
      });

      parser.on('error', () => fail(400, 'bad_request', 'the upload is not valid multipart/form-data'));
      parser.on('close', () => {
        inOrder(async () => {
          if (finished) return;
          if (fileId === undefined || result === undefined || !reserved) {
            if (fileId === undefined) fail(400, 'bad_request', 'no "file" field in the upload');
            else fail(400, 'bad_request', 'the file is empty');
            return;
          }
          const file = {
            fileId,
            user,
            name: result.name,
            mime: result.type.mime,
            kind: result.type.kind,
            bytes: stored,
          };
          if (!(await store.commit(file))) {
            fail(408, 'expired', tooSlowMessage);
            return;
          }
          finished = true;
          options.onUpload?.('stored');
          const body: UploadedFile = { fileId, name: result.name, type: result.type.mime, bytes: stored };
          send(response, 201, body, cors);
        });
        void pending.finally(resolve);
      });
      // A client that goes away mid-upload frees its quota and its bytes at once, not at the deadline.
      request.on('aborted', () => fail(400, 'bad_request', 'the upload was interrupted'));
      request.on('close', () => {
        if (!request.complete) fail(400, 'bad_request', 'the upload was interrupted');
      });
      request.pipe(parser);
    });
    return true;
  };
}
