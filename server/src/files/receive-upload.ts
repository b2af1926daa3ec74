// One upload that passed its checks, streamed into the file store piece by piece, and every way it can end.
// It ends in one of two places: `fail`, which answers and releases whatever was reserved (after the steps already
// under way), or `commit`, after which the file is stored and nothing is reserved.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UploadedFile } from '@chrome-plus/protocol';
import type busboy from 'busboy';
import type { Logger } from '../logger.ts';
import type { FileStore, Refusal } from './file-store.ts';
import { detectFileType, type FileType } from './file-types.ts';
import { refusal, sendJson } from './upload-checks.ts';

export interface ReceiveUploadOptions {
  request: IncomingMessage;
  response: ServerResponse;
  parser: busboy.Busboy;
  user: string;
  cors: Record<string, string>;
  store: FileStore;
  maxUploadBytes: number;
  logger: Logger;
  onUpload?(outcome: 'stored' | 'refused'): void;
}

interface Answer {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

/** The answer to a refusal of the file store (quota, concurrent uploads, deadline). */
export function refusalAnswer(refused: Refusal, limits: FileStore['limits']): Answer {
  const headers = { 'retry-after': String(Math.ceil(refused.retryAfterMs / 1000)) };
  if (refused.reason === 'expired') return { status: 408, code: 'expired', message: tooSlowMessage(limits) };
  if (refused.reason === 'uploads') {
    const message = `at most ${limits.maxUserUploads} uploads at a time: wait for one to finish`;
    return { status: 429, code: 'rate_limited', message, headers };
  }
  if (refused.reason === 'files') {
    const message = `at most ${limits.maxUserFiles} stored files: wait for older ones to expire`;
    return { status: 429, code: 'rate_limited', message, headers };
  }
  const message = `your stored files passed your quota of ${limits.maxUserBytes} bytes: wait for older ones to expire`;
  return { status: 413, code: 'too_large', message, headers };
}

function tooSlowMessage(limits: FileStore['limits']): string {
  return `an upload may take at most ${Math.round(limits.uploadMs / 1000)} seconds`;
}

/** Names are shown and put in headings: no control characters, at most 255 characters. */
export function uploadName(filename: string | undefined): string {
  return Array.from(filename || 'file', (char) => (char < ' ' || char === '\u007f' ? ' ' : char))
    .join('')
    .slice(0, 255);
}

/** Streams the upload; resolves once it ended (answered, and anything reserved released or committed). */
export function receiveUpload(options: ReceiveUploadOptions): Promise<void> {
  return new Promise((resolve) => new UploadReception(options, resolve).start());
}

class UploadReception {
  private fileId: string | undefined;
  /** Set once the upload holds a reservation: any ending but a commit must release it. */
  private reserved = false;
  private stored = 0;
  private finished = false;
  private pending: Promise<unknown> = Promise.resolve();
  private result: { name: string; type: FileType } | undefined;

  constructor(
    private readonly options: ReceiveUploadOptions,
    private readonly resolve: () => void,
  ) {}

  start(): void {
    const { request, parser } = this.options;
    parser.on('file', (field, stream, info) => this.file(field, stream, info));
    parser.on('error', () =>
      this.fail({ status: 400, code: 'bad_request', message: 'the upload is not valid multipart/form-data' }),
    );
    parser.on('close', () => {
      this.inOrder(() => this.commit());
      void this.pending.finally(this.resolve);
    });
    // A client that goes away mid-upload frees its quota and its bytes at once, not at the deadline.
    const interrupted: Answer = { status: 400, code: 'bad_request', message: 'the upload was interrupted' };
    request.on('aborted', () => this.fail(interrupted));
    request.on('close', () => {
      if (!request.complete) this.fail(interrupted);
    });
    request.pipe(parser);
  }

  /** Ending one: answer, stop reading, and release the reservation after the steps already under way. */
  private fail(answer: Answer): void {
    if (this.finished) return;
    this.finished = true;
    const { request, response, parser, store, user, cors } = this.options;
    this.options.onUpload?.('refused');
    sendJson(response, answer.status, refusal(answer.code, answer.message), { ...cors, ...answer.headers });
    request.unpipe(parser);
    request.resume();
    // After the steps already under way (a piece being appended, a reservation being made), so that
    // nothing they write outlives the release.
    this.pending = this.pending
      .then(async () => {
        if (this.reserved && this.fileId !== undefined) await store.release(user, this.fileId);
      })
      .catch((error: unknown) => {
        // Its reservation and data still expire at the upload's deadline.
        this.options.logger.error({ err: error }, 'releasing a failed upload failed');
      });
    void this.pending.finally(this.resolve);
  }

  /** Ending two, once the parser is done: the file is committed and answered, or the upload fails. */
  private async commit(): Promise<void> {
    if (this.finished) return;
    const { fileId, result } = this;
    if (fileId === undefined || result === undefined || !this.reserved) {
      if (fileId === undefined)
        this.fail({ status: 400, code: 'bad_request', message: 'no "file" field in the upload' });
      else this.fail({ status: 400, code: 'bad_request', message: 'the file is empty' });
      return;
    }
    const { store, user, response, cors } = this.options;
    const file = {
      fileId,
      user,
      name: result.name,
      mime: result.type.mime,
      kind: result.type.kind,
      bytes: this.stored,
    };
    if (!(await store.commit(file))) {
      this.fail({ status: 408, code: 'expired', message: tooSlowMessage(store.limits) });
      return;
    }
    this.finished = true;
    this.options.onUpload?.('stored');
    const body: UploadedFile = { fileId, name: result.name, type: result.type.mime, bytes: this.stored };
    sendJson(response, 201, body, cors);
  }

  /** Runs `step` after the steps before it; an error in it (Redis down, say) fails the upload. */
  private inOrder(step: () => Promise<void>): void {
    this.pending = this.pending.then(step).catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'storing an upload failed');
      this.fail({ status: 500, code: 'internal', message: 'the file could not be stored; try again' });
    });
  }

  private refuse(refused: Refusal): void {
    this.fail(refusalAnswer(refused, this.options.store.limits));
  }

  /** The one `file` field: its type from its first bytes, a reservation, then each piece appended in order. */
  private file(field: string, stream: NodeJS.ReadableStream, info: busboy.FileInfo): void {
    if (field !== 'file' || this.fileId !== undefined) {
      stream.resume();
      return;
    }
    const { store, user } = this.options;
    const name = uploadName(info.filename);
    const id = store.newFileId();
    this.fileId = id;
    let head: Buffer | undefined;
    stream.on('data', (chunk: Buffer) => {
      if (this.finished) return;
      if (head === undefined) {
        head = chunk;
        const type = detectFileType(name, info.mimeType, chunk.subarray(0, 64));
        if (type === undefined) {
          const message = `the workers cannot read "${name}": send PDF, DOCX, HTML, Markdown, CSV, code, text, or PNG/JPEG/GIF/WebP images`;
          this.fail({ status: 415, code: 'unsupported_type', message });
          return;
        }
        this.result = { name, type };
        this.inOrder(async () => {
          if (this.finished) return;
          const reservation = await store.reserve(user, id);
          if (reservation.ok) this.reserved = true;
          else this.refuse(reservation);
        });
      }
      // Backpressure: read the next piece only once this one is in Redis.
      stream.pause();
      this.inOrder(async () => {
        if (this.finished) return;
        const appended = await store.append(user, id, chunk);
        if (appended.ok) this.stored += chunk.length;
        else this.refuse(appended);
      });
      void this.pending.then(() => stream.resume());
    });
    stream.on('limit', () =>
      this.fail({
        status: 413,
        code: 'too_large',
        message: `files may have at most ${this.options.maxUploadBytes} bytes`,
      }),
    );
  }
}
