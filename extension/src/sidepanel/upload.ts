// Uploads one file to the gateway (POST /v1/files) with progress, and names what went wrong in a way a user can act on.
import { parseUploadResponse } from '@chrome-plus/protocol';
import type { AttachmentInfo } from '../store/types.ts';

export type UploadProblem =
  /** 413: over the server's size limit or the user's quota. */
  | 'too_large'
  /** 415: a type the workers cannot read. */
  | 'unsupported'
  /** 401: no valid token. */
  | 'unauthorized'
  /** No answer: the server is down or unreachable. */
  | 'network'
  | 'failed';

export type UploadResult =
  | { ok: true; attachment: AttachmentInfo }
  | { ok: false; problem: UploadProblem; detail: string };

export interface UploadTarget {
  url: string;
  token?: string;
}

export interface Upload {
  result: Promise<UploadResult>;
  abort(): void;
}

export function problemOfStatus(status: number): UploadProblem {
  if (status === 413) return 'too_large';
  if (status === 415) return 'unsupported';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 0) return 'network';
  return 'failed';
}

/**
 * Sends `file` as multipart/form-data. XMLHttpRequest rather than fetch: only it reports upload
 * progress. `onProgress` gets the fraction sent, 0 to 1.
 */
export function uploadFile(target: UploadTarget, file: File, onProgress: (fraction: number) => void): Upload {
  const request = new XMLHttpRequest();
  const result = new Promise<UploadResult>((resolve) => {
    request.open('POST', target.url);
    if (target.token) request.setRequestHeader('Authorization', `Bearer ${target.token}`);
    request.responseType = 'text';
    request.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      const answer = parseUploadResponse(request.status, request.responseText);
      if (answer.ok) {
        const { fileId, name, bytes, type } = answer.file;
        resolve({ ok: true, attachment: { fileId, name, size: bytes, type } });
        return;
      }
      resolve({ ok: false, problem: problemOfStatus(request.status), detail: answer.message });
    };
    request.onerror = () => resolve({ ok: false, problem: 'network', detail: '' });
    request.onabort = () => resolve({ ok: false, problem: 'failed', detail: 'aborted' });
    const form = new FormData();
    form.append('file', file, file.name);
    request.send(form);
  });
  return { result, abort: () => request.abort() };
}
