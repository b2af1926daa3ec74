// A command-line client of the wire protocol: sends one message and streams the answer to the terminal. The
// shared client (@chrome-plus/client) reconnects, resumes from the last seq and drops replayed events.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  ChatClient,
  type ConnectionStatus,
  type RequestEvent,
  socketOpener,
  staleCloseCode,
} from '@chrome-plus/client';
import { CloseCode, reconnectCloseCodes } from '@chrome-plus/protocol';
import { WebSocket } from 'ws';
import { readHidden } from './read-hidden.ts';

const usage = `usage: npm run chat -- [options] "your message"

options:
  --url URL        gateway WebSocket URL (default: $CHROME_PLUS_URL or ws://127.0.0.1:8787/v1/ws)
  --model ID       model id (default: the server's default)
  --system TEXT    a system prompt
  --models         list the server's models and exit
  --id ID          request id (default: a new UUID); sending an id again replays its answer
  --quiet          print only the answer

The access token comes from $CHROME_PLUS_TOKEN; when the server asks for one and none is set, it is
asked for on the terminal, without echo. (--token TOKEN still works but is deprecated: a token on the
command line shows in \`ps\` and in your shell's history.)`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    token: { type: 'string' },
    model: { type: 'string' },
    system: { type: 'string' },
    models: { type: 'boolean' },
    id: { type: 'string' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

const text = positionals.join(' ').trim();
if (values.help || (!values.models && text === '')) {
  console.log(usage);
  process.exit(values.help ? 0 : 2);
}
const url = values.url ?? process.env.CHROME_PLUS_URL ?? 'ws://127.0.0.1:8787/v1/ws';
if (values.token !== undefined) {
  console.error(
    'warning: --token is deprecated: other users see it in `ps` and it stays in your shell history. ' +
      'Set CHROME_PLUS_TOKEN instead, or leave both out to be asked for it.',
  );
}
let token = values.token ?? (process.env.CHROME_PLUS_TOKEN?.trim() || undefined);
const id = values.id ?? randomUUID();
const dim = (line: string) => (process.stderr.isTTY ? `\x1b[2m${line}\x1b[0m` : line);
const note = (line: string) => {
  if (!values.quiet) process.stderr.write(`${dim(line)}\n`);
};

let answer = '';
let everConnected = false;
/** Reconnect attempts since the last welcome. */
let failures = 0;
/** The message of the refusal that came before a 4401. */
let refusal = 'unauthorized';
/** The error that failed the last socket, to say why a first connection failed. */
let socketError: Error | undefined;

/** ws's WebSocket, remembering why a socket failed (the shared client only sees the close code). */
class CliWebSocket extends WebSocket {
  constructor(address: string) {
    super(address);
    this.on('error', (error) => {
      socketError = error;
    });
  }
}

function finish(code: number): never {
  process.stdout.write(answer.endsWith('\n') || answer === '' ? '' : '\n');
  process.exit(code);
}

const client = new ChatClient({
  url,
  token,
  openSocket: socketOpener(CliWebSocket),
  clientName: 'chrome-plus-cli',
  backoff: { initialMs: 500, maxMs: 5_000, factor: 2, random: Math.random },
  onStatus: (status) => void onStatus(status),
  onEvent,
  onServerError: (frame) => {
    // A refused hello is told (or the token asked for) when the socket closes.
    if (frame.code === 'unauthorized') refusal = frame.message || refusal;
    else console.error(`error (${frame.code}): ${frame.message}`);
  },
});

async function onStatus(status: ConnectionStatus): Promise<void> {
  const code = status.lastCloseCode;
  switch (status.state) {
    case 'connected': {
      everConnected = true;
      failures = 0;
      const welcome = client.connection.welcome;
      if (welcome) note(`[connected to ${welcome.server} as ${welcome.user}]`);
      if (values.models) await listModels();
      return;
    }
    case 'unauthorized':
      // No token yet, and someone at a terminal: ask once, without echo, then connect again.
      if (token === undefined && process.stdin.isTTY) {
        const typed = await readHidden('token: ');
        if (!typed) process.exit(1);
        token = typed;
        client.connection.configure({ url, token });
        return;
      }
      console.error(`the server refused the token (${refusal}): set CHROME_PLUS_TOKEN`);
      process.exit(1);
      return;
    case 'offline':
      if (!everConnected) {
        console.error(
          `cannot connect to ${url}: ${socketError?.message ?? `closed with ${code}`}\n` +
            'Is the server running? Start it with: npm start',
        );
        process.exit(1);
      }
      // Refusals of this client's own frames (binary, too large, a flood): trying again would repeat them.
      if (
        code !== undefined &&
        !reconnectCloseCodes.includes(code) &&
        code !== CloseCode.normal &&
        code !== staleCloseCode
      ) {
        console.error(`connection closed (${code})`);
        process.exit(1);
      }
      if (++failures > 8) {
        console.error('gave up reconnecting');
        process.exit(1);
      }
      note(`[connection lost (${code}); reconnecting in ${(status.retryAt ?? Date.now()) - Date.now()} ms]`);
      return;
    default:
      return;
  }
}

async function listModels(): Promise<void> {
  const frame = await client.listModels().catch((error: Error) => {
    console.error(`no model list: ${error.message}`);
    process.exit(1);
  });
  for (const model of frame.models) {
    console.log(
      `${model.id === frame.default ? '*' : ' '} ${model.id}  (${model.provider}${model.reasoning ? ', reasoning' : ''}${model.vision ? ', images' : ''})`,
    );
  }
  process.exit(0);
}

/** Each event of the request once, in seq order: the client has deduplicated and resumed. */
function onEvent(event: RequestEvent): void {
  switch (event.type) {
    case 'chat.accepted':
      note(`[request ${event.id} accepted]`);
      return;
    case 'chat.delta':
      if (event.reasoning) process.stderr.write(dim(event.reasoning));
      if (event.text) {
        answer += event.text;
        process.stdout.write(event.text);
      }
      return;
    case 'chat.restart':
      answer = '';
      note('\n[the generation restarted; the answer starts over]');
      return;
    case 'chat.done':
      note(
        `\n[done: ${event.finishReason}, ${event.model}${event.usage ? `, ${event.usage.promptTokens}+${event.usage.completionTokens} tokens` : ''}]`,
      );
      finish(0);
      return;
    case 'chat.cancelled':
      note('\n[cancelled]');
      finish(1);
      return;
    case 'chat.error':
      console.error(
        `\nerror (${event.code}): ${event.message}${event.retryAfterMs ? ` (retry in ${Math.ceil(event.retryAfterMs / 1000)} s)` : ''}`,
      );
      finish(1);
      return;
  }
}

// `npm run chat -- ... | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
process.on('SIGINT', () => {
  note('\n[interrupted: the answer goes on on the server; resume with --id]');
  process.exit(130);
});
if (!values.models) {
  // Goes out once connected; after a reconnect the client resumes it from the last seq it saw.
  client.send({
    type: 'chat.send',
    id,
    messages: [
      ...(values.system ? [{ role: 'system' as const, content: values.system }] : []),
      { role: 'user', content: text },
    ],
    ...(values.model && { model: values.model }),
  });
}
client.start();
