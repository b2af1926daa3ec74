// Device tokens: 256 random bits, shown once, stored only as their SHA-256 (a digest is enough for a secret this
// long: there is nothing to guess that a slow hash would protect).
import { createHash, randomBytes } from 'node:crypto';

const PREFIX = 'cpd_';

export function newDeviceToken(): string {
  return `${PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
