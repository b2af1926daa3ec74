// Structured logs (pino). Secrets never reach them: credentials are redacted by path, and no code logs a token or key.
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(level: string, role: string): Logger {
  return pino({
    level,
    base: { role, pid: process.pid },
    redact: {
      paths: [
        'token',
        '*.token',
        'apiKey',
        '*.apiKey',
        'authorization',
        '*.authorization',
        'headers.authorization',
      ],
      censor: '[redacted]',
    },
  });
}
