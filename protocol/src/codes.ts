// Close codes and constants of the wire contract, named once for both sides.

export const PROTOCOL_PATH = '/v1/ws';
export const FILES_PATH = '/v1/files';

export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  binaryFrame: 1003,
  policy: 1008,
  tooLarge: 1009,
  internal: 1011,
  serviceRestart: 1012,
  overloaded: 1013,
  unauthorized: 4401,
  helloTimeout: 4408,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Close codes after which a client should reconnect and resume its unfinished requests. */
export const reconnectCloseCodes: readonly number[] = [
  CloseCode.goingAway,
  CloseCode.internal,
  CloseCode.serviceRestart,
  CloseCode.overloaded,
  1006, // abnormal closure (network loss): never sent, only observed
];

/** How long a client has to send `hello`. */
export const HELLO_TIMEOUT_MS = 5_000;
