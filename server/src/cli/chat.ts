// A command-line client of the wire protocol: sends one message and streams the answer to the terminal,
// reconnecting and resuming from the last seq if the connection drops.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CloseCode, parseServerFrame, reconnectCloseCodes, type ServerFrame } from '@chrome-plus/protocol';
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

let last = 0;
let sent = false;
let attempt = 0;
let answer = '';

function finish(code: number): never {
  process.stdout.write(answer.endsWith('\n') || answer === '' ? '' : '\n');
  process.exit(code);
}

function connect(): void {
  const socket = new WebSocket(url);
  socket.on('open', () => {
    attempt = 0;
    socket.send(
      JSON.stringify({ type: 'hello', client: 'chrome-plus-cli', ...(token !== undefined && { token }) }),
    );
  });
  socket.on('message', (data) => {
    const parsed = parseServerFrame(data.toString());
    if (parsed.ok !== true) return; // unknown or malformed frames are ignored, as the protocol asks
    handle(socket, parsed.frame);
  });
  socket.on('close', (code, reason) => {
    if (code === CloseCode.unauthorized) {
      // No token yet, and someone at a terminal: ask once, without echo, then connect again.
      if (token === undefined && process.stdin.isTTY) {
        void readHidden('token: ').then((typed) => {
          if (!typed) process.exit(1);
          token = typed;
          connect();
        });
        return;
      }
      console.error(
        `the server refused the token (${reason.toString() || 'unauthorized'}): set CHROME_PLUS_TOKEN`,
      );
      process.exit(1);
    }
    if (!reconnectCloseCodes.includes(code) && code !== 1000) {
      console.error(`connection closed (${code} ${reason.toString()})`);
      process.exit(1);
    }
    attempt++;
    if (attempt > 8) {
      console.error('gave up reconnecting');
      process.exit(1);
    }
    const delay = Math.min(250 * 2 ** attempt, 5_000) * (0.5 + Math.random() / 2);
    note(`[connection lost (${code}); reconnecting in ${Math.round(delay)} ms]`);
    setTimeout(connect, delay);
  });
  socket.on('error', (error) => {
    if (attempt === 0 && !sent) {
      console.error(
        `cannot connect to ${url}: ${error.message}\nIs the server running? Start it with: npm start`,
      );
      process.exit(1);
    }
  });
}

function handle(socket: WebSocket, frame: ServerFrame): void {
  switch (frame.type) {
    case 'welcome':
      note(`[connected to ${frame.server} as ${frame.user}]`);
      if (values.models) {
        socket.send(JSON.stringify({ type: 'models.list' }));
      } else if (!sent) {
        sent = true;
        const messages = [
          ...(values.system ? [{ role: 'system', content: values.system }] : []),
          { role: 'user', content: text },
        ];
        socket.send(
          JSON.stringify({ type: 'chat.send', id, messages, ...(values.model && { model: values.model }) }),
        );
      } else {
        socket.send(JSON.stringify({ type: 'chat.resume', id, after: last }));
      }
      return;
    case 'models':
      for (const model of frame.models) {
        console.log(
          `${model.id === frame.default ? '*' : ' '} ${model.id}  (${model.provider}${model.reasoning ? ', reasoning' : ''}${model.vision ? ', images' : ''})`,
        );
      }
      process.exit(0);
      return;
    case 'chat.accepted':
      note(`[request ${frame.id} accepted]`);
      return;
    case 'chat.delta':
      if (frame.seq <= last) return;
      last = frame.seq;
      if (frame.reasoning) process.stderr.write(dim(frame.reasoning));
      if (frame.text) {
        answer += frame.text;
        process.stdout.write(frame.text);
      }
      return;
    case 'chat.restart':
      last = frame.seq;
      answer = '';
      note('\n[the generation restarted; the answer starts over]');
      return;
    case 'chat.done':
      note(
        `\n[done: ${frame.finishReason}, ${frame.model}${frame.usage ? `, ${frame.usage.promptTokens}+${frame.usage.completionTokens} tokens` : ''}]`,
      );
      finish(0);
      return;
    case 'chat.cancelled':
      note('\n[cancelled]');
      finish(1);
      return;
    case 'chat.error':
      console.error(
        `\nerror (${frame.code}): ${frame.message}${frame.retryAfterMs ? ` (retry in ${Math.ceil(frame.retryAfterMs / 1000)} s)` : ''}`,
      );
      finish(1);
      return;
    case 'error':
      // A refused hello is told (or the token asked for) when the socket closes.
      if (frame.code === 'unauthorized') return;
      console.error(`error (${frame.code}): ${frame.message}`);
      return;
    case 'pong':
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
connect();
