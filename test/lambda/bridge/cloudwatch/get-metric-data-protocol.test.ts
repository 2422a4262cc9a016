import { CloudWatchClient, GetMetricDataCommand, InvalidParameterValueException, ListMetricsCommand, type GetMetricDataCommandInput, type Metric } from '@aws-sdk/client-cloudwatch';
import { HttpResponse, type HttpRequest } from '@smithy/core/protocols';
import fc from 'fast-check';
import { GetMetricDataFastProtocol, readGetMetricDataResponse, writeGetMetricDataRequest } from '../../../../lambda/bridge/cloudwatch/get-metric-data-protocol';
import { createCloudWatchClient } from '../../../../lambda/bridge/runtime';

/**
 * The hand-written GetMetricData codec against the SDK's own AWS JSON 1.0 protocol: two clients, identical but for
 * `protocol`, send the same input and get the same canned answer through a request handler that records what
 * reaches the wire. Requests must be the same bytes with the same headers (the SigV4 signature included, the clock
 * held still); outputs and errors must be deep-equal.
 */

const T = 1_800_000_000_000;
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

interface Canned {
  readonly statusCode: number;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

function clientWith(fast: boolean, answer: Canned, seen: HttpRequest[]): CloudWatchClient {
  return new CloudWatchClient({
    region: 'us-east-2',
    credentials,
    maxAttempts: 1,
    ...(fast ? { protocol: GetMetricDataFastProtocol } : {}),
    requestHandler: {
      handle: async (request: HttpRequest) => {
        seen.push(request);
        const headers = { 'x-amzn-RequestId': 'c0ffee00-0000-4000-8000-000000000000', 'Content-Type': 'application/x-amz-json-1.0', ...answer.headers };
        return { response: new HttpResponse({ statusCode: answer.statusCode, headers, body: Buffer.from(answer.body, 'utf8') }) };
      },
    },
  });
}

const OK_EMPTY: Canned = { statusCode: 200, body: '{"MetricDataResults":[]}' };

function bodyBytes(request: HttpRequest): Buffer {
  const body: unknown = request.body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new Error(`unexpected request body type ${typeof body}`);
}

/** What reaches the wire. */
function wire(request: HttpRequest) {
  return { method: request.method, protocol: request.protocol, hostname: request.hostname, port: request.port, path: request.path, query: request.query, headers: request.headers, body: bodyBytes(request).toString('utf8') };
}

type Outcome = { ok: true; value: unknown; request: ReturnType<typeof wire> } | { ok: false; error: Error; request: ReturnType<typeof wire> };

async function send(fast: boolean, command: GetMetricDataCommand | ListMetricsCommand, answer: Canned): Promise<Outcome> {
  const seen: HttpRequest[] = [];
  const client = clientWith(fast, answer, seen);
  try {
    const value = await client.send(command as GetMetricDataCommand);
    return { ok: true, value, request: wire(seen[0] as HttpRequest) };
  } catch (error) {
    return { ok: false, error: error as Error, request: wire(seen[0] as HttpRequest) };
  }
}

async function bothWays(input: GetMetricDataCommandInput, answer: Canned = OK_EMPTY): Promise<{ sdk: Outcome; fast: Outcome }> {
  return { sdk: await send(false, new GetMetricDataCommand(input), answer), fast: await send(true, new GetMetricDataCommand(input), answer) };
}

function expectSameRequest(sdk: Outcome, fast: Outcome): void {
  expect(JSON.parse(fast.request.body)).toStrictEqual(JSON.parse(sdk.request.body));
  expect(fast.request).toStrictEqual(sdk.request);
}

function expectSameOutput(sdk: Outcome, fast: Outcome): void {
  if (!sdk.ok) throw sdk.error;
  if (!fast.ok) throw fast.error;
  expect(fast.value).toStrictEqual(sdk.value);
}

// The clock and the invocation id (both signed) held still, so that equal requests carry equal signatures.
beforeEach(() => {
  jest.spyOn(Date, 'now').mockReturnValue(T);
  jest.spyOn(globalThis.crypto, 'randomUUID').mockReturnValue('0f0f0f0f-0000-4000-8000-000000000000');
});
afterEach(() => jest.restoreAllMocks());

/** 500 queries as fetch.ts writes them: a latency metric's statistics share one Metric object. */
function fetchShapedInput(nextToken?: string): GetMetricDataCommandInput {
  const stats = ['Sum', 'SampleCount', 'p50', 'p90', 'p99', 'PR(:1000)', 'PR(1000:5000)', 'TC(10%:90%)', 'Average', 'Maximum'];
  const metrics: Metric[] = Array.from({ length: 50 }, (_, i) => ({
    Namespace: 'AWS/SageMaker',
    MetricName: 'ModelLatency',
    Dimensions: [
      { Name: 'EndpointName', Value: `fleet-${String(i).padStart(5, '0')}` },
      { Name: 'VariantName', Value: i % 2 ? 'blue' : 'AllTraffic' },
    ],
  }));
  return {
    MetricDataQueries: Array.from({ length: 500 }, (_, i) => ({
      Id: `q${i}`,
      MetricStat: { Metric: metrics[Math.floor(i / stats.length)], Period: 60, Stat: stats[i % stats.length] },
      ReturnData: true,
    })),
    StartTime: new Date(T - 600_000),
    EndTime: new Date(T),
    ScanBy: 'TimestampAscending',
    NextToken: nextToken,
  };
}

it("is the bridge cycle's CloudWatch protocol", () => {
  expect(createCloudWatchClient('us-east-2').config.protocol).toBeInstanceOf(GetMetricDataFastProtocol);
});

describe('the request', () => {
  it('is the same HTTP request as the SDK writes for a 500-query read and its next page', async () => {
    for (const token of [undefined, 'eyJwYWdlIjoyfQ==']) {
      const { sdk, fast } = await bothWays(fetchShapedInput(token));
      expectSameRequest(sdk, fast);
      expect(fast.request.headers['x-amz-target']).toBe('GraniteServiceVersion20100801.GetMetricData');
      expect(fast.request.headers['content-type']).toBe('application/x-amz-json-1.0');
      expect(fast.request.headers.authorization).toBe(sdk.request.headers.authorization);
    }
    expect(writeGetMetricDataRequest(fetchShapedInput())).toBeDefined();
    expect(clientWith(true, OK_EMPTY, []).config.protocol).toBeInstanceOf(GetMetricDataFastProtocol);
  });

  it('writes timestamps as epoch seconds, fractional with milliseconds, and every optional member in the model order', async () => {
    const input: GetMetricDataCommandInput = {
      MetricDataQueries: [
        { Id: 'e1', Expression: 'SUM(METRICS())', Label: 'all', ReturnData: false, Period: 300, AccountId: '123456789012' },
        { Id: 'm1', MetricStat: { Metric: { Namespace: 'NS', MetricName: 'M', Dimensions: [] }, Period: 1, Stat: 'Average', Unit: 'Milliseconds' }, Label: undefined },
        { Id: 'm2', MetricStat: { Metric: { Namespace: 'NS', MetricName: 'M' }, Period: 60, Stat: 'Sum' } },
      ],
      StartTime: new Date(T - 1_234),
      EndTime: new Date(T + 7),
      MaxDatapoints: 100_800,
      LabelOptions: { Timezone: '+0130' },
      ScanBy: 'TimestampDescending',
    };
    const { sdk, fast } = await bothWays(input);
    expectSameRequest(sdk, fast);
    expect(JSON.parse(fast.request.body)).toMatchObject({ StartTime: (T - 1_234) / 1000, EndTime: (T + 7) / 1000 });
    expect(writeGetMetricDataRequest(input)).toBeDefined();
  });

  it('leaves null members and null list items out, as the SDK does', async () => {
    const input = {
      MetricDataQueries: [null, { Id: 'q0', MetricStat: { Metric: { Namespace: 'NS', MetricName: 'M', Dimensions: [null, { Name: 'A', Value: 'b' }] }, Period: 60, Stat: 'Sum' }, Label: null }],
      StartTime: new Date(T - 60_000),
      EndTime: new Date(T),
      NextToken: null,
    } as unknown as GetMetricDataCommandInput;
    const { sdk, fast } = await bothWays(input);
    expectSameRequest(sdk, fast);
    expect(writeGetMetricDataRequest(input)).toBeDefined();
  });

  it('hands inputs it does not write plainly to the SDK (a number for a timestamp, NaN, a __type key), with the same result', async () => {
    const odd = [
      { ...fetchShapedInput(), StartTime: (T - 600_000) / 1000 },
      { ...fetchShapedInput(), MaxDatapoints: NaN },
      { ...fetchShapedInput(), LabelOptions: { __type: 'x', Timezone: '+0000', Extra: 1 } },
      { ...fetchShapedInput(), EndTime: new Date(NaN) },
    ] as unknown as GetMetricDataCommandInput[];
    for (const input of odd) {
      expect(writeGetMetricDataRequest(input)).toBeUndefined();
      const { sdk, fast } = await bothWays(input);
      expect(fast.request).toStrictEqual(sdk.request);
    }
  });

  it('leaves other operations to the SDK', async () => {
    const answer: Canned = { statusCode: 200, body: '{"Metrics":[{"Namespace":"NS","MetricName":"M","Dimensions":[]}],"NextToken":"n"}' };
    const input = { Namespace: 'NS', RecentlyActive: 'PT3H' as const };
    const sdk = await send(false, new ListMetricsCommand(input), answer);
    const fast = await send(true, new ListMetricsCommand(input), answer);
    expect(fast.request).toStrictEqual(sdk.request);
    expectSameOutput(sdk, fast);
  });

  it('matches the SDK byte for byte over generated inputs (any Unicode in names and values)', async () => {
    const text = fc.string({ unit: 'binary', maxLength: 12 });
    const dimension = fc.record({ Name: text, Value: text });
    const metric = fc.record({ Namespace: text, MetricName: text, Dimensions: fc.array(dimension, { maxLength: 4 }) }, { requiredKeys: ['Namespace', 'MetricName'] });
    const query = fc.record(
      {
        Id: text,
        MetricStat: fc.record({ Metric: metric, Period: fc.integer({ min: 1, max: 86_400 }), Stat: text, Unit: fc.constantFrom('Count', 'Seconds', 'Percent') }, { requiredKeys: ['Metric', 'Period', 'Stat'] }),
        Expression: text,
        Label: text,
        ReturnData: fc.boolean(),
        Period: fc.integer({ min: 1, max: 86_400 }),
        AccountId: text,
      },
      { requiredKeys: ['Id'] },
    );
    const date = fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => new Date(ms));
    const input = fc.record(
      {
        MetricDataQueries: fc.array(query, { maxLength: 8 }),
        StartTime: date,
        EndTime: date,
        NextToken: text,
        ScanBy: fc.constantFrom('TimestampAscending', 'TimestampDescending'),
        MaxDatapoints: fc.integer({ min: 1, max: 100_800 }),
        LabelOptions: fc.record({ Timezone: text }, { requiredKeys: [] }),
      },
      { requiredKeys: ['MetricDataQueries', 'StartTime', 'EndTime'] },
    );
    await fc.assert(
      fc.asyncProperty(input, async (generated) => {
        const { sdk, fast } = await bothWays(generated as GetMetricDataCommandInput);
        expect(writeGetMetricDataRequest(generated)).toBeDefined();
        expectSameRequest(sdk, fast);
      }),
      { numRuns: 100 },
    );
  });
});

const SEC = T / 1000;

/** A 200 answer's body, as CloudWatch writes one. */
function answer(body: object): Canned {
  return { statusCode: 200, body: JSON.stringify(body) };
}

function fullPage(results: number, points: number, nextToken?: string): object {
  return {
    MetricDataResults: Array.from({ length: results }, (_, r) => ({
      Id: `q${r}`,
      Label: `fleet-${r} ModelLatency`,
      Timestamps: Array.from({ length: points }, (_, p) => SEC - 600 + p * 60),
      Values: Array.from({ length: points }, (_, p) => ((r * 31 + p * 7) % 997) / 10),
      StatusCode: nextToken ? 'PartialData' : 'Complete',
    })),
    ...(nextToken ? { NextToken: nextToken } : {}),
    Messages: [],
  };
}

describe('the answer', () => {
  const cases: Array<[string, Canned]> = [
    ['a full page of 500 results × 10 datapoints', answer(fullPage(500, 10))],
    ['PartialData with a NextToken', answer(fullPage(20, 3, 'tok-2'))],
    [
      'PartialData without a NextToken, messages at both levels',
      answer({
        MetricDataResults: [{ Id: 'q0', Label: 'x', Timestamps: [SEC - 120, SEC - 60], Values: [1, 2], StatusCode: 'PartialData', Messages: [{ Code: 'MaxQueryTimeRangeExceed', Value: 'too long' }] }],
        Messages: [{ Code: 'Warning', Value: 'throttled partially' }, { Code: 'OnlyCode' }],
      }),
    ],
    ['an empty MetricDataResults', answer({ MetricDataResults: [], Messages: [] })],
    ['an empty object', answer({})],
    ['an empty body', { statusCode: 200, body: '' }],
    ['results without Timestamps or Values', answer({ MetricDataResults: [{ Id: 'q0', Label: 'x', StatusCode: 'Complete' }, { Id: 'q1', Timestamps: [], Values: [], StatusCode: 'Complete' }] })],
    [
      'Forbidden and InternalError status codes',
      answer({
        MetricDataResults: [
          { Id: 'q0', Label: 'x', Timestamps: [], Values: [], StatusCode: 'Forbidden', Messages: [{ Code: 'Forbidden', Value: 'not authorized' }] },
          { Id: 'q1', Label: 'y', Timestamps: [], Values: [], StatusCode: 'InternalError' },
        ],
      }),
    ],
    ['fractional and exponent-written timestamps, negative and tiny values', { statusCode: 200, body: `{"MetricDataResults":[{"Id":"q0","Timestamps":[${SEC}.5,1.8E9,${SEC}.0004,${SEC}.0005],"Values":[-1.5,1e-300,0,5E3],"StatusCode":"Complete"}]}` }],
    ['null members and members the model does not have', answer({ MetricDataResults: [{ Id: 'q0', Label: null, Timestamps: [SEC], Values: [3], StatusCode: 'Complete', Extra: 1 }], NextToken: null, Unknown: 'x' })],
    [
      'neighbours whose timestamps differ by a period, or not at all (the codec shares equal ones)',
      answer({
        MetricDataResults: [
          { Id: 'q0', Timestamps: [SEC - 120, SEC - 60], Values: [1, 2], StatusCode: 'Complete' },
          { Id: 'q1', Timestamps: [SEC - 120, SEC - 60], Values: [3, 4], StatusCode: 'Complete' },
          { Id: 'q6', Timestamps: [SEC - 60, SEC], Values: [0, 0], StatusCode: 'Complete' },
          { Id: 'q2', Timestamps: [SEC - 120, SEC - 60, SEC], Values: [5, 6, 7], StatusCode: 'Complete' },
          { Id: 'q3', Timestamps: [SEC - 120], Values: [8], StatusCode: 'PartialData' },
          { Id: 'q4', Timestamps: [], Values: [], StatusCode: 'Complete' },
          { Id: 'q5', Timestamps: [SEC - 60, SEC], Values: [9, 10], StatusCode: 'Complete' },
        ],
      }),
    ],
    ['a 200 with a request id in another case', { statusCode: 200, body: '{"MetricDataResults":[]}', headers: { 'X-Amzn-RequestId': 'upper' } }],
  ];
  it.each(cases)('deep-equals the SDK for %s', async (_name, canned) => {
    const { sdk, fast } = await bothWays(fetchShapedInput(), canned);
    expectSameOutput(sdk, fast);
    if (canned.body !== '') expect(readGetMetricDataResponse(JSON.parse(canned.body))).toBeDefined();
  });

  it('deep-equals the SDK for an answer near the 100,800-datapoint limit', async () => {
    const { sdk, fast } = await bothWays(fetchShapedInput(), answer(fullPage(100, 1_008)));
    expectSameOutput(sdk, fast);
    const value = fast.ok ? (fast.value as { MetricDataResults: Array<{ Timestamps: Date[] }> }) : undefined;
    expect(value?.MetricDataResults[99]?.Timestamps[1_007]).toStrictEqual(new Date((SEC - 600 + 1_007 * 60) * 1000));
  });

  it('hands answers it does not read plainly to the SDK (string numbers, nulls in lists, __type), with the same output', async () => {
    const odd: object[] = [
      { MetricDataResults: [{ Id: 'q0', Timestamps: [String(SEC)], Values: ['NaN', 'Infinity', 1], StatusCode: 'Complete' }] },
      { MetricDataResults: [null, { Id: 'q0', Timestamps: [SEC, null], Values: [1, null] }] },
      { __type: 'com.amazonaws.cloudwatch#GetMetricDataOutput', MetricDataResults: [], Extra: 'kept by the SDK' },
      { MetricDataResults: { q0: 1 } },
      { Messages: [null] },
    ];
    for (const body of odd) {
      expect(readGetMetricDataResponse(body)).toBeUndefined();
      const { sdk, fast } = await bothWays(fetchShapedInput(), answer(body));
      expectSameOutput(sdk, fast);
    }
  });

  it('rejects what the SDK rejects: a timestamp past the range of numbers, a body that is not JSON', async () => {
    for (const body of [`{"MetricDataResults":[{"Id":"q0","Timestamps":[1e999],"Values":[1]}]}`, '{"MetricDataResults":[']) {
      const { sdk, fast } = await bothWays(fetchShapedInput(), { statusCode: 200, body });
      expect(sdk.ok).toBe(false);
      expect(fast.ok).toBe(false);
      if (!sdk.ok && !fast.ok) expect(fast.error.constructor).toBe(sdk.error.constructor);
    }
  });

  it('surfaces an error answer as the SDK typed error, unchanged', async () => {
    const canned: Canned = {
      statusCode: 400,
      body: JSON.stringify({ __type: 'com.amazonaws.cloudwatch#InvalidParameterValue', message: 'The parameter StartTime must be before EndTime.' }),
      headers: { 'x-amzn-query-error': 'InvalidParameterValue;Sender' },
    };
    const { sdk, fast } = await bothWays(fetchShapedInput(), canned);
    expect(sdk.ok).toBe(false);
    expect(fast.ok).toBe(false);
    if (sdk.ok || fast.ok) return;
    expect(fast.error).toBeInstanceOf(InvalidParameterValueException);
    expect(fast.error).toStrictEqual(sdk.error);
    expect({ ...fast.error, message: fast.error.message, name: fast.error.name }).toStrictEqual({ ...sdk.error, message: sdk.error.message, name: sdk.error.name });
  });

  it('matches the SDK over generated answers', async () => {
    const code = fc.constantFrom('Complete', 'PartialData', 'Forbidden', 'InternalError');
    const message = fc.record({ Code: fc.string(), Value: fc.string() }, { requiredKeys: [] });
    const seconds = fc.oneof(fc.integer({ min: 0, max: 4_102_444_800 }), fc.double({ min: 0, max: 4_102_444_800, noNaN: true }));
    const result = fc.record(
      {
        Id: fc.string(),
        Label: fc.string(),
        Timestamps: fc.array(seconds, { maxLength: 6 }),
        Values: fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 6 }),
        StatusCode: code,
        Messages: fc.array(message, { maxLength: 2 }),
      },
      { requiredKeys: [] },
    );
    const body = fc.record({ MetricDataResults: fc.array(result, { maxLength: 6 }), NextToken: fc.string(), Messages: fc.array(message, { maxLength: 2 }) }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(body, async (generated) => {
        expect(readGetMetricDataResponse(JSON.parse(JSON.stringify(generated)))).toBeDefined();
        const { sdk, fast } = await bothWays(fetchShapedInput(), answer(generated));
        expectSameOutput(sdk, fast);
      }),
      { numRuns: 100 },
    );
  });
});
