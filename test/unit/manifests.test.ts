/**
 * The deploy manifests against the configuration contract: they parse, their health paths are
 * routes the app serves, every grace period outlasts the drain, every environment name is a real
 * config variable, and the image and pods run as non-root. `docker compose config` runs where the
 * compose plugin exists; where it does not, the test says so.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_DEFAULTS, CONFIG_ENV } from '../../src/config.js';
import { fixture } from '../support/http-fixture.js';
import { REPO_ROOT } from '../support/process.js';

/** main.ts keeps this long past DRAIN_TIMEOUT_MS to close the server and store before exiting. */
const EXIT_GRACE_MS = 2_000;
const CONFIG_VARIABLES = new Set(Object.values(CONFIG_ENV));

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped documents, checked field by field.
type Doc = any;

/** DRAIN_TIMEOUT_MS as a manifest sets it, else the default. */
function drainMs(env: Record<string, unknown>): number {
  const value = env.DRAIN_TIMEOUT_MS;
  return value === undefined ? CONFIG_DEFAULTS.handoff.drainTimeoutMs : Number(value);
}

/** Asserts that GET `path` is served (not 404/405) by the app: a health path that exists. */
async function expectRoute(path: string) {
  const f = fixture();
  const res = await f.app.request(path);
  expect([path, res.status === 200 || res.status === 503]).toEqual([path, true]);
}

/** Compose durations such as `40s`, `1m30s`, in ms. */
function composeDurationMs(text: string): number {
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h)/g)];
  expect(parts.map((m) => m[0]).join('')).toBe(text);
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  return parts.reduce((sum, m) => sum + Number(m[1]) * unit[m[2]!]!, 0);
}

describe('compose.yaml', () => {
  // Compose resolves `<<` merge keys (YAML 1.1); yaml's default 1.2 schema would keep them as keys.
  const compose: Doc = parse(read('compose.yaml'), { merge: true });
  const batons = Object.entries(compose.services as Record<string, Doc>).filter(([name]) =>
    name.startsWith('baton-'),
  );

  it('runs Redis with AOF on and noeviction, two Baton instances and the demo feed', () => {
    const redis = (compose.services.redis.command as string[]).join(' ');
    expect(redis).toContain('--appendonly yes');
    expect(redis).toContain('--maxmemory-policy noeviction');
    expect(batons.map(([name]) => name)).toEqual(['baton-1', 'baton-2']);
    expect(compose.services['demo-feed'].command).toEqual(
      expect.arrayContaining(['dist/src/cli/main.js', 'demo-feed']),
    );
    for (const [, svc] of batons) {
      const port = /ws:\/\/demo-feed:(\d+)\//.exec(svc.environment.UPSTREAM_URL)?.[1];
      expect(compose.services['demo-feed'].command).toContain(port);
      expect(svc.environment.REDIS_URL).toBe('redis://redis:6379');
    }
  });

  it('health checks on /readyz, a route; grace period above DRAIN_TIMEOUT_MS', async () => {
    for (const [name, svc] of batons) {
      const check = (svc.healthcheck.test as string[]).join(' ');
      const path = /127\.0\.0\.1:3333(\/[a-z]+)/.exec(check)?.[1];
      expect([name, path]).toEqual([name, '/readyz']);
      await expectRoute(path!);
      expect(svc.stop_signal).toBe('SIGTERM');
      const grace = composeDurationMs(svc.stop_grace_period);
      expect(grace).toBeGreaterThan(drainMs(svc.environment) + EXIT_GRACE_MS);
      expect(svc.depends_on.redis.condition).toBe('service_healthy');
    }
  });

  it('sets only real config variables', () => {
    for (const [, svc] of batons) {
      for (const name of Object.keys(svc.environment)) {
        expect([name, CONFIG_VARIABLES.has(name)]).toEqual([name, true]);
      }
    }
  });

  it('`docker compose config` accepts it, where the compose plugin can run', () => {
    const version = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
    if (version.status !== 0) {
      // Not a pass in disguise: this names what did not run, and checks why it could not.
      const why = `${version.error?.message ?? ''}${version.stderr}${version.stdout}`.trim();
      console.warn(`docker compose config NOT run: the compose plugin is absent (${why})`);
      expect(why).toMatch(/unknown command|not a docker command|ENOENT|not found/i);
      return;
    }
    const config = spawnSync('docker', ['compose', '-f', 'compose.yaml', 'config', '--quiet'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, ADMIN_TOKEN: 'test-token' },
    });
    expect(config.stderr).toBe('');
    expect(config.status).toBe(0);
  });
});

describe('railway.json', () => {
  const railway: Doc = JSON.parse(read('railway.json'));

  it('builds the Dockerfile and health-checks /readyz, a route', async () => {
    expect(railway.build.builder).toBe('DOCKERFILE');
    expect(railway.build.dockerfilePath).toBe('Dockerfile');
    expect(railway.deploy.healthcheckPath).toBe('/readyz');
    await expectRoute(railway.deploy.healthcheckPath);
  });

  it('overlapSeconds and drainingSeconds are JSON numbers; draining outlasts DRAIN_TIMEOUT_MS', () => {
    // Railway's parser rejects numbers written as strings ("Expected number, received string").
    expect(typeof railway.deploy.overlapSeconds).toBe('number');
    expect(typeof railway.deploy.drainingSeconds).toBe('number');
    expect(railway.deploy.overlapSeconds).toBeGreaterThan(0);
    expect(railway.deploy.drainingSeconds * 1000).toBeGreaterThan(
      CONFIG_DEFAULTS.handoff.drainTimeoutMs + EXIT_GRACE_MS,
    );
  });
});

describe('deploy/kubernetes', () => {
  const dir = join(REPO_ROOT, 'deploy/kubernetes');
  const docs: Doc[] = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => {
        expect([f, d.errors]).toEqual([f, []]);
        return d.toJS();
      }),
    );
  const byKind = (kind: string) => docs.filter((d) => d?.kind === kind);
  const deployment = byKind('Deployment')[0];
  const pod = deployment.spec.template;
  const container = pod.spec.containers[0];
  const env = new Map<string, Doc>(container.env.map((e: Doc) => [e.name, e]));

  it('rolls make-before-break and outlasts the drain before SIGKILL', () => {
    expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    const drain = drainMs({ DRAIN_TIMEOUT_MS: env.get('DRAIN_TIMEOUT_MS')?.value });
    expect(pod.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(drain + EXIT_GRACE_MS);
  });

  it('readiness on /readyz and liveness on /healthz, both routes, on the container port', async () => {
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      await expectRoute(probe.httpGet.path);
      expect(container.ports.map((p: Doc) => p.name)).toContain(probe.httpGet.port);
    }
    const port = container.ports.find((p: Doc) => p.name === 'http').containerPort;
    expect(String(port)).toBe(env.get('PORT')?.value ?? String(CONFIG_DEFAULTS.http.port));
  });

  it('non-root, read-only root filesystem, no privilege escalation, resources set', () => {
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    expect(pod.spec.securityContext.runAsUser).not.toBe(0);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
    });
    expect(container.resources.requests.cpu).toBeDefined();
    expect(container.resources.requests.memory).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();
  });

  it('INSTANCE_ID from the pod name, the admin token from a Secret, only real variables', () => {
    expect(env.get('INSTANCE_ID').valueFrom.fieldRef.fieldPath).toBe('metadata.name');
    const ref = env.get('ADMIN_TOKEN').valueFrom.secretKeyRef;
    expect(env.get('ADMIN_TOKEN').value).toBeUndefined();
    const secret = byKind('Secret').find((s) => s.metadata.name === ref.name);
    expect(Object.keys(secret.stringData)).toContain(ref.key);
    for (const name of env.keys()) expect([name, CONFIG_VARIABLES.has(name)]).toEqual([name, true]);
  });

  it('a PodDisruptionBudget, a Service for the admin API, a /metrics scrape annotation', async () => {
    const labels = pod.metadata.labels;
    expect(deployment.spec.selector.matchLabels).toEqual(labels);
    const pdb = byKind('PodDisruptionBudget')[0];
    expect(pdb.spec.selector.matchLabels).toEqual(labels);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    const service = byKind('Service')[0];
    expect(service.spec.selector).toEqual(labels);
    expect(container.ports.map((p: Doc) => p.name)).toContain(service.spec.ports[0].targetPort);
    const annotations = pod.metadata.annotations;
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(annotations['prometheus.io/path']).toBe('/metrics');
    await expectRoute(annotations['prometheus.io/path']);
    expect(annotations['prometheus.io/port']).toBe(String(container.ports[0].containerPort));
  });

  it('kustomization lists the manifests that exist (the Secret is made out of band)', () => {
    const kustomization = docs.find((d) => d.kind === 'Kustomization');
    const files = readdirSync(dir);
    for (const resource of kustomization.resources) expect(files).toContain(resource);
    expect(kustomization.resources).not.toContain('secret.example.yaml');
  });
});

describe('Dockerfile', () => {
  it('the runtime stage runs as a non-root user, and its HEALTHCHECK path is a route', async () => {
    const text = read('Dockerfile');
    const runtime = text.slice(text.lastIndexOf('\nFROM '));
    const users = [...runtime.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0']).not.toContain(users.at(-1));
    const health = /HEALTHCHECK[\s\S]*?(\/[a-z]+)'\)/.exec(runtime)?.[1];
    expect(health).toBe('/healthz');
    await expectRoute(health!);
  });
});
