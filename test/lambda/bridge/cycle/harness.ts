import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { Catalog } from '../../../../lambda/bridge/catalog/catalog';
import { DiscoveryCache } from '../../../../lambda/bridge/cloudwatch/discovery';
import { resolveConfig, type BridgeConfig } from '../../../../contract/bridge-config';
import type { CycleDeps, CycleOptions } from '../../../../lambda/bridge/cycle';
import type { CycleContext } from '../../../../lambda/bridge/cycle/context';
import { start } from '../../../../lambda/bridge/cycle/start';
import type { BridgeLogger } from '../../../../lambda/bridge/logger';
import type { SendResult } from '../../../../lambda/bridge/remote-write/client';
import type { MetricSource } from '../../../../lambda/bridge/sources';
import { MemoryStateStore } from '../../../support/stand-ins/memory-state-store';

export const MIN = 60_000;
export const T = 1_800_000_000_000 - (1_800_000_000_000 % MIN);
export const config = resolveConfig({ remoteWrite: { url: 'http://127.0.0.1:9090/api/v1/write', maxSamplesPerRequest: 10 }, sagemakerMetadata: false }, { AWS_REGION: 'us-east-1' });
export const catalog = Catalog.withDefaults([], 'inferwatch', 'neuron_monitor');

/** Deps whose sends and journal land in memory, and a logger that keeps what was said. */
export function fakeDeps(send?: (body: Uint8Array) => Promise<SendResult>) {
  const sent: Uint8Array[] = [];
  const logs: string[] = [];
  const store = new MemoryStateStore();
  const log = (message: string) => void logs.push(message);
  const logger: BridgeLogger = { debug: () => {}, info: log, warn: log, error: log };
  const deps: CycleDeps = {
    cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
    store,
    send:
      send ??
      (async (body) => {
        sent.push(body);
        return { status: 'ok', attempts: 1 };
      }),
    now: () => T,
    deadline: () => Date.now() + 60_000,
    logger,
    discoveryCache: new DiscoveryCache(),
    baseLabels: {},
  };
  return { deps, store, sent, logs };
}

/** The context `start` builds, with `sources` in place of the built-in ones. */
export async function startWith(sources: MetricSource[], deps: CycleDeps, options: CycleOptions = {}, bridge: BridgeConfig = config): Promise<CycleContext> {
  return { ...(await start(bridge, catalog, deps, options)), sources };
}
