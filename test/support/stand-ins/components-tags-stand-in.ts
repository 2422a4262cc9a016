/**
 * The stand-in's SageMaker inference components (ListInferenceComponents, DescribeInferenceComponent, AWS JSON 1.1
 * `SageMaker.`) and the Resource Groups Tagging API's GetResources (AWS JSON 1.1, `ResourceGroupsTaggingAPI_20170126.`),
 * as strict as the API references: SageMaker's ValidationException for a bad or unknown name, the tagging API's
 * InvalidParameterException for ResourceARNList with filters or pagination or more than 100 ARNs.
 */

const REGION = 'us-east-2';
const ACCOUNT = '123456789012';
/** The copies every component has until a test scales it (CloudWatch's InvocationsPerCopy divides by the same). */
export const DEFAULT_COPIES = 2;
export const TAGGING_TARGET_PREFIX = 'ResourceGroupsTaggingAPI_20170126';

const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const COMPONENT_NAME = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const STATUSES = ['InService', 'Creating', 'Updating', 'Failed', 'Deleting'];
const SORT_KEYS = ['Name', 'CreationTime', 'Status'];
const SORT_ORDERS = ['Ascending', 'Descending'];
const PAGINATION_KEYS = ['ResourcesPerPage', 'TagsPerPage', 'PaginationToken'];

/** SageMaker writes the names in its ARNs in lower case: the tagging API answers with these. */
export function endpointArn(name: string): string {
  return `arn:aws:sagemaker:${REGION}:${ACCOUNT}:endpoint/${name.toLowerCase()}`;
}

export function componentArn(name: string): string {
  return `arn:aws:sagemaker:${REGION}:${ACCOUNT}:inference-component/${name.toLowerCase()}`;
}

/** As ListEndpoints and ListInferenceComponents spell them here: the name's own case, so joins must ignore case. */
function listedArn(kind: 'endpoint' | 'inference-component', name: string): string {
  return `arn:aws:sagemaker:${REGION}:${ACCOUNT}:${kind}/${name}`;
}

interface ComponentRecord {
  readonly name: string;
  readonly endpoint: string;
  readonly variant: string;
  desired: number;
  current: number;
  status: string;
  readonly createdAt: number;
  modifiedAt: number;
}

export interface ComponentHost {
  readonly name: string;
  readonly variants: ReadonlyArray<{ readonly name: string }>;
  readonly components?: readonly string[];
  readonly tags?: Readonly<Record<string, string>>;
  readonly componentTags?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly createdAt?: number;
}

type Body = Record<string, unknown>;

function error(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function sagemakerValidation(message: string): Error {
  return error('ValidationException', message);
}

function constraint(value: unknown, member: string, rule: string): Error {
  return sagemakerValidation(`1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: ${rule}`);
}

/** Components hosted by the fleet's endpoints and the tags of endpoints and components. */
export class ComponentsAndTags {
  private readonly components = new Map<string, ComponentRecord>();
  /** Canonical (lower-case) ARN -> tags. A resource tagged once stays listed, with `[]` when its tags are all gone. */
  private readonly tags = new Map<string, Map<string, string>>();
  private throttleRemaining = 0;

  constructor(hosts: readonly ComponentHost[], defaultTime: number) {
    for (const host of hosts) {
      const createdAt = host.createdAt ?? defaultTime;
      if (host.tags) this.tagResource(endpointArn(host.name), host.tags);
      for (const name of host.components ?? []) {
        const variant = host.variants[0]?.name ?? 'AllTraffic';
        this.components.set(name, { name, endpoint: host.name, variant, desired: DEFAULT_COPIES, current: DEFAULT_COPIES, status: 'InService', createdAt, modifiedAt: createdAt });
        const tags = host.componentTags?.[name];
        if (tags) this.tagResource(componentArn(name), tags);
      }
    }
  }

  /**
   * Autoscaling moved the copies. UpdateInferenceComponentRuntimeConfig moves LastModifiedTime when `modifiedAt` is
   * given; without it only the counts change (copies placed or lost while the component stayed as it was).
   */
  setCopies(name: string, copies: { desired: number; current: number }, modifiedAt?: number): void {
    const record = this.components.get(name);
    if (!record) throw new Error(`no inference component ${name}`);
    record.desired = copies.desired;
    record.current = copies.current;
    if (modifiedAt !== undefined) record.modifiedAt = modifiedAt;
  }

  /** TagResources: adds or replaces tags of a resource (by any-case ARN). */
  tagResource(arn: string, tags: Readonly<Record<string, string>>): void {
    const map = this.tags.get(arn.toLowerCase()) ?? new Map<string, string>();
    for (const [key, value] of Object.entries(tags)) map.set(key, value);
    this.tags.set(arn.toLowerCase(), map);
  }

  /** The next `count` GetResources calls are refused with ThrottledException. */
  throttleTaggingNext(count: number): void {
    this.throttleRemaining = count;
  }

  /** DeleteInferenceComponent: SageMaker no longer lists or describes it. */
  deleteComponent(name: string): void {
    if (!this.components.delete(name)) throw new Error(`no inference component ${name}`);
  }

  /** DeleteEndpoint takes its components with it. */
  endpointDeleted(endpoint: string): void {
    for (const [name, record] of this.components) if (record.endpoint === endpoint) this.components.delete(name);
  }

  /** The payload of a call this module serves, or undefined when the action is not one of its. Throws AWS's errors. */
  handle(service: string | undefined, action: string, body: Body): unknown {
    if (service === 'SageMaker' && action === 'ListInferenceComponents') return this.listInferenceComponents(body);
    if (service === 'SageMaker' && action === 'DescribeInferenceComponent') return this.describeInferenceComponent(body);
    if (service === TAGGING_TARGET_PREFIX && action === 'GetResources') return this.getResources(body);
    return undefined;
  }

  /**
   * SageMaker's documented ListInferenceComponents: MaxResults 1..100 (default 10), SortBy Name | CreationTime | Status
   * (default CreationTime), SortOrder (default Descending), NameContains, StatusEquals, EndpointNameEquals,
   * VariantNameEquals, the time filters; NextToken pages. InferenceComponents is always present.
   */
  private listInferenceComponents(body: Body): unknown {
    const maxResults = body.MaxResults === undefined ? 10 : Number(body.MaxResults);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100) {
      throw constraint(body.MaxResults, 'maxResults', `Member must have value ${maxResults > 100 ? 'less than or equal to 100' : 'greater than or equal to 1'}`);
    }
    const sortBy = body.SortBy === undefined ? 'CreationTime' : String(body.SortBy);
    const sortOrder = body.SortOrder === undefined ? 'Descending' : String(body.SortOrder);
    if (!SORT_KEYS.includes(sortBy)) throw constraint(sortBy, 'sortBy', `Member must satisfy enum value set: [${SORT_KEYS.join(', ')}]`);
    if (!SORT_ORDERS.includes(sortOrder)) throw constraint(sortOrder, 'sortOrder', `Member must satisfy enum value set: [${SORT_ORDERS.join(', ')}]`);
    const status = body.StatusEquals === undefined ? undefined : String(body.StatusEquals);
    if (status !== undefined && !STATUSES.includes(status)) throw constraint(status, 'statusEquals', `Member must satisfy enum value set: [${STATUSES.join(', ')}]`);
    const endpoint = body.EndpointNameEquals === undefined ? undefined : String(body.EndpointNameEquals);
    if (endpoint !== undefined && !NAME.test(endpoint)) throw constraint(endpoint, 'endpointNameEquals', `Member must satisfy regular expression pattern: ${NAME.source}`);
    const variant = body.VariantNameEquals === undefined ? undefined : String(body.VariantNameEquals);
    const nameContains = body.NameContains === undefined ? undefined : String(body.NameContains);
    const time = (key: string) => (body[key] === undefined ? undefined : Number(body[key]));
    const [createdAfter, createdBefore, modifiedAfter, modifiedBefore] = ['CreationTimeAfter', 'CreationTimeBefore', 'LastModifiedTimeAfter', 'LastModifiedTimeBefore'].map(time);
    const matching = [...this.components.values()].filter(
      (c) =>
        (endpoint === undefined || c.endpoint === endpoint) &&
        (variant === undefined || c.variant === variant) &&
        (status === undefined || c.status === status) &&
        (nameContains === undefined || c.name.includes(nameContains)) &&
        (createdAfter === undefined || c.createdAt > createdAfter) &&
        (createdBefore === undefined || c.createdAt < createdBefore) &&
        (modifiedAfter === undefined || c.modifiedAt > modifiedAfter) &&
        (modifiedBefore === undefined || c.modifiedAt < modifiedBefore),
    );
    const key = (c: ComponentRecord) => (sortBy === 'Name' ? c.name : sortBy === 'Status' ? c.status : '');
    matching.sort((a, b) => (sortBy === 'CreationTime' ? a.createdAt - b.createdAt : 0) || key(a).localeCompare(key(b)) || a.name.localeCompare(b.name));
    if (sortOrder === 'Descending') matching.reverse();
    let offset = 0;
    if (body.NextToken !== undefined) {
      offset = Number(Buffer.from(String(body.NextToken), 'base64').toString());
      if (!Number.isInteger(offset) || offset < 0) throw sagemakerValidation('Invalid pagination token');
    }
    const page = matching.slice(offset, offset + maxResults);
    const next = offset + page.length < matching.length ? Buffer.from(String(offset + page.length)).toString('base64') : undefined;
    return {
      InferenceComponents: page.map((c) => ({
        InferenceComponentName: c.name,
        InferenceComponentArn: listedArn('inference-component', c.name),
        EndpointName: c.endpoint,
        EndpointArn: listedArn('endpoint', c.endpoint),
        VariantName: c.variant,
        InferenceComponentStatus: c.status,
        CreationTime: c.createdAt,
        LastModifiedTime: c.modifiedAt,
      })),
      ...(next ? { NextToken: next } : {}),
    };
  }

  /** InferenceComponentName is required, at most 63 characters of the documented pattern; an unknown one is a ValidationException. */
  private describeInferenceComponent(body: Body): unknown {
    const name = body.InferenceComponentName;
    if (typeof name !== 'string') throw sagemakerValidation("1 validation error detected: Value null at 'inferenceComponentName' failed to satisfy constraint: Member must not be null");
    if (name.length > 63) throw constraint(name, 'inferenceComponentName', 'Member must have length less than or equal to 63');
    if (!COMPONENT_NAME.test(name)) throw constraint(name, 'inferenceComponentName', `Member must satisfy regular expression pattern: ${COMPONENT_NAME.source}`);
    const c = this.components.get(name);
    if (!c) throw sagemakerValidation(`Could not find inference component "${componentArn(name)}".`);
    return {
      InferenceComponentName: c.name,
      InferenceComponentArn: componentArn(c.name),
      EndpointName: c.endpoint,
      EndpointArn: endpointArn(c.endpoint),
      VariantName: c.variant,
      Specification: { ModelName: `${c.name}-model`, ComputeResourceRequirements: { NumberOfAcceleratorDevicesRequired: 1, MinMemoryRequiredInMb: 1024 } },
      RuntimeConfig: { DesiredCopyCount: c.desired, CurrentCopyCount: c.current },
      CreationTime: c.createdAt,
      LastModifiedTime: c.modifiedAt,
      InferenceComponentStatus: c.status,
    };
  }

  /**
   * The Resource Groups Tagging API's GetResources. ResourceARNList takes 1 to 100 ARNs and excludes TagFilters,
   * ResourceTypeFilters and the pagination parameters (InvalidParameterException); an ARN of no tagged resource is
   * left out without an error. Without it: every resource ever tagged, filtered by type and tags, ResourcesPerPage
   * (1..100, default 50) a page. Tags come back as a list of Key/Value; ARNs in SageMaker's lower case.
   */
  private getResources(body: Body): unknown {
    if (this.throttleRemaining > 0) {
      this.throttleRemaining -= 1;
      throw error('ThrottledException', 'Rate exceeded');
    }
    const mapping = (arn: string, tags: Map<string, string>) => ({ ResourceARN: arn, Tags: [...tags].map(([Key, Value]) => ({ Key, Value })) });
    if (body.ResourceARNList !== undefined) {
      const list = body.ResourceARNList;
      if (!Array.isArray(list) || list.length < 1 || list.length > 100) {
        throw error('InvalidParameterException', `ResourceARNList must hold 1 to 100 ARNs (got ${Array.isArray(list) ? list.length : typeof list})`);
      }
      for (const other of ['TagFilters', 'ResourceTypeFilters', ...PAGINATION_KEYS]) {
        if (body[other] !== undefined) throw error('InvalidParameterException', `You can't specify both ResourceARNList and ${other} in the same request`);
      }
      for (const arn of list) {
        if (typeof arn !== 'string' || arn.length < 1 || arn.length > 1011 || !/^arn:aws[a-z-]*:[^:]+:[^:]*:[^:]*:.+$/.test(arn)) {
          throw error('InvalidParameterException', `${String(arn)} is not a valid ARN`);
        }
      }
      // The ARN as the resource has it: SageMaker's are lower case, and another case names no resource.
      return { PaginationToken: '', ResourceTagMappingList: list.flatMap((arn: string) => (this.tags.has(arn) ? [mapping(arn, this.tags.get(arn) as Map<string, string>)] : [])) };
    }
    const perPage = body.ResourcesPerPage === undefined ? 50 : Number(body.ResourcesPerPage);
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100) throw error('InvalidParameterException', 'ResourcesPerPage must be from 1 to 100');
    const types = (body.ResourceTypeFilters as string[] | undefined) ?? [];
    const filters = (body.TagFilters as Array<{ Key?: string; Values?: string[] }> | undefined) ?? [];
    const matching = [...this.tags]
      .filter(([arn]) => types.length === 0 || types.some((t) => arn.split(':')[2] === t.split(':')[0] && (t.split(':')[1] === undefined || arn.split(':')[5]?.startsWith(`${t.split(':')[1]}/`))))
      .filter(([, tags]) => filters.every((f) => f.Key !== undefined && tags.has(f.Key) && (!f.Values?.length || f.Values.includes(tags.get(f.Key) as string))));
    const offset = body.PaginationToken ? Number(Buffer.from(String(body.PaginationToken), 'base64').toString()) : 0;
    if (!Number.isInteger(offset) || offset < 0) throw error('PaginationTokenExpiredException', 'The pagination token is not valid');
    const page = matching.slice(offset, offset + perPage);
    const next = offset + page.length < matching.length ? Buffer.from(String(offset + page.length)).toString('base64') : '';
    return { PaginationToken: next, ResourceTagMappingList: page.map(([arn, tags]) => mapping(arn, tags)) };
  }
}
