import { AwsJson1_0Protocol } from '@aws-sdk/core/protocols';
import type { GetMetricDataCommandOutput } from '@aws-sdk/client-cloudwatch';
import { collectBody } from '@smithy/core/protocols';
import { NormalizedSchema } from '@smithy/core/schema';
import type { EndpointBearer, HandlerExecutionContext, HttpRequest, HttpResponse, MetadataBearer, OperationSchema, SerdeFunctions } from '@smithy/types';

/**
 * GetMetricData's request and 200 answer, written and read without the SDK's schema walk.
 *
 * A full read at 10,000 variants makes ~740 calls of 500 queries (~150 KB of JSON each) and gets ~3.5 M datapoints
 * back; the SDK's schema-driven JSON serde (writeStruct, structIterator, _read, parseEpochTimestamp per timestamp)
 * was 17 % of that cycle's CPU, plus the garbage it made (issue 23). This codec produces the same bytes and the same
 * output objects for the shapes GetMetricData takes and gives. Anything it does not recognise (an unusual value
 * type, a `__type` key, a null in a list, a timestamp as a string) goes to the SDK's own serde, and so do every other
 * operation and every error answer: the test `get-metric-data-protocol.test.ts` holds the two paths equal.
 */

/** A shape this codec leaves to the SDK: thrown inside, caught at the top, never seen by callers. */
class NotPlain extends Error {}

type Json = string | number | boolean | JsonObject | Json[];
interface JsonObject {
  [key: string]: Json;
}
type Convert = (value: unknown) => Json;

const string: Convert = (value) => {
  if (typeof value !== 'string') throw new NotPlain();
  return value;
};
/** The SDK writes NaN and ±Infinity quoted; CloudWatch's numbers (Period, MaxDatapoints) are finite integers. */
const number: Convert = (value) => {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new NotPlain();
  return value;
};
const boolean: Convert = (value) => {
  if (typeof value !== 'boolean') throw new NotPlain();
  return value;
};
/** AWS JSON 1.0 writes a timestamp as epoch seconds, fractional when it has milliseconds (`String(ms / 1000)`). */
const epochSeconds: Convert = (value) => {
  if (!(value instanceof Date)) throw new NotPlain();
  const ms = value.getTime();
  if (!Number.isFinite(ms)) throw new NotPlain();
  return ms / 1000;
};

function record(value: unknown): Record<string, unknown> {
  // The SDK copies every key of a struct carrying a string `__type`; only plain structs are written here.
  if (value === null || typeof value !== 'object' || Array.isArray(value) || typeof (value as { __type?: unknown }).__type === 'string') throw new NotPlain();
  return value as Record<string, unknown>;
}

/** A structure in the model's member order (the order the SDK writes), absent and null members left out. */
function struct(members: ReadonlyArray<readonly [string, Convert]>): Convert {
  return (value) => {
    const from = record(value);
    const out: JsonObject = {};
    for (const [name, convert] of members) {
      const member = from[name];
      if (member !== undefined && member !== null) out[name] = convert(member);
    }
    return out;
  };
}

/** A list: the SDK skips null items of a list that is not sparse, and no list of this operation is. */
function list(item: Convert): Convert {
  return (value) => {
    if (!Array.isArray(value)) throw new NotPlain();
    const out: Json[] = [];
    for (const element of value) if (element !== undefined && element !== null) out.push(item(element));
    return out;
  };
}

/** A statistic's Metric is shared by its siblings (13 for a latency histogram): written once per request. */
function sharedMetric(): Convert {
  const write = struct([
    ['Namespace', string],
    ['MetricName', string],
    ['Dimensions', list(struct([['Name', string], ['Value', string]]))],
  ]);
  const seen = new Map<unknown, Json>();
  return (value) => {
    let json = seen.get(value);
    if (json === undefined) {
      json = write(value);
      seen.set(value, json);
    }
    return json;
  };
}

/** GetMetricDataInput as @aws-sdk/client-cloudwatch 3.1162 models it (GetMetricDataInput$, MetricDataQuery$, ...). */
function requestWriter(): Convert {
  const metricStat = struct([
    ['Metric', sharedMetric()],
    ['Period', number],
    ['Stat', string],
    ['Unit', string],
  ]);
  const query = struct([
    ['Id', string],
    ['MetricStat', metricStat],
    ['Expression', string],
    ['Label', string],
    ['ReturnData', boolean],
    ['Period', number],
    ['AccountId', string],
  ]);
  return struct([
    ['MetricDataQueries', list(query)],
    ['StartTime', epochSeconds],
    ['EndTime', epochSeconds],
    ['NextToken', string],
    ['ScanBy', string],
    ['MaxDatapoints', number],
    ['LabelOptions', struct([['Timezone', string]])],
  ]);
}

/** The request body the SDK would write for this input, or undefined when the SDK should write it. */
export function writeGetMetricDataRequest(input: unknown): string | undefined {
  try {
    return JSON.stringify(requestWriter()(input));
  } catch (error) {
    if (error instanceof NotPlain) return undefined;
    throw error;
  }
}

type Output = Omit<GetMetricDataCommandOutput, '$metadata'>;

/** `{Code, Value}` pairs, the members the SDK keeps when they are not null. */
function readMessages(value: unknown): Array<{ Code?: string; Value?: string }> {
  if (!Array.isArray(value)) throw new NotPlain();
  return value.map((item: unknown) => {
    const from = record(item);
    const out: { Code?: string; Value?: string } = {};
    if (from.Code != null) out.Code = string(from.Code) as string;
    if (from.Value != null) out.Value = string(from.Value) as string;
    return out;
  });
}

/**
 * One answer's timestamps, shared: the 500 results of a call mostly carry the same periods, so a result whose
 * Timestamps equal the previous result's gets the same Date[] and the others reuse its Date objects. A full read at
 * 10,000 variants gets ~3.5 M timestamps and so allocates a few thousand Dates instead. Equal by value to the SDK's
 * output; the arrays and Dates are read-only to their consumers (fetch.ts hands them on, the translator calls getTime).
 */
class TimestampReader {
  private readonly dates = new Map<number, Date>();
  private previousSeconds: readonly number[] = [];
  private previousDates: Date[] = [];

  read(value: unknown): Date[] {
    if (!Array.isArray(value)) throw new NotPlain();
    if (this.sameAsPrevious(value)) return this.previousDates;
    const out = new Array<Date>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = this.date(value[i]);
    this.previousSeconds = value as number[];
    this.previousDates = out;
    return out;
  }

  private sameAsPrevious(value: readonly unknown[]): boolean {
    const previous = this.previousSeconds;
    if (value.length !== previous.length || value.length === 0) return false;
    for (let i = 0; i < value.length; i++) if (value[i] !== previous[i]) return false;
    return true;
  }

  /** Epoch seconds to Date as the SDK's parseEpochTimestamp does (rounded to the millisecond). */
  private date(seconds: unknown): Date {
    // Strings, nulls and 1e999 (JSON's Infinity) are the SDK's to parse or refuse.
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) throw new NotPlain();
    let date = this.dates.get(seconds);
    if (date === undefined) {
      date = new Date(Math.round(seconds * 1000));
      this.dates.set(seconds, date);
    }
    return date;
  }
}

/** The parsed array itself when every item is a number (the SDK would leave each one as it is). */
function readValues(value: unknown): number[] {
  if (!Array.isArray(value)) throw new NotPlain();
  for (const item of value) if (typeof item !== 'number') throw new NotPlain();
  return value as number[];
}

function readResult(value: unknown, timestamps: TimestampReader): NonNullable<Output['MetricDataResults']>[number] {
  const from = record(value);
  const out: NonNullable<Output['MetricDataResults']>[number] = {};
  if (from.Id != null) out.Id = string(from.Id) as string;
  if (from.Label != null) out.Label = string(from.Label) as string;
  if (from.Timestamps != null) out.Timestamps = timestamps.read(from.Timestamps);
  if (from.Values != null) out.Values = readValues(from.Values);
  if (from.StatusCode != null) out.StatusCode = string(from.StatusCode) as typeof out.StatusCode;
  if (from.Messages != null) out.Messages = readMessages(from.Messages);
  return out;
}

/** The SDK's GetMetricDataOutput for a parsed 200 body, or undefined when the SDK should read it. */
export function readGetMetricDataResponse(body: unknown): Output | undefined {
  try {
    const from = record(body);
    const out: Output = {};
    if (from.MetricDataResults != null) {
      if (!Array.isArray(from.MetricDataResults)) throw new NotPlain();
      const timestamps = new TimestampReader();
      out.MetricDataResults = from.MetricDataResults.map((result: unknown) => readResult(result, timestamps));
    }
    if (from.NextToken != null) out.NextToken = string(from.NextToken) as string;
    if (from.Messages != null) out.Messages = readMessages(from.Messages);
    return out;
  } catch (error) {
    if (error instanceof NotPlain) return undefined;
    throw error;
  }
}

function isGetMetricData(operation: OperationSchema): boolean {
  return operation.name === 'GetMetricData' && operation.namespace === 'com.amazonaws.cloudwatch';
}

/**
 * CloudWatch's own protocol (AWS JSON 1.0) with GetMetricData's body and 200 answer done by the codec above. The
 * request keeps everything else the SDK builds (endpoint, path, `x-amz-target`, content type, query-mode header),
 * and the client keeps its whole middleware stack (signing, retries, the bridge's call counting).
 * Pass the class as `protocol` in the CloudWatchClient config: the client constructs it with its own settings.
 */
export class GetMetricDataFastProtocol extends AwsJson1_0Protocol {
  override async serializeRequest<Input extends object>(
    operationSchema: OperationSchema,
    input: Input,
    context: HandlerExecutionContext & SerdeFunctions & EndpointBearer,
  ): Promise<HttpRequest> {
    const body = isGetMetricData(operationSchema) ? writeGetMetricDataRequest(input) : undefined;
    if (body === undefined) return super.serializeRequest(operationSchema, input, context);
    // The SDK builds the request around an empty input (cheap), and the codec's body replaces its "{}".
    const request = await super.serializeRequest<object>(operationSchema, {}, context);
    request.body = body;
    return request;
  }

  override async deserializeResponse<Output extends MetadataBearer>(operationSchema: OperationSchema, context: HandlerExecutionContext & SerdeFunctions, response: HttpResponse): Promise<Output> {
    if (!isGetMetricData(operationSchema) || this.isErrorResponse(response.statusCode)) return super.deserializeResponse(operationSchema, context, response);
    // As RpcProtocol.deserializeResponse does: header names lower-cased in place, the body collected once.
    for (const name of Object.keys(response.headers)) {
      const value = response.headers[name] as string;
      delete response.headers[name];
      response.headers[name.toLowerCase()] = value;
    }
    const bytes = await collectBody(response.body, context);
    let output: object = {};
    if (bytes.byteLength > 0) {
      const parsed: unknown = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
      output = readGetMetricDataResponse(parsed) ?? ((await this.deserializer.read(NormalizedSchema.of(operationSchema.output), bytes)) as object);
    }
    return Object.assign({}, output, { $metadata: this.deserializeMetadata(response) }) as unknown as Output;
  }
}
