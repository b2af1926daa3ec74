// The container's HEALTHCHECK: exits 0 when this container's role answers /healthz (gateway on PORT, worker on WORKER_PORT).
// One image serves both roles and the check cannot see which one runs, so it asks each port the role may use.

const host = ['', '0.0.0.0', '::'].includes(process.env.HOST?.trim() ?? '')
  ? '127.0.0.1'
  : process.env.HOST!.trim();
const ports = [process.env.PORT?.trim() || '8787', process.env.WORKER_PORT?.trim() || '0'].filter(
  (port) => port !== '0',
);

async function healthy(port: string): Promise<boolean> {
  try {
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/healthz`;
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

Promise.all(ports.map(healthy)).then((results) => process.exit(results.some(Boolean) ? 0 : 1));
