// Lets the orchestrator ask a service for a full garbage collection (SIGUSR2), so that memory per idle socket
// counts what the sockets hold, not garbage the handshakes left behind. Needs `node --expose-gc`. After the
// collection the service prints {"memory":{rss,heapUsed,external,arrayBuffers}} (bytes) on stdout.
const collect = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => {
  collect?.();
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ memory: { rss, heapUsed, external, arrayBuffers } })}\n`);
});
