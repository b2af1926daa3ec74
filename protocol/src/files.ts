// The upload contract (POST /v1/files): what a stored file's 201 carries, what a refusal carries, and how a client
// reads either. Written with the API zod and zod/mini share, as frames.ts is.
import * as z from '#zod';

/** 201: the file is stored; name it in a message's `attachments` as `{ fileId }`. */
export const uploadedFileSchema = z.looseObject({
  fileId: z.string().check(z.minLength(1), z.maxLength(128)),
  name: z.string(),
  /** The MIME type the server detected. */
  type: z.string(),
  bytes: z.number(),
});
export type UploadedFile = z.infer<typeof uploadedFileSchema>;

/** Any other status: a code (`too_large`, `unsupported`, `unauthorized`, `rate_limited`, ...) and a sentence. */
export const uploadRefusalSchema = z.looseObject({ error: z.string(), message: z.string() });
export type UploadRefusal = z.infer<typeof uploadRefusalSchema>;

export type UploadResponse =
  | { ok: true; file: UploadedFile }
  | { ok: false; status: number; message: string };

/** Reads an upload's answer; a body that is not the contract's (a proxy's error page, say) is told by its status. */
export function parseUploadResponse(status: number, text: string): UploadResponse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (status === 201) {
    const file = uploadedFileSchema.safeParse(body);
    if (file.success) return { ok: true, file: file.data };
    return { ok: false, status, message: 'the server answered 201 without a file' };
  }
  const refusal = uploadRefusalSchema.safeParse(body);
  return { ok: false, status, message: refusal.success ? refusal.data.message : `HTTP ${status}` };
}
