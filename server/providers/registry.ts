import type { ServerConfig } from '../config';
import type { Logger } from '../logger';
import type { ComputeProvider, ProviderName } from './provider';
import { LocalProvider } from './local';
import { RunPodProvider } from './runpod';

/** LOCAL always; RUNPOD when RUNPOD_API_KEY and RUNPOD_ENDPOINT_ID are set. */
export function createProviders(config: ServerConfig, log: Logger): Map<ProviderName, ComputeProvider> {
  const providers = new Map<ProviderName, ComputeProvider>();
  providers.set('LOCAL', new LocalProvider({ workRoot: config.training.workRoot }));
  if (config.runpod) {
    providers.set(
      'RUNPOD',
      new RunPodProvider({
        apiKey: config.runpod.apiKey,
        endpointId: config.runpod.endpointId,
        jobsBaseUrl: config.runpod.jobsBaseUrl,
        restBaseUrl: config.runpod.restBaseUrl,
        log: (message) => log.info({ provider: 'RUNPOD' }, message),
      }),
    );
  }
  return providers;
}
