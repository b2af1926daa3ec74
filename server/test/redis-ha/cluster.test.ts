// Chrome Plus on a Redis Cluster of 3 masters and 3 replicas (REDIS_CLUSTER_NODES): chats through two gateways and
// two workers, live events spread over the shards by sharded Pub/Sub, a resume on the other gateway, and answers that
// come whole, exactly once, through a CLUSTER FAILOVER of every master and through a master killed with SIGKILL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type OwnRedisCluster, startRedisCluster, testPrefix, withNode } from '@chrome-plus/testkit';
import {
  type HaStage,
  keyOf,
  resumeAcrossGateways,
  runAnswers,
  startHaStage,
  type TimedClient,
} from './ha-chats.ts';

/** Stalls measured here are reported in docs/reliability.md; the bounds leave room for a busy 2-core machine. */
const FAILOVER_STALL_BOUND_MS = 6_000;
const KILL_STALL_BOUND_MS = 10_000;

describe('on a Redis Cluster (3 masters, 3 replicas)', () => {
  const prefix = testPrefix('cluster');
  let cluster: OwnRedisCluster;
  let stage: HaStage;
  let clients: TimedClient[];

  before(async () => {
    cluster = await startRedisCluster({ nodeTimeoutMs: 1_000 });
    stage = await startHaStage(prefix, { REDIS_CLUSTER_NODES: cluster.nodesEnv });
    clients = [await stage.client(0), await stage.client(1)];
  });

  after(async () => {
    await stage?.close();
    await cluster?.destroy();
  });

  test('gateways and workers are ready: the cluster says cluster_state:ok', async () => {
    for (const role of [...stage.gateways]) {
      const response = await fetch(`${role.httpUrl}/readyz`);
      assert.equal(response.status, 200, `${role.name}: ${await response.text()}`);
    }
  });

  test('chats through both gateways; live events go out on every shard by SPUBLISH', async () => {
    const { ids } = await runAnswers({ clients, name: 'spread', count: 12, tokens: 8, interval: 5 });
    const masters = await cluster.topology();
    const owners = new Set(await Promise.all(ids.map((id) => cluster.masterOf(keyOf(id)))));
    const published = await Promise.all(
      masters.map(({ port }) =>
        withNode(port, async (redis) => {
          const stats = await redis.info('commandstats');
          return Number(/cmdstat_spublish:calls=(\d+)/.exec(stats)?.[1] ?? 0);
        }),
      ),
    );
    for (const [index, { port }] of masters.entries()) {
      if (owners.has(port)) assert.ok(published[index]! > 0, `master ${port} published its requests' events`);
    }
    assert.ok(owners.size >= 2, 'twelve requests land on more than one master');
  });

  test('an answer begun on one gateway resumes on the other', async () => {
    await resumeAcrossGateways(stage, 'moved', 30);
  });

  test('CLUSTER FAILOVER of every master mid-answer: every answer whole, exactly once, after a bounded stall', async () => {
    const { stallMs } = await runAnswers({
      clients,
      output: () => stage.fleet.output(),
      name: 'failover',
      count: 6,
      tokens: 40,
      interval: 40,
      during: async () => {
        for (const { port } of await cluster.topology()) await cluster.failover(port);
      },
    });
    console.log(`cluster: CLUSTER FAILOVER of 3 masters mid-answer, longest stall ${stallMs} ms`);
    assert.ok(stallMs < FAILOVER_STALL_BOUND_MS, `stall ${stallMs} ms`);
  });

  test('a master killed (SIGKILL) mid-answer: its replica takes over, every answer whole, exactly once', async () => {
    let victim = 0;
    const { stallMs } = await runAnswers({
      clients,
      output: () => stage.fleet.output(),
      name: 'kill',
      count: 6,
      tokens: 40,
      interval: 40,
      during: async () => {
        victim = await cluster.masterOf(keyOf('kill-0'));
        await cluster.killMaster(victim);
      },
    });
    console.log(`cluster: master ${victim} killed mid-answer, longest stall ${stallMs} ms`);
    assert.ok(stallMs < KILL_STALL_BOUND_MS, `stall ${stallMs} ms`);
  });

  test('cleanup works per master: every key of the prefix found and deleted', async () => {
    assert.ok((await cluster.countKeys(prefix)) > 0);
    await cluster.cleanup(prefix);
    assert.equal(await cluster.countKeys(prefix), 0);
  });
});
