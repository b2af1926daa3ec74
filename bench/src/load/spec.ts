// What the orchestrator asks of a load-generator process, and what it reports back (over the IPC channel).
import type { Summary } from '../stats.ts';

export type Protocol = 'ws' | 'socketio';

interface CommonSpec {
  protocol: Protocol;
  /** ws://127.0.0.1:PORT/v1/ws for `ws`, http://127.0.0.1:PORT for `socketio`. */
  url: string;
  /** Tokens for `hello`, used in turn by the connections (empty: no token). */
  tokens: string[];
  connections: number;
  /** Handshakes in progress at once while connecting. */
  connectParallelism: number;
}

export interface StreamsSpec extends CommonSpec {
  kind: 'streams';
  /** Tokens in each answer, and the model server's pause between them (0: all at once). */
  answerTokens: number;
  intervalMs: number;
  /** First requests start at random times within this span, so that streams do not tick in step. */
  rampMs: number;
  /** Closed loop: each connection sends its next request when the last ends, and the window is measured. */
  warmupMs: number;
  measureMs: number;
  /** One request per connection, every token measured, instead of the closed loop. */
  single?: boolean;
  /** Closed loop: the pause between an answer's end and the connection's next request (a person reading). */
  thinkMs?: number;
  /** How long to wait for the requests in flight when the window ends. */
  drainMs: number;
}

export interface IdleSpec extends CommonSpec {
  kind: 'idle';
  /** Longest wait for the orchestrator's `release` once every socket is open. */
  holdMs: number;
}

export type LoadSpec = StreamsSpec | IdleSpec;

export interface StreamsResult {
  kind: 'streams';
  connected: number;
  connectFailures: number;
  /** Model server emit → client receive, per token, in ms. */
  latency: Summary;
  /** chat.send → first delta, minus the model server's own first-token time, in ms. */
  ttftOverhead: Summary;
  /** chat.send → first delta as the client sees it, in ms. */
  ttft: Summary;
  /** The two parts of the overhead: chat.send → the model server has the request; its first token → the client. */
  requestPath: Summary;
  firstTokenPath: Summary;
  windowMs: number;
  tokensReceived: number;
  requestsCompleted: number;
  tokensPerSecond: number;
  requestsPerSecond: number;
  /** Terminal errors, error frames, seq gaps, and tokens missing from finished answers. */
  errors: number;
  errorCodes: Record<string, number>;
  gaps: number;
  lostTokens: number;
  /** Requests still unfinished after the drain. */
  unfinished: number;
  /** The load generator's own event-loop delay during the run (ms): its share of the measured latency. */
  loadgenLoopDelay: { p50: number; p99: number; max: number };
}

export interface IdleResult {
  kind: 'idle';
  connected: number;
  connectFailures: number;
  connectSeconds: number;
  /** Sockets still open, and answering a ping, when released. */
  stillOpen: number;
  pingsAnswered: number;
  pingsSent: number;
}

export type LoadMessage =
  | { type: 'connected'; connected: number; failures: number }
  | { type: 'window'; phase: 'start' | 'end' }
  | { type: 'result'; result: StreamsResult | IdleResult }
  | { type: 'failed'; message: string };

export type OrchestratorMessage = { type: 'release' };
