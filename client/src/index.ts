// The Chrome Plus protocol client, for any runtime: it takes a WebSocket class and touches no DOM and no Node API.
export {
  type AnswerError,
  type AnswerState,
  type AnswerStatus,
  applyAnswerEvent,
  emptyAnswer,
} from './answer.ts';
export { type BackoffOptions, backoffDelay, defaultBackoffOptions } from './backoff.ts';
export { ChatClient, type ChatClientOptions, type RequestEvent } from './chat-client.ts';
export {
  Connection,
  type ConnectionOptions,
  type ConnectionSettings,
  type ConnectionState,
  type ConnectionStatus,
  staleCloseCode,
} from './connection.ts';
export { RequestTracker, type TrackVerdict } from './request-tracker.ts';
export {
  type OpenSocket,
  type SocketHandle,
  type SocketHandlers,
  socketOpener,
  type WebSocketClass,
  type WebSocketLike,
} from './socket.ts';
export { type ConnectionTestOptions, type ConnectionTestResult, testConnection } from './test-connection.ts';
export {
  type BatchLimits,
  batchMessage,
  defaultBatchLimits,
  languageName,
  type PageBlock,
  parseTranslations,
  planBatches,
  translationLanguages,
  translationSystemPrompt,
} from './translation-batches.ts';
