// Turning raw socket text into a validated frame, with an error a peer can act on.
import {
  type ClientFrame,
  clientFrameSchema,
  clientFrameTypes,
  type ErrorCode,
  type ServerFrame,
  serverFrameSchema,
  serverFrameTypes,
} from './frames.ts';

export type ParseResult<T> =
  | { ok: true; frame: T }
  | { ok: false; code: ErrorCode; message: string; id?: string };

function summarize(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 3)
    .map((issue) =>
      issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message,
    )
    .join('; ');
}

/** Parses one client text frame. Never throws; the result names what was wrong. */
export function parseClientFrame(text: string): ParseResult<ClientFrame> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'bad_request', message: 'frame is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'bad_request', message: 'frame must be a JSON object' };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') {
    return { ok: false, code: 'bad_request', message: 'frame needs a string "type"' };
  }
  if (!(clientFrameTypes as readonly string[]).includes(type)) {
    return { ok: false, code: 'bad_request', message: `unknown frame type "${type.slice(0, 64)}"` };
  }
  const result = clientFrameSchema.safeParse(value);
  if (!result.success) {
    const rawId = (value as { id?: unknown }).id;
    const id = typeof rawId === 'string' && rawId.length <= 128 ? rawId : undefined;
    return {
      ok: false,
      code: 'bad_request',
      message: `invalid ${type}: ${summarize(result.error.issues)}`,
      id,
    };
  }
  return { ok: true, frame: result.data };
}

/** Parses one server text frame. Unknown frame types are reported as such so that clients can ignore them. */
export function parseServerFrame(text: string): ParseResult<ServerFrame> | { ok: 'unknown'; type: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'bad_request', message: 'frame is not valid JSON' };
  }
  const result = serverFrameSchema.safeParse(value);
  if (result.success) return { ok: true, frame: result.data };
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  if (typeof type === 'string' && !(serverFrameTypes as readonly string[]).includes(type)) {
    return { ok: 'unknown', type };
  }
  return { ok: false, code: 'bad_request', message: summarize(result.error.issues) };
}
