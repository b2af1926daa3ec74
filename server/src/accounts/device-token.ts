// Device tokens: 256 random bits, shown once, stored only as their SHA-256 (a digest is enough for a secret this
// long: there is nothing to guess that a slow hash would protect).
import { createHash, randomBytes } from 'node:crypto';

const PREFIX = 'cpd_';
/** What newDeviceToken makes: the prefix and 32 bytes in base64url (43 characters, no padding). */
const FORM = /^cpd_[A-Za-z0-9_-]{43}$/;

export function newDeviceToken(): string {
  return `${PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether a token could be a device token: only these are looked up in the database when not in memory. */
export function hasDeviceTokenForm(token: string | undefined): token is string {
  return token !== undefined && FORM.test(token);
}
