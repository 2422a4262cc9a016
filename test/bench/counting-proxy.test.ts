import { encodeMetadataRequest, encodeWriteRequest } from '../../lambda/bridge/remote-write/encode';
import type { TimeSeries } from '../../lambda/bridge/series';
import { LocalPrometheus } from '../support/harness/prometheus';
import { CountingProxy } from './counting-proxy';

const MINUTE = 60_000;

/**
 * The bench's refusals, against the real receiver: a retry of a request that was stored (its answer lost to the
 * bridge's timeout) is refused by Prometheus as out of order. That is what the 1 h catch-up's "2 samples refused"
 * were (issue 23, item 6): Prometheus counts one out-of-order sample per refused request, and the bench counted those
 * as data refused. The proxy tells the two apart.
 */
describe('CountingProxy in front of a real Prometheus', () => {
  const prometheus = new LocalPrometheus();
  let proxy: CountingProxy;
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE;
  const series = (name: string, times: readonly number[]): TimeSeries => ({
    labels: [{ name: '__name__', value: name }],
    samples: times.map((timestamp, i) => ({ timestamp, value: i + 1 })),
    kind: 'counter',
  });
  const send = async (body: Uint8Array) =>
    (
      await fetch(proxy.url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
      })
    ).status;

  beforeAll(async () => {
    await prometheus.start();
    proxy = await new CountingProxy(prometheus.remoteWriteUrl).start();
  }, 60_000);
  afterAll(async () => {
    await proxy.stop();
    await prometheus.stop();
  });

  test('a retry of a stored request is refused as out of order and counted as a refused retry, not as data refused', async () => {
    const request = encodeWriteRequest([series('retried_total', [t0, t0 + MINUTE])]);
    expect(await send(request)).toBe(204);
    // The bridge's retry after a lost answer: the same bytes. Its first sample is older than the series' last.
    expect(await send(request)).toBe(400);
    expect(proxy.requests).toBe(2);
    expect(proxy.retries).toBe(1);
    expect([...proxy.refusedRetries]).toEqual([[400, 1]]);
    expect(proxy.refused.size).toBe(0);
  });

  test('a first attempt the receiver refuses is data refused', async () => {
    proxy.reset();
    expect(await send(encodeWriteRequest([series('late_total', [t0 + 5 * MINUTE])]))).toBe(204);
    // Another request, older than what the series holds: out of order, and its samples are lost.
    expect(await send(encodeWriteRequest([series('late_total', [t0 + 2 * MINUTE])]))).toBe(400);
    expect(proxy.retries).toBe(0);
    expect([...proxy.refused]).toEqual([[400, 1]]);
    expect(proxy.refusedRetries.size).toBe(0);
  });

  test('bodies stay known across reset(): a journal replay a cycle later is a retry too', async () => {
    const request = encodeWriteRequest([series('replayed_total', [t0, t0 + MINUTE])]);
    expect(await send(request)).toBe(204);
    proxy.reset();
    expect(await send(request)).toBe(400);
    expect(proxy.retries).toBe(1);
    expect(proxy.refused.size).toBe(0);
  });

  test("the metadata each cycle sends again (the same bytes, no samples) is no retry", async () => {
    proxy.reset();
    const metadata = encodeMetadataRequest([{ family: 'metadata_total', type: 'counter', help: 'A counter.' }]);
    expect(await send(metadata)).toBe(204);
    expect(await send(metadata)).toBe(204);
    expect(proxy.requests).toBe(2);
    expect(proxy.retries).toBe(0);
    expect(proxy.refused.size + proxy.refusedRetries.size).toBe(0);
  });
});
