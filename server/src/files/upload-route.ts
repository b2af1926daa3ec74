// POST /v1/files: a multipart upload with one `file` field, streamed into the file store piece by piece.
// The checks before reading are upload-checks.ts; one upload's stream and its endings are receive-upload.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FILES_PATH } from '@chrome-plus/protocol';
import busboy from 'busboy';
import type { Authenticate } from '../gateway/auth.ts';
import type { LoginThrottle } from '../gateway/login-throttle.ts';
import type { Logger } from '../logger.ts';
import type { FileStore } from './file-store.ts';
import { receiveUpload } from './receive-upload.ts';
import { checkUpload, refusal, sendJson } from './upload-checks.ts';

export interface UploadRouteOptions {
  store: FileStore;
  authenticate: Authenticate;
  isOriginAllowed(origin: string | undefined): boolean;
  /** Failed sign-ins per address, shared with the sockets' hello. */
  loginThrottle?: LoginThrottle;
  trustProxy?: boolean;
  maxUploadBytes: number;
  logger: Logger;
  onUpload?(outcome: 'stored' | 'refused'): void;
}

/** Returns the route handler: true when it handled the request. */
export function createUploadRoute(options: UploadRouteOptions) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    const path = new URL(request.url ?? '/', 'http://gateway').pathname;
    if (path !== FILES_PATH) return false;
    const answer = checkUpload(request, options);
    const checked = answer instanceof Promise ? await answer : answer;
    if (checked.kind === 'answer') {
      const { status, body, headers, drain } = checked.answer;
      if (body === undefined) response.writeHead(status, headers).end();
      else sendJson(response, status, body, headers);
      if (drain) request.resume();
      return true;
    }
    const { user, cors } = checked;
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: request.headers,
        limits: { files: 1, fileSize: options.maxUploadBytes, fields: 10, parts: 12 },
      });
    } catch {
      sendJson(response, 400, refusal('bad_request', 'send multipart/form-data with one "file" field'), cors);
      request.resume();
      return true;
    }
    await receiveUpload({ ...options, request, response, parser, user, cors });
    return true;
  };
}
