// A WebSocket client written at the byte level, so that a test can send what no well-behaved library would:
// invalid UTF-8, reserved bits, unknown opcodes, unmasked or lying frames. It also reads the server's frames.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RawFrame {
  opcode: number;
  payload: Buffer;
  /** Default true. */
  fin?: boolean;
  /** Default true (clients must mask). */
  mask?: boolean;
  /** The three reserved bits, 0-7 (default 0). */
  rsv?: number;
  /** Announce this payload length instead of the real one (a lying frame). */
  claimedLength?: number;
}

export const Opcode = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

export function encodeFrame(frame: RawFrame): Buffer {
  const length = frame.claimedLength ?? frame.payload.length;
  const masked = frame.mask ?? true;
  const header: number[] = [
    ((frame.fin ?? true) ? 0x80 : 0) | ((frame.rsv ?? 0) << 4) | (frame.opcode & 0x0f),
  ];
  const maskBit = masked ? 0x80 : 0;
  let extended: Buffer;
  if (length < 126) {
    header.push(maskBit | length);
    extended = Buffer.alloc(0);
  } else if (length < 65_536) {
    header.push(maskBit | 126);
    extended = Buffer.alloc(2);
    extended.writeUInt16BE(length);
  } else {
    header.push(maskBit | 127);
    extended = Buffer.alloc(8);
    extended.writeBigUInt64BE(BigInt(length));
  }
  if (!masked) return Buffer.concat([Buffer.from(header), extended, frame.payload]);
  const key = randomBytes(4);
  const body = Buffer.alloc(frame.payload.length);
  for (let index = 0; index < body.length; index++) body[index] = frame.payload[index]! ^ key[index % 4]!;
  return Buffer.concat([Buffer.from(header), extended, key, body]);
}

export class RawWebSocket {
  /** Text frames received, as strings. */
  readonly texts: string[] = [];
  /** The close code the server sent (1005 when its close frame had none), or undefined. */
  closeCode: number | undefined;
  /** True once the TCP connection ended. */
  ended = false;
  readonly done: Promise<void>;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly socket: Socket;
  /** Called for each text frame. */
  onText: ((text: string) => void) | undefined;

  private constructor(socket: Socket, rest: Buffer) {
    this.socket = socket;
    this.done = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        resolve();
      }),
    );
    socket.on('data', (chunk: Buffer) => this.parse(chunk));
    if (rest.length > 0) this.parse(rest);
  }

  /** Opens a TCP connection and performs the upgrade; rejects with the HTTP status line when refused. */
  static connect(
    port: number,
    options: { path?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<RawWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      let head = Buffer.alloc(0);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('upgrade timed out'));
      }, options.timeoutMs ?? 5_000);
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once('connect', () => {
        const headers = {
          Host: `127.0.0.1:${port}`,
          Upgrade: 'websocket',
          Connection: 'Upgrade',
          'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
          'Sec-WebSocket-Version': '13',
          ...options.headers,
        };
        socket.write(
          `GET ${options.path ?? '/v1/ws'} HTTP/1.1\r\n${Object.entries(headers)
            .map(([name, value]) => `${name}: ${value}\r\n`)
            .join('')}\r\n`,
        );
      });
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        clearTimeout(timer);
        socket.off('data', onData);
        const statusLine = head.subarray(0, head.indexOf('\r\n')).toString();
        if (!statusLine.includes(' 101 ')) {
          socket.destroy();
          reject(new Error(`upgrade refused: ${statusLine}`));
          return;
        }
        socket.removeAllListeners('error');
        socket.on('error', () => {});
        resolve(new RawWebSocket(socket, head.subarray(end + 4)));
      };
      socket.on('data', onData);
    });
  }

  private parse(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = this.buffer[0]! & 0x0f;
      let length = this.buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) return;
      const payload = this.buffer.subarray(offset, offset + length);
      this.buffer = this.buffer.subarray(offset + length);
      if (opcode === Opcode.text) {
        const text = payload.toString('utf8');
        this.texts.push(text);
        this.onText?.(text);
      } else if (opcode === Opcode.close) {
        this.closeCode ??= payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      } else if (opcode === Opcode.ping) {
        this.send({ opcode: Opcode.pong, payload: Buffer.from(payload) });
      }
    }
  }

  send(frame: RawFrame): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(encodeFrame(frame));
  }

  sendText(text: string | Buffer): void {
    this.send({ opcode: Opcode.text, payload: typeof text === 'string' ? Buffer.from(text, 'utf8') : text });
  }

  /** Writes raw bytes on the TCP connection. */
  writeBytes(bytes: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  /** Bytes written but not yet taken by the kernel: they pile up when the peer stops reading. */
  get unsentBytes(): number {
    return this.socket.writableLength;
  }

  /** Stops reading from the TCP connection: the server's writes pile up in the kernel, then in its own buffer. */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
