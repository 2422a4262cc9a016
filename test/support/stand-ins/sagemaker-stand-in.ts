import { validation } from './aws-json';
import type { FleetEndpoint } from './fleet';

interface EndpointRecord {
  endpoint: FleetEndpoint;
  createdAt: number;
  modifiedAt: number;
}

/** Creation and modification time (epoch s) of an endpoint that gives none. */
export const DEFAULT_TIME = 1_700_000_000;
const SERVERLESS_CONFIG = { MemorySizeInMB: 2048, MaxConcurrency: 20, ProvisionedConcurrency: 2 };
const SORT_KEYS = ['Name', 'CreationTime', 'Status'];
const SORT_ORDERS = ['Ascending', 'Descending'];

/**
 * SageMaker (AWS JSON 1.1, `SageMaker.`): ListEndpoints, DescribeEndpoint and DescribeEndpointConfig for the fleet's
 * endpoints, with SageMaker's documented filters, sorting and paging. `AwsStandIn` serves it over HTTP.
 */
export class SageMakerStandIn {
  private readonly endpoints = new Map<string, EndpointRecord>();
  private readonly byConfigName = new Map<string, EndpointRecord>();

  constructor(endpoints: readonly FleetEndpoint[]) {
    for (const endpoint of endpoints) {
      const createdAt = endpoint.createdAt ?? DEFAULT_TIME;
      const record = { endpoint, createdAt, modifiedAt: endpoint.modifiedAt ?? createdAt };
      this.endpoints.set(endpoint.name, record);
      this.byConfigName.set(`${endpoint.name}-config`, record);
    }
  }

  /** An endpoint update (e.g. a new instance count): SageMaker moves its LastModifiedTime. */
  updateEndpoint(name: string, variants: FleetEndpoint['variants'], modifiedAt: number): void {
    const record = this.endpoints.get(name);
    if (!record) throw new Error(`no endpoint ${name} in the fleet`);
    record.endpoint = { ...record.endpoint, variants };
    record.modifiedAt = modifiedAt;
  }

  /**
   * SageMaker's documented ListEndpoints: MaxResults 1..100 (default 10), SortBy Name | CreationTime | Status
   * (default CreationTime), SortOrder (default Descending), CreationTimeAfter (>=), CreationTimeBefore (<),
   * LastModifiedTimeAfter (>), LastModifiedTimeBefore (<), NameContains, StatusEquals; NextToken pages.
   */
  listEndpoints(body: Record<string, unknown>): unknown {
    const maxResults = body.MaxResults === undefined ? 10 : Number(body.MaxResults);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100) {
      const bound = maxResults > 100 ? 'less than or equal to 100' : 'greater than or equal to 1';
      throw validation(`1 validation error detected: Value '${String(body.MaxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value ${bound}`, 'ValidationException');
    }
    const sortBy = body.SortBy === undefined ? 'CreationTime' : String(body.SortBy);
    const sortOrder = body.SortOrder === undefined ? 'Descending' : String(body.SortOrder);
    if (!SORT_KEYS.includes(sortBy)) throw validation(`Value '${sortBy}' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [${SORT_KEYS.join(', ')}]`, 'ValidationException');
    if (!SORT_ORDERS.includes(sortOrder)) throw validation(`Value '${sortOrder}' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [${SORT_ORDERS.join(', ')}]`, 'ValidationException');
    const time = (key: string) => (body[key] === undefined ? undefined : Number(body[key]));
    const [createdAfter, createdBefore, modifiedAfter, modifiedBefore] = ['CreationTimeAfter', 'CreationTimeBefore', 'LastModifiedTimeAfter', 'LastModifiedTimeBefore'].map(time);
    const nameContains = body.NameContains === undefined ? undefined : String(body.NameContains);
    const status = body.StatusEquals === undefined ? undefined : String(body.StatusEquals);
    const matching = [...this.endpoints.values()].filter(
      (r) =>
        (createdAfter === undefined || r.createdAt >= createdAfter) &&
        (createdBefore === undefined || r.createdAt < createdBefore) &&
        (modifiedAfter === undefined || r.modifiedAt > modifiedAfter) &&
        (modifiedBefore === undefined || r.modifiedAt < modifiedBefore) &&
        (nameContains === undefined || r.endpoint.name.includes(nameContains)) &&
        (status === undefined || status === 'InService'),
    );
    const byName = (a: EndpointRecord, b: EndpointRecord) => (a.endpoint.name < b.endpoint.name ? -1 : a.endpoint.name > b.endpoint.name ? 1 : 0);
    matching.sort((a, b) => (sortBy === 'CreationTime' ? a.createdAt - b.createdAt || byName(a, b) : byName(a, b)));
    if (sortOrder === 'Descending') matching.reverse();
    let offset = 0;
    if (body.NextToken !== undefined) {
      offset = Number(Buffer.from(String(body.NextToken), 'base64').toString());
      if (!Number.isInteger(offset) || offset < 0) throw validation('Invalid pagination token', 'ValidationException');
    }
    const page = matching.slice(offset, offset + maxResults);
    const next = offset + page.length < matching.length ? Buffer.from(String(offset + page.length)).toString('base64') : undefined;
    return {
      Endpoints: page.map((r) => ({
        EndpointName: r.endpoint.name,
        EndpointArn: `arn:aws:sagemaker:us-east-2:123456789012:endpoint/${r.endpoint.name}`,
        CreationTime: r.createdAt,
        LastModifiedTime: r.modifiedAt,
        EndpointStatus: 'InService',
      })),
      ...(next ? { NextToken: next } : {}),
    };
  }

  describeEndpoint(body: Record<string, unknown>): unknown {
    const record = this.endpoints.get(String(body.EndpointName));
    if (!record) throw validation(`Could not find endpoint "${String(body.EndpointName)}".`, 'ValidationException');
    const endpoint = record.endpoint;
    return {
      EndpointName: endpoint.name,
      EndpointArn: `arn:aws:sagemaker:us-east-2:123456789012:endpoint/${endpoint.name}`,
      EndpointConfigName: `${endpoint.name}-config`,
      EndpointStatus: 'InService',
      CreationTime: record.createdAt,
      LastModifiedTime: record.modifiedAt,
      ProductionVariants: endpoint.variants.map((v) => ({
        VariantName: v.name,
        CurrentWeight: v.weight,
        DesiredWeight: v.weight,
        ...(endpoint.shape === 'serverless' ? { CurrentServerlessConfig: SERVERLESS_CONFIG } : { CurrentInstanceCount: v.instances, DesiredInstanceCount: v.instances }),
      })),
    };
  }

  describeEndpointConfig(body: Record<string, unknown>): unknown {
    const record = this.byConfigName.get(String(body.EndpointConfigName));
    if (!record) throw validation(`Could not find endpoint configuration "${String(body.EndpointConfigName)}".`, 'ValidationException');
    const endpoint = record.endpoint;
    return {
      EndpointConfigName: `${endpoint.name}-config`,
      EndpointConfigArn: `arn:aws:sagemaker:us-east-2:123456789012:endpoint-config/${endpoint.name}-config`,
      CreationTime: record.createdAt,
      ProductionVariants: endpoint.variants.map((v) => ({
        VariantName: v.name,
        // Endpoints that host inference components name their models in the components, not in the config.
        ...(endpoint.shape === 'inference-components' ? {} : { ModelName: `${endpoint.name}-model` }),
        ...(endpoint.shape === 'serverless' ? { ServerlessConfig: SERVERLESS_CONFIG } : { InstanceType: v.instanceType, InitialInstanceCount: v.instances }),
      })),
      ...(endpoint.shape === 'async' ? { AsyncInferenceConfig: { OutputConfig: { S3OutputPath: `s3://inferwatch-stand-in/${endpoint.name}/out/` } } } : {}),
      ...(endpoint.enhanced ? { MetricsConfig: { EnableEnhancedMetrics: true } } : {}),
    };
  }

  /** SageMaker no longer lists or describes the endpoint. */
  deleteEndpoint(name: string): void {
    if (!this.endpoints.delete(name)) throw new Error(`no endpoint ${name} in the fleet`);
  }
}
