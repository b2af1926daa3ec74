// The `@chrome-plus/client/testing` entry (Node only): a scripted gateway and `ws` sockets, for the tests of
// anything built on this client.
export {
  type GatewaySocket,
  ScriptedGateway,
  type ScriptedGatewayOptions,
  waitUntil,
} from './scripted-gateway.ts';
export { openWsSocket } from './ws-socket.ts';
