// Where an attached file goes: the server's /v1/files with the panel's token, unless it is over the server's limit.
import { filesUrl, type Settings } from '../shared/settings.ts';
import type { PanelEnvironment } from './environment.ts';
import type { Upload, UploadTarget } from './upload.ts';

export interface StartUploadOptions {
  settings: Pick<Settings, 'serverUrl' | 'token'>;
  /** The server's limit, from its `welcome`; undefined before the first one. */
  maxBytes: number | undefined;
  upload: PanelEnvironment['upload'];
}

/** Starts an upload; a file over the server's limit fails at once, without a request. */
export function startUpload(
  file: File,
  onProgress: (fraction: number) => void,
  options: StartUploadOptions,
): { upload: Upload; maxBytes?: number } {
  const { maxBytes, settings } = options;
  if (maxBytes !== undefined && file.size > maxBytes) {
    return {
      upload: { result: Promise.resolve({ ok: false, problem: 'too_large', detail: '' }), abort() {} },
      maxBytes,
    };
  }
  const target: UploadTarget = { url: filesUrl(settings.serverUrl) };
  if (settings.token) target.token = settings.token;
  return { upload: options.upload(target, file, onProgress), maxBytes };
}
