import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { asyncEndpointsDashboard } from './dashboards/async-endpoints';
import { bridgeDashboard } from './dashboards/bridge';
import { endpointDetailDashboard } from './dashboards/endpoint-detail';
import { fleetOverviewDashboard } from './dashboards/fleet-overview';
import { inferenceComponentsDashboard } from './dashboards/inference-components';
import { llmServingDashboard } from './dashboards/llm-serving';
import { multiModelDashboard } from './dashboards/multi-model';
import { neuronDashboard } from './dashboards/neuron';
import { serverlessDashboard } from './dashboards/serverless';

export { BRIDGE_DATA_OFFSET, BRIDGE_RATE_WINDOW, bridgeIncrease, bridgeLatest, bridgeRate, latencyQuantile } from './dashboards/shared';
export { asyncEndpointsDashboard, bridgeDashboard, endpointDetailDashboard, fleetOverviewDashboard, inferenceComponentsDashboard, llmServingDashboard, multiModelDashboard, neuronDashboard, serverlessDashboard };

/** Every dashboard the provisioner posts, the fleet overview first. */
export function allDashboards(): Dashboard[] {
  return [
    fleetOverviewDashboard(),
    endpointDetailDashboard(),
    inferenceComponentsDashboard(),
    llmServingDashboard(),
    asyncEndpointsDashboard(),
    serverlessDashboard(),
    multiModelDashboard(),
    neuronDashboard(),
    bridgeDashboard(),
  ];
}
