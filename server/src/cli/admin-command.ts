// `npm run admin -- <command>`: a thin client of the gateway's admin API (/v1/admin/). Every command exits 0 on
// success, 2 on bad input and 1 on a refused or failed request, with a one-line reason on stderr. Past 250 lines:
// one command table and one switch over it, read together.
import { parseArgs } from 'node:util';

export const usage = `usage: npm run admin -- <command>

commands:
  users add NAME [--admin] [--password-stdin]
                                            add a user (--admin: may use this API; --password-stdin: the
                                            password to sign in from the extension, read from stdin)
  users password NAME --password-stdin      set or reset their password (read from stdin)
  users list [--json]
  users disable NAME                        closes their sockets within seconds; users enable NAME undoes it
  users enable NAME
  users delete NAME --yes                   delete them with their device tokens, conversations and messages
                                            (their usage records stay); their sockets close within seconds
  tokens create NAME --device DEVICE        mint a device token: printed once, alone on the last line
  tokens list NAME [--json]
  tokens revoke NAME --device DEVICE        closes that device's sockets within seconds
  quota set NAME --tokens-per-day N         daily token budget (UTC days); 0 or none removes it
  usage [--user NAME] [--days N] [--json]   tokens per user, model and day (default: the last 7 days)
  export NAME                               their conversations and messages, as JSON on stdout

environment:
  CHROME_PLUS_URL   the gateway (default http://127.0.0.1:8787; a ws:// URL of it works too)
  ADMIN_TOKEN       the gateway's ADMIN_TOKEN, or a device token of an admin user`;

export interface AdminIO {
  env: Record<string, string | undefined>;
  fetch: typeof globalThis.fetch;
  /** All of standard input (a terminal is asked without echo); needed by --password-stdin only. */
  readStdin?(): Promise<string>;
  out(line: string): void;
  err(line: string): void;
}

class UsageError extends Error {}
class RequestError extends Error {}

function baseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`CHROME_PLUS_URL is not a URL: "${raw}"`);
  }
  if (url.protocol === 'ws:' || url.protocol === 'wss:')
    url.protocol = url.protocol === 'ws:' ? 'http:' : 'https:';
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`CHROME_PLUS_URL must be http(s):// or ws(s):// (got "${raw}")`);
  return url.origin;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd(),
  );
}

const when = (iso: unknown) => (typeof iso === 'string' ? iso.slice(0, 16).replace('T', ' ') : '-');

function whole(name: string, raw: string | undefined, min: number, max: number): number {
  const value = Number(raw);
  if (raw === undefined || !/^\d+$/.test(raw) || value < min || value > max)
    throw new UsageError(`${name} must be a whole number from ${min} to ${max} (got "${raw ?? ''}")`);
  return value;
}

/** Runs one command; returns the exit code. */
export async function runAdmin(argv: string[], io: AdminIO): Promise<number> {
  try {
    await run(argv, io);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`admin: ${error.message} (npm run admin -- --help)`);
      return 2;
    }
    if (error instanceof RequestError) {
      io.err(`admin: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

async function run(argv: string[], io: AdminIO): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        admin: { type: 'boolean' },
        'password-stdin': { type: 'boolean' },
        yes: { type: 'boolean' },
        json: { type: 'boolean' },
        device: { type: 'string' },
        'tokens-per-day': { type: 'string' },
        user: { type: 'string' },
        days: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  }
  try {
    parsed = parse();
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    if (values.help) {
      io.out(usage);
      return;
    }
    throw new UsageError('no command given');
  }
  const [group, action, name, ...extra] = positionals;
  const command = `${group}${action === undefined ? '' : ` ${action}`}`;
  const allowed: Record<string, { name: boolean; options: string[] }> = {
    'users add': { name: true, options: ['admin', 'password-stdin'] },
    'users password': { name: true, options: ['password-stdin'] },
    'users list': { name: false, options: ['json'] },
    'users disable': { name: true, options: [] },
    'users enable': { name: true, options: [] },
    'users delete': { name: true, options: ['yes'] },
    'tokens create': { name: true, options: ['device'] },
    'tokens list': { name: true, options: ['json'] },
    'tokens revoke': { name: true, options: ['device'] },
    'quota set': { name: true, options: ['tokens-per-day'] },
  };
  const isUsage = group === 'usage';
  const isExport = group === 'export';
  const shape = isUsage
    ? { name: false, options: ['user', 'days', 'json'] }
    : isExport
      ? { name: false, options: [] }
      : allowed[command];
  if (shape === undefined) throw new UsageError(`unknown command "${positionals.join(' ')}"`);
  const rest = isUsage
    ? positionals.slice(1)
    : isExport
      ? positionals.slice(2)
      : positionals.slice(shape.name ? 3 : 2);
  if (isExport && action === undefined) throw new UsageError('export needs a user NAME');
  if (!isUsage && shape.name && name === undefined) throw new UsageError(`${command} needs a user NAME`);
  if (rest.length > 0 || (extra.length > 0 && shape.name))
    throw new UsageError(`unexpected "${rest.join(' ')}"`);
  for (const option of Object.keys(values))
    if (!shape.options.includes(option))
      throw new UsageError(`${isUsage || isExport ? group : command} takes no --${option}`);

  // Read before any request: a password never travels on the command line (ps, shell history).
  let password: string | undefined;
  if (command === 'users password' && !values['password-stdin'])
    throw new UsageError('users password needs --password-stdin (the password is read from stdin)');
  if (values['password-stdin']) {
    if (io.readStdin === undefined) throw new UsageError('--password-stdin: no standard input here');
    // One line, as `echo secret |` or a file gives it: the final line break is not part of it.
    password = (await io.readStdin()).replace(/\r?\n$/, '');
    if (password === '') throw new UsageError('--password-stdin: standard input was empty');
    if (/[\r\n]/.test(password)) throw new UsageError('--password-stdin: the password is one line');
  }

  if (command === 'users delete' && !values.yes)
    throw new UsageError(
      `users delete removes ${name} with their device tokens, conversations and messages for good: add --yes`,
    );

  const token = io.env.ADMIN_TOKEN?.trim();
  if (token === undefined || token === '')
    throw new UsageError("set ADMIN_TOKEN (the gateway's ADMIN_TOKEN, or an admin user's device token)");
  const base = baseUrl(io.env.CHROME_PLUS_URL?.trim() || 'http://127.0.0.1:8787');

  async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      response = await io.fetch(`${base}/v1/admin/${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new RequestError(
        `cannot reach the gateway at ${base} (${cause}): is it running? CHROME_PLUS_URL?`,
      );
    }
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // A proxy's HTML page, say: the status says enough.
    }
    if (!response.ok) {
      const reason = typeof json.message === 'string' ? json.message : `HTTP ${response.status}`;
      throw new RequestError(`refused (${response.status}): ${reason}`);
    }
    return json;
  }
  const user = encodeURIComponent(name ?? '');
  const device = () => {
    if (values.device === undefined || values.device.trim() === '')
      throw new UsageError(`${command} needs --device DEVICE`);
    return values.device;
  };

  if (isExport) {
    // `export NAME`: the name is the second word.
    const answer = await call('GET', `users/${encodeURIComponent(action ?? '')}/conversations`);
    io.out(JSON.stringify(answer, null, 2));
    return;
  }
  switch (isUsage ? 'usage' : command) {
    case 'users add':
      await call('POST', 'users', {
        name,
        admin: values.admin === true,
        ...(password !== undefined && { password }),
      });
      io.out(
        `added ${values.admin ? 'admin' : 'user'} ${name}${password === undefined ? '' : ', who may sign in with a password'}`,
      );
      return;
    case 'users password':
      await call('PUT', `users/${user}/password`, { password });
      io.out(`set the password of ${name}`);
      return;
    case 'users list': {
      const { users } = (await call('GET', 'users')) as { users: Record<string, unknown>[] };
      if (values.json) return io.out(JSON.stringify(users, null, 2));
      const rows = users.map((entry) => [
        String(entry.name),
        String(entry.role),
        entry.source === 'AUTH_TOKENS' ? 'AUTH_TOKENS' : entry.disabled ? 'disabled' : 'active',
        entry.tokensPerDay == null ? '-' : String(entry.tokensPerDay),
        when(entry.createdAt),
        when(entry.lastSeenAt),
      ]);
      for (const line of table([['NAME', 'ROLE', 'STATUS', 'TOKENS/DAY', 'CREATED', 'LAST SEEN'], ...rows]))
        io.out(line);
      return;
    }
    case 'users disable':
    case 'users enable':
      await call('POST', `users/${user}/${action}`);
      io.out(`${action}d ${name}`);
      return;
    case 'users delete': {
      const removed = await call('DELETE', `users/${user}`);
      io.out(
        `deleted ${name} with ${removed.deviceTokens} device tokens, ${removed.conversations} conversations and ${removed.messages} messages; their open sockets close within seconds`,
      );
      return;
    }
    case 'tokens create': {
      const answer = await call('POST', `users/${user}/tokens`, { device: device() });
      io.out(`device token for ${name} on "${values.device}" (shown this once; store it now):`);
      io.out(String(answer.token));
      return;
    }
    case 'tokens list': {
      const { tokens } = (await call('GET', `users/${user}/tokens`)) as { tokens: Record<string, unknown>[] };
      if (values.json) return io.out(JSON.stringify(tokens, null, 2));
      const rows = tokens.map((entry) => [
        String(entry.device),
        entry.revokedAt == null ? 'live' : `revoked ${when(entry.revokedAt)}`,
        when(entry.createdAt),
        when(entry.lastUsedAt),
      ]);
      for (const line of table([['DEVICE', 'STATUS', 'CREATED', 'LAST USED'], ...rows])) io.out(line);
      return;
    }
    case 'tokens revoke':
      await call('DELETE', `users/${user}/tokens/${encodeURIComponent(device())}`);
      io.out(`revoked the token of ${name} on "${values.device}"`);
      return;
    case 'quota set': {
      const raw = values['tokens-per-day'];
      if (raw === undefined)
        throw new UsageError('quota set needs --tokens-per-day N (0 or none removes it)');
      const tokensPerDay = raw === 'none' ? 0 : whole('--tokens-per-day', raw, 0, 1e15);
      await call('PUT', `users/${user}/quota`, { tokensPerDay: tokensPerDay === 0 ? null : tokensPerDay });
      io.out(tokensPerDay === 0 ? `${name} has no daily budget` : `${name}: ${tokensPerDay} tokens a day`);
      return;
    }
    case 'usage': {
      const days = values.days === undefined ? 7 : whole('--days', values.days, 1, 3660);
      const query = new URLSearchParams({
        days: String(days),
        ...(values.user !== undefined && { user: values.user }),
      });
      const { usage: rows } = (await call('GET', `usage?${query}`)) as {
        usage: Record<string, number | string>[];
      };
      if (values.json) return io.out(JSON.stringify(rows, null, 2));
      if (rows.length === 0) return io.out(`no usage in the last ${days} day${days === 1 ? '' : 's'}`);
      const lines = rows.map((row) => [
        String(row.day),
        String(row.user),
        String(row.model),
        String(row.requests),
        String(row.promptTokens),
        String(row.completionTokens),
        Number(row.estimatedTokens) > 0 ? `${row.estimatedTokens} estimated` : '',
      ]);
      for (const line of table([['DAY', 'USER', 'MODEL', 'REQUESTS', 'PROMPT', 'COMPLETION', ''], ...lines]))
        io.out(line);
      return;
    }
  }
}
