import type { ProviderView } from '../deployment-provider';
import type { RunPodPod } from './pod-api';

/**
 * A RunPod pod in our terms (ProviderView) and where its endpoint answers.
 *
 * The endpoint: the pod exposes one `N/http` port. openapi-v2.json publishes the live mapping
 * in `runtime.ports` (`PodRuntimePort {private, public, type, ip}`) once the pod runs, and has
 * no URL field: an `http` port is served by RunPod's proxy at `https://<podId>-<port>.proxy.runpod.net`
 * (the template below); a port published as `tcp` with a public ip and port is reached directly.
 * Until the mapping for our port appears the URL is null.
 */

export const DEFAULT_PROXY_URL_TEMPLATE = 'https://{podId}-{port}.proxy.runpod.net';
export const DEFAULT_HTTP_PORT = 8080;

const NOT_FOUND_REASON = 'the pod no longer exists';

export function viewOfPod(pod: RunPodPod, proxyUrlTemplate: string): ProviderView {
  switch (pod.status) {
    case 'PROVISIONING':
      return { status: 'PROVISIONING', endpointUrl: null };
    case 'STARTING':
      return { status: 'STARTING', endpointUrl: null };
    case 'RUNNING':
      return { status: 'RUNNING', endpointUrl: endpointUrlOf(pod, proxyUrlTemplate) };
    case 'EXITED':
      return { status: 'STOPPED', endpointUrl: null, reason: `RunPod pod ${pod.id} EXITED: its container stopped` };
    case 'ERROR':
      return {
        status: 'FAILED',
        endpointUrl: null,
        reason: `RunPod pod ${pod.id} is in ERROR: its container is in an unrecoverable error state (see the pod's logs on RunPod)`,
      };
    case 'TERMINATED':
      return { status: 'STOPPED', endpointUrl: null, reason: `RunPod pod ${pod.id} was terminated` };
    default:
      throw new Error(`RunPod pod ${pod.id} has a status this server does not know: ${JSON.stringify(pod.status)}`);
  }
}

export function goneView(): ProviderView {
  return { status: 'STOPPED', endpointUrl: null, reason: NOT_FOUND_REASON };
}

/** The first `N/http` of the pod's ports. */
export function httpPortOf(pod: RunPodPod): number | null {
  for (const entry of pod.ports) {
    const match = /^(\d{1,5})\/http$/i.exec(entry.trim());
    if (match) return Number(match[1]);
  }
  return null;
}

export function endpointUrlOf(pod: RunPodPod, proxyUrlTemplate: string): string | null {
  if (pod.status !== 'RUNNING') return null;
  const port = httpPortOf(pod);
  const mapped = port === null ? undefined : pod.runtimePorts.find((entry) => entry.private === port);
  if (port === null || !mapped) return null;
  if (mapped.type.toLowerCase() === 'tcp' && mapped.ip && mapped.public) return `http://${mapped.ip}:${mapped.public}`;
  return proxyUrlTemplate.replaceAll('{podId}', encodeURIComponent(pod.id)).replaceAll('{port}', String(port));
}
