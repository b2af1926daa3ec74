// Lets the orchestrator ask a service for a full garbage collection (SIGUSR2), so that memory per idle socket
// counts what the sockets hold, not garbage the handshakes left behind. Needs `node --expose-gc`.
const collect = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => collect?.());
