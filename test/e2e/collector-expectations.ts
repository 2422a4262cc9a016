import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

// What the host collector config must make of the exporters' output, shared by the scrape tests on a plain Prometheus
// (neuron-collector.e2e) and the run on the real OpenTelemetry Collector (otel-collector.e2e).

/** Real output of neuron-monitor-prometheus.py on an inf1.xlarge and of TorchServe (copies of shared/fixtures, checked unedited). */
export const FIXTURES = join(__dirname, '..', 'fixtures', 'neuron-monitor');
export const TORCHSERVE_FIXTURES = join(__dirname, '..', 'fixtures', 'torchserve');
export const DROPPED = /^(python_gc_.*|python_info|process_.*|.*_created)$/;
export const ACCOUNT = '123456789012';
export const REGION = 'us-east-2';
export const INSTANCE = 'i-0823d657f57057590';
export const RESNET = { model_name: 'resnet18', model_version: 'default' };

/**
 * What each TorchServe sample must arrive as, written out by hand from the fixture (not derived from the
 * relabelling): source family, arriving name, labels beside the target's, value.
 */
export const TORCHSERVE_ARRIVALS: ReadonlyArray<{ source: string; name: string; labels: Record<string, string>; value: number }> = [
  { source: 'ts_inference_requests_total', name: 'ts_inference_requests_total', labels: RESNET, value: 3 },
  { source: 'ts_inference_latency_microseconds', name: 'ts_inference_latency_microseconds_total', labels: RESNET, value: 290371.129 },
  { source: 'ts_queue_latency_microseconds', name: 'ts_queue_latency_microseconds_total', labels: RESNET, value: 365.21 },
  { source: 'Requests2XX', name: 'ts_requests_total', labels: { class: '2xx' }, value: 8 },
  { source: 'PredictionTime', name: 'ts_prediction_time_milliseconds', labels: { model_name: 'resnet18' }, value: 83.13 },
  { source: 'HandlerTime', name: 'ts_handler_time_milliseconds', labels: { model_name: 'resnet18' }, value: 82.93 },
  { source: 'WorkerLoadTime', name: 'ts_worker_load_time_milliseconds', labels: { model_name: 'resnet18', worker_name: 'W-9000-resnet18_1.0' }, value: 4593 },
  { source: 'WorkerLoadTime', name: 'ts_worker_load_time_milliseconds', labels: { model_name: 'resnet18', worker_name: 'W-9001-resnet18_1.0' }, value: 4592 },
  { source: 'QueueTime', name: 'ts_queue_time_milliseconds', labels: {}, value: 0 },
  { source: 'WorkerThreadTime', name: 'ts_worker_thread_time_milliseconds', labels: {}, value: 1 },
];
/** TorchServe's host gauges: neuron-monitor's system_* series say the same in base units. */
export const TORCHSERVE_DROPPED = ['CPUUtilization', 'MemoryUsed', 'MemoryAvailable', 'MemoryUtilization', 'DiskUsage', 'DiskAvailable', 'DiskUtilization'];

export interface ExposedSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Parses the text exposition format (what the exporter serves). */
export function parseExposition(text: string): ExposedSample[] {
  const samples: ExposedSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] as string] = JSON.parse(`"${pair[2]}"`) as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

export function identity(name: string, labels: Record<string, string>): string {
  const kept = Object.entries(labels)
    .filter(([key, value]) => value !== '' && !['__name__', 'job', 'instance', 'account_id'].includes(key))
    .sort(([a], [b]) => a.localeCompare(b));
  return `${name}{${kept.map(([k, v]) => `${k}=${v}`).join(',')}}`;
}

export function serve(text: string): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(text);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export const portOf = (server: Server) => (server.address() as AddressInfo).port;

