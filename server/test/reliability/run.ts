// The long, figure-producing runs of the reliability suite: `npm run reliability [-- NAME... --seed N --minutes M
// --out FILE]`. Without names it runs every scenario but the soak; `soak` runs the soak (default 10 minutes).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { abuse } from './abuse.ts';
import { describeFigures, type Figures } from './chat-client.ts';
import { fuzzGateway } from './fuzz.ts';
import { limits } from './limits.ts';
import { modelFaults } from './model-faults.ts';
import { gatewayKills, redisRestarts, workerKills } from './process-faults.ts';
import { seedFromEnvironment } from './random.ts';
import type { ScenarioResult } from './scenario.ts';
import { securityChecks, tokenTiming } from './security.ts';
import { slowReaders } from './slow-reader.ts';
import { soak } from './soak.ts';

const allNames = [
  'worker-kills',
  'gateway-kills',
  'redis-shutdown',
  'redis-kill',
  'model-faults',
  'fuzz',
  'slow-reader',
  'limits',
  'abuse',
  'security',
  'audit',
] as const;

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index < 0 ? undefined : process.argv[index + 1];
}

const flags = new Set(['--seed', '--minutes', '--out']);
const chosen = process.argv
  .slice(2)
  .filter((word, index, words) => !word.startsWith('--') && !flags.has(words[index - 1] ?? ''));
const unknown = chosen.filter((name) => name !== 'soak' && !(allNames as readonly string[]).includes(name));
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(', ')}; choose from ${[...allNames, 'soak'].join(', ')}`);
  process.exit(2);
}
const names = chosen.length === 0 ? [...allNames] : chosen;
const seed = argument('--seed') === undefined ? seedFromEnvironment() : Number(argument('--seed')) >>> 0;
const output: string[] = [];
let failures = 0;

function say(line = ''): void {
  console.log(line);
  output.push(line);
}

const faultRows: { result: ScenarioResult; extra?: string }[] = [];

function row(name: string, figures: Figures, notes: string): string {
  const codes = Object.entries(figures.codes)
    .map(([code, count]) => `${code} ${count}`)
    .join(', ');
  return `| ${name} | ${figures.sent} | ${figures.completed} | ${figures.clearErrors + figures.refused}${codes === '' ? '' : ` (${codes})`} | ${figures.lost} | ${figures.duplicated} | ${figures.hung} | ${notes} |`;
}

function check(ok: boolean, what: string): void {
  if (!ok) {
    failures++;
    say(`**FAILED: ${what}**`);
  }
}

function soundness(result: ScenarioResult): void {
  const { figures } = result;
  check(
    figures.lost + figures.duplicated + figures.hung + figures.violations === 0 &&
      result.leaks.length === 0 &&
      result.crashes === 0,
    `${describeFigures(result.name, figures)}; leaks ${result.leaks.length}; crashes ${result.crashes}\n${result.details.slice(0, 20).join('\n')}`,
  );
}

const started = Date.now();
say(
  `Reliability run ${new Date().toISOString()} — seed ${seed}; ${cpus().length} cores; load average at start ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')}`,
);
say();

for (const name of names) {
  const scenarioStarted = Date.now();
  console.error(`== ${name}`);
  switch (name) {
    case 'worker-kills': {
      const result = await workerKills({
        seed,
        workers: 3,
        gateways: 2,
        clients: 6,
        requests: 300,
        spacingMs: 100,
        tokens: 30,
        tokenIntervalMs: 50,
        killEveryMs: 1_000,
        settleMs: 120_000,
      });
      soundness(result);
      faultRows.push({ result, extra: result.notes.join('; ') });
      break;
    }
    case 'gateway-kills': {
      const result = await gatewayKills({
        seed,
        gateways: 3,
        workers: 2,
        clients: 12,
        requests: 200,
        spacingMs: 150,
        tokens: 40,
        tokenIntervalMs: 50,
        killEveryMs: 1_000,
        settleMs: 120_000,
      });
      soundness(result);
      faultRows.push({ result, extra: result.notes.join('; ') });
      break;
    }
    case 'redis-shutdown':
    case 'redis-kill': {
      const result = await redisRestarts({
        requests: 100,
        clients: 4,
        workers: 2,
        tokens: 40,
        tokenIntervalMs: 50,
        restarts: 5,
        downMs: 1_500,
        how: name === 'redis-kill' ? 'kill' : 'shutdown',
        settleMs: 120_000,
      });
      soundness(result);
      faultRows.push({ result, extra: `5 restarts, down ~1.5 s each; ${result.notes.at(-1) ?? ''}` });
      break;
    }
    case 'model-faults': {
      for (const result of await modelFaults({
        seed,
        perKind: 20,
        workers: 2,
        clients: 6,
        spacingMs: 20,
        settleMs: 120_000,
      })) {
        soundness(result);
        check(result.unexpected === 0, `${result.name}: ${result.details.join('; ')}`);
        faultRows.push({
          result,
          extra: `${result.notes.join('; ')}; median ${result.figures.medianMs} ms, slowest ${result.figures.slowestMs} ms`,
        });
      }
      break;
    }
    case 'fuzz': {
      const result = await fuzzGateway({ seed, craftedFrames: 60_000, maxMs: 300_000, lanes: 6 });
      say('### Hostile input (fuzzer)');
      say();
      say(
        '| frames tried | crashes | protocol violations | unanswered sockets | RSS baseline → peak → end | healthy client: slowest ping / slowest chat (chats done) |',
      );
      say('|---|---|---|---|---|---|');
      say(
        `| ${result.framesTried} in ${(result.durationMs / 1000).toFixed(0)} s (${result.framesTried - result.floodFrames} crafted, ${result.floodFrames} in floods) | ${result.crashes} | ${result.violations.length} | ${result.unanswered} | ` +
          `${(result.rssBaselineKiB / 1024).toFixed(0)} → ${(result.rssPeakKiB / 1024).toFixed(0)} → ${(result.rssEndKiB / 1024).toFixed(0)} MiB | ` +
          `${result.healthy.slowestPingMs} ms / ${result.healthy.slowestChatMs} ms (${result.healthy.chatsDone}/${result.healthy.chats}) |`,
      );
      say();
      say(`Seed ${seed}. Actions by category: ${JSON.stringify(result.byCategory)}`);
      say(
        `Close codes: ${JSON.stringify(result.closeCodes)}; error codes answered: ${JSON.stringify(result.errorCodes)}`,
      );
      say(
        `Gateway RSS along the run (frames tried: MiB): ${result.rssTimeline.map((point) => `${point.frames}: ${point.rssMiB}`).join(', ')}`,
      );
      say();
      check(
        result.crashes === 0 &&
          result.violations.length === 0 &&
          result.unanswered === 0 &&
          (result.errorCodes.internal ?? 0) === 0 &&
          result.healthy.chatsDone === result.healthy.chats,
        'fuzz',
      );
      break;
    }
    case 'slow-reader': {
      say('### Slow and stuck readers');
      say();
      say(
        '| answer | SLOW_READER_CLOSE_MS | closed after | close code | resumed answer | gateway RSS growth (ws client paused / raw socket never reading) | healthy client slowest ping |',
      );
      say('|---|---|---|---|---|---|---|');
      for (const [closeMs, answerMb] of [
        [30_000, 32],
        [2_000, 96],
      ] as const) {
        const result = await slowReaders({ closeMs, answerMb, rawNeverReads: true });
        say(
          `| ${(result.answerBytes / 1_048_576).toFixed(0)} MB | ${closeMs} | ${((result.closedAfterMs ?? Number.NaN) / 1000).toFixed(1)} s | ${result.closeCodes[0]} | ` +
            `${result.figures.completed === 1 ? 'whole, no gap, no repeat' : JSON.stringify(result.figures)} | ` +
            `${(result.rssGrowthKiB / 1024).toFixed(0)} MiB / ${((result.raw?.rssGrowthKiB ?? 0) / 1024).toFixed(0)} MiB (close ${result.raw?.closeCode}) | ${result.healthySlowestPingMs} ms |`,
        );
        check(result.figures.completed === 1 && result.closeCodes[0] === 1013, `slow reader ${closeMs}`);
      }
      say();
      break;
    }
    case 'limits': {
      const result = await limits({
        connections: 2_000,
        anonymousConnections: 2_000,
        floodSockets: 20,
        floodFrames: 2_000,
        concurrentLimit: 4,
        concurrentTries: 20,
      });
      const { connectionFlood, anonymousFlood, frameFlood, concurrent } = result;
      say('### Limits (one user floods; another user is served meanwhile)');
      say();
      say('| abuse | what the abuser got | the other user meanwhile |');
      say('|---|---|---|');
      say(
        `| 2,000 sockets opened at once by one user (MAX_SOCKETS_PER_USER default 32) | ${connectionFlood.opened} welcomed, ${connectionFlood.refused} refused: ${JSON.stringify(connectionFlood.refusalCodes)}, close ${JSON.stringify(connectionFlood.closeCodes)}; gateway RSS +${(connectionFlood.rssGrowthKiB / 1024).toFixed(0)} MiB | slowest ping ${connectionFlood.otherUserSlowestPingMs} ms, a chat ${connectionFlood.otherUserChatMs} ms |`,
      );
      say(
        `| ${anonymousFlood.opened} sockets opened at once that never say hello (no token needed) | held ${(anonymousFlood.allClosedAfterMs / 1000).toFixed(1)} s at most, closes ${JSON.stringify(anonymousFlood.closeCodes)}; gateway RSS +${(anonymousFlood.rssGrowthKiB / 1024).toFixed(0)} MiB | slowest ping ${anonymousFlood.otherUserSlowestPingMs} ms |`,
      );
      say(
        `| ${frameFlood.framesSent} pings from 20 sockets as fast as possible (MAX_FRAMES_PER_SECOND 50) | ${frameFlood.rateLimitedAnswers} rate_limited answers (retryAfterMs ${frameFlood.retryAfterMs}), closes ${JSON.stringify(frameFlood.closeCodes)} | slowest ping ${frameFlood.otherUserSlowestPingMs} ms, a chat ${frameFlood.otherUserChatMs} ms |`,
      );
      say(
        `| ${concurrent.tried} long answers at once, half on each of two gateways (MAX_CONCURRENT_GENERATIONS 4) | ${concurrent.accepted} accepted (${concurrent.acceptedCompleted} completed), ${concurrent.rateLimited} rate_limited (retryAfterMs ${concurrent.retryAfterMs}) | ${concurrent.otherUserCompleted}/3 answers completed, slowest ${concurrent.otherUserSlowestMs} ms |`,
      );
      say();
      check(
        connectionFlood.opened === 32 && concurrent.accepted === 4 && concurrent.otherUserCompleted === 3,
        'limits',
      );
      break;
    }
    case 'abuse': {
      const run = (env?: Record<string, string>) =>
        abuse({
          amplificationFrames: 4,
          amplificationMessages: 1000,
          backlogSockets: 4,
          backlogFrames: 100,
          redisStallMs: 3_000,
          poisonKillLimit: 5,
          ...(env !== undefined && { env }),
        });
      const result = await run();
      // The same backlog with the pending-frame bound lifted, to show what the bound holds back.
      const unbounded = await run({ MAX_PENDING_FRAMES: '10000', MAX_PENDING_BYTES: String(1024 ** 3) });
      const { amplification, backlog, poison } = result;
      say("### Abuse (the hardening review's attacks; another user pings and chats meanwhile)");
      say();
      say('| attack | what the attacker got | server memory (RSS growth) | the other user meanwhile |');
      say('|---|---|---|---|');
      say(
        `| 4 frames of ${(amplification.frameBytes / 1024).toFixed(0)} KB at once, each naming one 100 KB file 16,000 times | ${JSON.stringify(amplification.refusals)}; the model called ${amplification.modelCalls} times | gateway +${amplification.gatewayRssGrowthMiB} MiB, worker +${amplification.workerRssGrowthMiB} MiB | slowest ping ${amplification.otherUserSlowestPingMs} ms, a chat ${amplification.otherUserChatMs} ms |`,
      );
      say(
        `| 4 sockets x 100 frames of ${(backlog.frameBytes / 1024).toFixed(0)} KB written at once while Redis is stopped for 3 s | ${backlog.answers} of ${backlog.framesSent} answered, closes ${JSON.stringify(backlog.closeCodes)} | gateway +${backlog.gatewayRssPeakGrowthMiB} MiB, ${backlog.heldBackMiB} MiB left with the writers (bound lifted: +${unbounded.backlog.gatewayRssPeakGrowthMiB} MiB, ${unbounded.backlog.heldBackMiB} MiB) | slowest ping ${backlog.otherUserSlowestPingMs} ms, a chat ${backlog.otherUserChatMs} ms |`,
      );
      say(
        `| a request whose every run kills its worker | ${poison.workersKilled} workers killed, the model called ${poison.modelCalls} times, then \`${poison.outcome}\` (retryable ${poison.retryable}) | | |`,
      );
      say();
      check(
        amplification.modelCalls === 0 &&
          backlog.answers === backlog.framesSent &&
          poison.workersKilled === 2 &&
          result.crashes === 0 &&
          result.leaks.length === 0,
        'abuse',
      );
      break;
    }
    case 'security': {
      const { checks } = await securityChecks();
      say('### Security');
      say();
      say('| check | expected | observed |');
      say('|---|---|---|');
      for (const item of checks)
        say(
          `| ${item.name} | ${item.expected} | ${item.ok ? '' : '**'}${item.observed}${item.ok ? '' : '**'} |`,
        );
      const timing = tokenTiming();
      say(
        `| token check time, near miss vs far miss (4,000-character token, median of 200 interleaved batches) | equal within noise | ${(timing.nearMs * 1000).toFixed(2)} µs vs ${(timing.farMs * 1000).toFixed(2)} µs (ratio ${timing.ratio.toFixed(3)}) |`,
      );
      say();
      check(
        checks.every((item) => item.ok),
        'security',
      );
      break;
    }
    case 'audit': {
      say('### npm audit --omit=dev');
      say();
      try {
        const report = execFileSync('npm', ['audit', '--omit=dev', '--json'], {
          encoding: 'utf8',
          stdio: 'pipe',
        });
        const parsed = JSON.parse(report) as { metadata?: { vulnerabilities?: Record<string, number> } };
        say(`Vulnerabilities: ${JSON.stringify(parsed.metadata?.vulnerabilities ?? {})}`);
      } catch (error) {
        const text = error instanceof Error && 'stdout' in error ? String(error.stdout) : String(error);
        say(`npm audit did not give a clean report: ${text.slice(0, 600).replace(/\n/g, ' ')}`);
      }
      say();
      break;
    }
    case 'soak': {
      const minutes = Number(argument('--minutes') ?? 10);
      const result = await soak({
        seed,
        durationMs: minutes * 60_000,
        sampleEveryMs: 60_000,
        clients: 24,
        thinkMs: [200, 1_000],
        tokens: [10, 80],
        tokenIntervalMs: 20,
        cancelShare: 0.1,
        dropShare: 0.05,
        retentionMs: 60_000,
        log: (line) => console.error(line),
      });
      say(`### Soak: ${minutes} minutes of steady mixed load`);
      say();
      say(
        '| at | load avg | RSS MiB (gateway-1, gateway-2, worker-1, worker-2) | Redis keys: logs / records / queue / user | first delta p50 / p95 | ping p50 / p95 | answers in the minute |',
      );
      say('|---|---|---|---|---|---|---|');
      for (const sample of result.samples) {
        say(
          `| ${sample.atSeconds} s | ${sample.loadAverage} | ${Object.values(sample.rssMiB).join(', ')} | ${sample.keys.log} / ${sample.keys.req} / ${sample.keys.queue} / ${sample.keys.user} | ` +
            `${sample.firstDeltaP50} / ${sample.firstDeltaP95} ms | ${sample.pingP50} / ${sample.pingP95} ms | ${sample.completedInWindow} |`,
        );
      }
      say();
      const { figures } = result;
      say(
        `Requests: ${figures.sent} sent, ${figures.completed} completed, ${figures.codes.cancelled ?? 0} cancelled mid-answer, ` +
          `${figures.clearErrors - (figures.codes.cancelled ?? 0)} other errors, lost ${figures.lost}, duplicated ${figures.duplicated}, ` +
          `hung ${figures.hung}, protocol violations ${figures.violations}; slowest request ${figures.slowestMs} ms. ` +
          `One finished request's record (kept 24 h after its log expires): ${result.metaBytesPerRequest} bytes.`,
      );
      say();
      check(result.figures.lost + result.figures.duplicated + result.figures.hung === 0, 'soak');
      break;
    }
  }
  console.error(`   ${name} took ${((Date.now() - scenarioStarted) / 1000).toFixed(0)} s`);
}

if (faultRows.length > 0) {
  say('### Faults');
  say();
  say(
    '| scenario | sent | completed exactly once | ended with a clear error | lost | duplicated | hung | notes |',
  );
  say('|---|---|---|---|---|---|---|---|');
  for (const { result, extra } of faultRows) say(row(result.name, result.figures, extra ?? ''));
  say();
}
say(
  `Took ${((Date.now() - started) / 60_000).toFixed(1)} min; load average at the end ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')}. ${failures === 0 ? 'Every check held.' : `${failures} check(s) FAILED.`}`,
);
const out = argument('--out');
if (out !== undefined) writeFileSync(out, `${output.join('\n')}\n`);
process.exit(failures === 0 ? 0 : 1);
