import type { ServerConfig } from '../config';
import type { Logger } from '../logger';
import type { ComputeProvider, ProviderName } from './provider';
import { LocalProvider } from './local';
import { localRunUser } from './local/run-user';
import { RunPodProvider } from './runpod';
import { templatesDir } from '../modules/training/templates';

/** LOCAL always; RUNPOD when RUNPOD_API_KEY and RUNPOD_ENDPOINTS or RUNPOD_ENDPOINT_ID are set. */
export function createProviders(config: ServerConfig, log: Logger): Map<ProviderName, ComputeProvider> {
  const providers = new Map<ProviderName, ComputeProvider>();
  const runUser = localRunUser(config.training.localRunUser, [config.training.templatesDir, templatesDir(), process.execPath, require.resolve('tsx/cjs')]);
  if (runUser.warning) log.warn({ provider: 'LOCAL' }, runUser.warning);
  const local = new LocalProvider({ workRoot: config.training.workRoot, runUser: runUser.name, cpuPricePerHourUsd: config.training.localCpuPricePerHourUsd });
  providers.set('LOCAL', local);
  // What local runs of a server process that is gone left behind: their processes and directories.
  local
    .sweep()
    .then((cleaned) => {
      if (cleaned.length > 0) log.info({ provider: 'LOCAL', runs: cleaned }, 'cleaned up after local runs of a server process that is gone');
    })
    .catch((error: unknown) => log.warn({ err: error, provider: 'LOCAL' }, 'could not clean up after lost local runs'));
  if (config.runpod) {
    providers.set(
      'RUNPOD',
      new RunPodProvider({
        apiKey: config.runpod.apiKey,
        endpoints: config.runpod.endpoints,
        endpointId: config.runpod.endpointId,
        jobsBaseUrl: config.runpod.jobsBaseUrl,
        restBaseUrl: config.runpod.restBaseUrl,
        log: (message) => log.info({ provider: 'RUNPOD' }, message),
      }),
    );
  }
  return providers;
}
