// The Kubernetes manifests (deploy/kubernetes) hold what can be checked without a cluster: every file parses, each
// overlay renders, every container has probes on the ports the roles serve, requests and limits, a non-root read-only
// security context, time to drain before SIGKILL; every variable is one .env.example documents and the server accepts;
// secrets only in the Secret; the workers scale on the queue's real Redis keys. kubectl is not needed: a small renderer
// below follows kustomization.yaml (resources, a ConfigMap generator, namespace); where kubectl is installed, its own
// `kubectl kustomize` output passes the same checks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '@chrome-plus/testkit';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config.ts';
import { createKeys, QUEUE_NAME } from '../../src/generations/keys.ts';

const root = join(repoRoot, 'deploy/kubernetes');
const overlays = ['sentinel', 'cluster', 'single-node'] as const;
const SECRET_NAME = 'chrome-plus-secrets';
/** What must never sit in a ConfigMap. */
const secretLike = /TOKEN|PASSWORD|API_KEY|^DATABASE_URL$/;

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: a manifest's spec is whatever its kind says; the checks read it.
  spec?: any;
  data?: Record<string, string>;
}

interface Probe {
  httpGet?: { path?: string; port?: string | number };
}

interface Container {
  name: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command?: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}

const read = (path: string) => readFileSync(path, 'utf8');

function filesUnder(directory: string, out: string[] = []): string[] {
  for (const entry of readdirSync(directory).sort()) {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) filesUnder(path, out);
    else out.push(path);
  }
  return out;
}

function parseYaml(path: string): Manifest[] {
  return parseAllDocuments(read(path)).map((document) => {
    assert.deepEqual(document.errors, [], `${relative(repoRoot, path)}: ${document.errors.join('; ')}`);
    return document.toJS() as Manifest;
  });
}

/** KEY=value lines, as kustomize's `envs` and `kubectl create secret --from-env-file` read them. */
function parseEnvFile(path: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const [index, line] of read(path).split('\n').entries()) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    assert.ok(match, `${relative(repoRoot, path)}:${index + 1} is not KEY=value: ${line}`);
    assert.ok(!(match[1]! in entries), `${relative(repoRoot, path)}: ${match[1]} twice`);
    entries[match[1]!] = match[2]!;
  }
  return entries;
}

/** kustomize build, for the fields these kustomizations use (anything else fails here rather than being ignored). */
function render(directory: string): Manifest[] {
  const [kustomization] = parseYaml(join(directory, 'kustomization.yaml')) as unknown as [
    {
      namespace?: string;
      resources?: string[];
      configMapGenerator?: { name: string; behavior?: string; envs?: string[]; literals?: string[] }[];
    },
  ];
  const understood = ['apiVersion', 'kind', 'namespace', 'resources', 'configMapGenerator'];
  const unknown = Object.keys(kustomization).filter((key) => !understood.includes(key));
  assert.deepEqual(
    unknown,
    [],
    `${relative(repoRoot, directory)}: teach this test's renderer ${unknown.join(', ')}`,
  );
  const manifests: Manifest[] = [];
  for (const resource of kustomization.resources ?? []) {
    const path = join(directory, resource);
    manifests.push(...(statSync(path).isDirectory() ? render(path) : parseYaml(path)));
  }
  for (const generator of kustomization.configMapGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const envs of generator.envs ?? []) Object.assign(data, parseEnvFile(join(directory, envs)));
    for (const literal of generator.literals ?? []) {
      const [key, ...value] = literal.split('=');
      data[key!] = value.join('=');
    }
    const existing = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === generator.name);
    if (generator.behavior === 'merge') {
      assert.ok(existing, `${relative(repoRoot, directory)}: nothing to merge ${generator.name} into`);
      existing.data = { ...existing.data, ...data };
    } else {
      assert.equal(existing, undefined, `${generator.name} generated twice`);
      manifests.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generator.name }, data });
    }
  }
  if (kustomization.namespace !== undefined) {
    for (const manifest of manifests)
      if (manifest.kind !== 'Namespace') manifest.metadata.namespace = kustomization.namespace;
  }
  return manifests;
}

/** `kubectl kustomize`, where kubectl is installed: the real renderer (generated names carry a hash). */
function kubectlRender(directory: string): Manifest[] | undefined {
  const result = spawnSync('kubectl', ['kustomize', directory], { encoding: 'utf8', timeout: 60_000 });
  if (result.error !== undefined) return undefined;
  assert.equal(result.status, 0, result.stderr);
  return parseAllDocuments(result.stdout).map((document) => document.toJS() as Manifest);
}
const kubectlMissing = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).error
  ? 'kubectl is not installed: only this test renderer is checked'
  : false;

const envExample = read(join(repoRoot, '.env.example'));
const documented = (name: string) => new RegExp(`^${name}=`, 'm').test(envExample);
const secretKeys = parseEnvFile(join(root, 'secrets.env.example'));

const find = (manifests: Manifest[], kind: string, name: string) =>
  manifests.find((m) => m.kind === kind && m.metadata.name === name);
const workloads = (manifests: Manifest[]) => manifests.filter((m) => m.kind === 'Deployment');
const containersOf = (workload: Manifest) => workload.spec.template.spec.containers as Container[];

/** The environment a container starts with: its ConfigMaps, the Secret (as secrets.env.example fills it), its env. */
function environmentOf(manifests: Manifest[], container: Container): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef !== undefined) {
      const map = find(manifests, 'ConfigMap', source.configMapRef.name);
      assert.ok(map, `${container.name}: no ConfigMap ${source.configMapRef.name}`);
      Object.assign(environment, map.data);
    }
    if (source.secretRef !== undefined) {
      assert.equal(source.secretRef.name, SECRET_NAME);
      Object.assign(environment, secretKeys);
    }
  }
  for (const variable of container.env ?? []) environment[variable.name] = variable.value ?? '';
  return environment;
}

function portOf(container: Container, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((candidate) => candidate.name === port)?.containerPort;
}

function checkRendered(mode: (typeof overlays)[number], manifests: Manifest[]): void {
  const gateway = find(manifests, 'Deployment', 'chrome-plus-gateway');
  const worker = find(manifests, 'Deployment', 'chrome-plus-worker');
  assert.ok(gateway && worker, `${mode}: ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`);
  assert.ok(
    manifests.every((m) => m.kind === 'Namespace' || m.metadata.namespace === 'chrome-plus'),
    'one namespace',
  );
  assert.equal(
    manifests.filter((m) => m.kind === 'Secret').length,
    0,
    'no Secret in the manifests: it is made from secrets.env, outside the repository',
  );

  for (const workload of workloads(manifests)) {
    const pod = workload.spec.template.spec;
    assert.equal(pod.automountServiceAccountToken, false, `${workload.metadata.name} needs no API token`);
    for (const container of containersOf(workload)) {
      const where = `${workload.metadata.name}/${container.name}`;
      const role = container.args?.[0];
      assert.ok(role === 'gateway' || role === 'worker', `${where}: args start with the role`);
      const environment = environmentOf(manifests, container);
      const config = loadConfig({ ...environment, AUTH_TOKENS: 'alice:a-long-enough-token' });
      // The probes ask the port the role serves its health on: the gateway's PORT, the worker's WORKER_PORT.
      const healthPort = role === 'gateway' ? config.port : config.workerPort;
      assert.ok(healthPort > 0, `${where}: ${role === 'gateway' ? 'PORT' : 'WORKER_PORT'} is set`);
      assert.equal(container.readinessProbe?.httpGet?.path, '/readyz', `${where}: readiness on /readyz`);
      assert.equal(container.livenessProbe?.httpGet?.path, '/healthz', `${where}: liveness on /healthz`);
      assert.equal(
        portOf(container, container.readinessProbe.httpGet.port),
        healthPort,
        `${where}: readiness port`,
      );
      assert.equal(
        portOf(container, container.livenessProbe.httpGet.port),
        healthPort,
        `${where}: liveness port`,
      );

      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) {
          assert.ok(container.resources?.[kind]?.[resource], `${where}: ${kind}.${resource}`);
        }
      }
      const runAsNonRoot = container.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
      assert.equal(runAsNonRoot, true, `${where}: runAsNonRoot`);
      const user = pod.securityContext?.runAsUser as number | undefined;
      assert.ok(user !== undefined && user > 0, `${where}: a numeric non-root user (the image's is a name)`);
      assert.equal(container.securityContext?.readOnlyRootFilesystem, true, `${where}: read-only root`);
      assert.equal(container.securityContext?.allowPrivilegeEscalation, false, `${where}: no escalation`);
      assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL'], `${where}: no capabilities`);
      const tmp = container.volumeMounts?.find((mount) => mount.mountPath === '/tmp');
      const tmpVolume = (pod.volumes as { name: string; emptyDir?: object }[]).find(
        (v) => v.name === tmp?.name,
      );
      assert.ok(tmpVolume?.emptyDir, `${where}: /tmp is a writable emptyDir`);

      // SIGKILL must not come before the process is done: the preStop pause, then the role's shutdown, which the
      // process itself cuts SHUTDOWN_GRACE_MS + 10 s after SIGTERM (server/src/main.ts).
      const preStop = container.lifecycle?.preStop;
      const preStopSeconds =
        preStop?.sleep?.seconds ??
        (preStop?.exec?.command?.[0] === 'sleep'
          ? Number(preStop.exec.command[1])
          : preStop
            ? Number.NaN
            : 0);
      const needed = preStopSeconds + (config.shutdownGraceMs + 10_000) / 1000;
      assert.ok(
        pod.terminationGracePeriodSeconds > needed,
        `${where}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} must exceed ${needed}`,
      );
      if (role === 'gateway') {
        assert.ok(
          preStopSeconds >= 5,
          `${where}: a preStop pause, so that no new socket lands while it drains`,
        );
      }

      // Every name is one .env.example documents; secrets come from the Secret only.
      for (const variable of container.env ?? []) {
        assert.ok(documented(variable.name), `${where}: env ${variable.name} is not in .env.example`);
        assert.ok(!secretLike.test(variable.name) || variable.valueFrom, `${where}: ${variable.name} inline`);
      }
      assert.ok(
        (container.envFrom ?? []).some((source) => source.secretRef?.name === SECRET_NAME),
        `${where}: reads the Secret ${SECRET_NAME}`,
      );
    }
  }

  for (const map of manifests.filter((m) => m.kind === 'ConfigMap')) {
    for (const key of Object.keys(map.data ?? {})) {
      assert.ok(documented(key), `ConfigMap ${map.metadata.name}: ${key} is not in .env.example`);
      assert.ok(
        !secretLike.test(key),
        `ConfigMap ${map.metadata.name}: ${key} is a secret, it goes in the Secret`,
      );
    }
  }

  // Redis as the overlay says, and only that way.
  const workerContainer = containersOf(worker)[0]!;
  const environment = environmentOf(manifests, workerContainer);
  const config = loadConfig({ ...environment, AUTH_TOKENS: 'alice:a-long-enough-token' });
  const expectedMode = { sentinel: 'sentinel', cluster: 'cluster', 'single-node': 'single' }[mode];
  assert.equal(config.redis.mode, expectedMode, `${mode}: the server reads Redis as ${expectedMode}`);

  // Workers scale on the queue: the ScaledObject names the worker Deployment and BullMQ's own lists.
  const scaled = manifests.filter((m) => m.kind === 'ScaledObject');
  assert.equal(scaled.length, 1, `${mode}: one ScaledObject`);
  const scaledObject = scaled[0]!;
  assert.equal(scaledObject.spec.scaleTargetRef.name, worker.metadata.name);
  assert.equal(scaledObject.spec.envSourceContainerName, workerContainer.name);
  assert.ok(scaledObject.spec.minReplicaCount >= 2, 'two workers at least');
  const queue = `${createKeys(environment.KEY_PREFIX || 'cp').queuePrefix}:${QUEUE_NAME}`;
  const triggers = scaledObject.spec.triggers as { type: string; metadata: Record<string, string> }[];
  const expectedType = { sentinel: 'redis-sentinel', cluster: 'redis-cluster', 'single-node': 'redis' }[mode];
  assert.deepEqual(triggers.map((trigger) => [trigger.type, trigger.metadata.listName]).sort(), [
    [expectedType, `${queue}:active`],
    [expectedType, `${queue}:wait`],
  ]);
  const active = triggers.find((trigger) => trigger.metadata.listName?.endsWith(':active'))!;
  assert.ok(
    Number(active.metadata.listLength) <= config.workerConcurrency,
    'active jobs per worker ≤ concurrency',
  );
  for (const trigger of triggers) {
    for (const [key, name] of Object.entries(trigger.metadata).filter(([key]) => key.endsWith('FromEnv'))) {
      assert.ok(name in environment, `${mode}: KEDA's ${key} ${name} is not in the worker's environment`);
      assert.ok(documented(name), `${mode}: ${name} is not in .env.example`);
    }
  }

  // The Ingress: nginx, long timeouts for sockets, only /v1/ out, to a Service that selects the gateways.
  const ingress = manifests.find((m) => m.kind === 'Ingress');
  assert.ok(ingress);
  assert.equal(ingress.spec.ingressClassName, 'nginx');
  const annotations = ingress.metadata.annotations ?? {};
  for (const timeout of ['proxy-read-timeout', 'proxy-send-timeout']) {
    assert.ok(Number(annotations[`nginx.ingress.kubernetes.io/${timeout}`]) >= 3600, `${timeout} ≥ an hour`);
  }
  const paths = ingress.spec.rules.flatMap(
    (rule: {
      http: { paths: { path: string; backend: { service: { name: string; port: { name: string } } } }[] };
    }) => rule.http.paths,
  );
  for (const path of paths) {
    assert.ok(path.path.startsWith('/v1/'), `the Ingress publishes ${path.path}: only /v1/ goes out`);
    const service = find(manifests, 'Service', path.backend.service.name);
    assert.ok(service, `the Ingress's Service ${path.backend.service.name}`);
    const gatewayLabels = gateway.spec.template.metadata.labels as Record<string, string>;
    assert.ok(Object.entries(service.spec.selector).every(([key, value]) => gatewayLabels[key] === value));
    assert.ok(
      service.spec.ports.some((port: { name: string }) => port.name === path.backend.service.port.name),
    );
  }

  // A disruption budget for each Deployment; the gateways' scaler targets the gateways.
  for (const workload of workloads(manifests)) {
    const labels = workload.spec.template.metadata.labels as Record<string, string>;
    const budget = manifests.find(
      (m) =>
        m.kind === 'PodDisruptionBudget' &&
        Object.entries(m.spec.selector.matchLabels as Record<string, string>).every(
          ([k, v]) => labels[k] === v,
        ),
    );
    assert.ok(budget, `${workload.metadata.name} has a PodDisruptionBudget`);
    assert.equal(
      workload.spec.replicas,
      undefined,
      `${workload.metadata.name}: its autoscaler owns the count`,
    );
  }
  const hpa = manifests.find((m) => m.kind === 'HorizontalPodAutoscaler');
  assert.equal(hpa?.spec.scaleTargetRef.name, gateway.metadata.name);
}

test('every file under deploy/kubernetes parses', () => {
  const files = filesUnder(root);
  assert.ok(files.length >= 10, `files: ${files.length}`);
  for (const file of files) {
    if (file.endsWith('.yaml')) parseYaml(file);
    else if (file.endsWith('.env') || file.endsWith('.env.example')) parseEnvFile(file);
    else assert.fail(`${relative(repoRoot, file)}: not YAML nor an env file`);
  }
});

test('the Secret: secrets only, each documented in .env.example', () => {
  for (const key of Object.keys(secretKeys)) assert.ok(documented(key), `${key} is not in .env.example`);
  for (const key of ['AUTH_TOKENS', 'ADMIN_TOKEN', 'DATABASE_URL', 'OPENAI_API_KEY', 'DEEPSEEK_API_KEY']) {
    assert.ok(key in secretKeys, `${key} belongs in the Secret`);
  }
  assert.ok(
    Object.keys(secretKeys).every((key) => secretLike.test(key)),
    'only secrets in the Secret',
  );
});

describe('each overlay, rendered by this test', () => {
  for (const mode of overlays) {
    test(mode, () => checkRendered(mode, render(join(root, 'overlays', mode))));
  }
});

describe('each overlay, rendered by kubectl kustomize', { skip: kubectlMissing }, () => {
  for (const mode of overlays) {
    test(mode, () => {
      const rendered = kubectlRender(join(root, 'overlays', mode));
      assert.ok(rendered);
      checkRendered(mode, rendered);
      // The same objects as this test's renderer, generated names aside.
      const names = (manifests: Manifest[]) =>
        manifests.map((m) => `${m.kind}/${m.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`).sort();
      assert.deepEqual(names(rendered), names(render(join(root, 'overlays', mode))));
    });
  }
});
