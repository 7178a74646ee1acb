import { badInput } from '../../domain-error';
import type { DeploymentSpec } from '../deployment-provider';
import { DEFAULT_HTTP_PORT } from './pod-view';

/** What of a deployment's spec and environment goes into a pod, checked. */

const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL/i;

export function imageOf(spec: DeploymentSpec): string {
  const image = spec.image?.trim() ?? '';
  if (image === '') throw badInput('image', 'a RunPod deployment needs a container image (e.g. "ghcr.io/you/signal-endpoint:1.0")');
  if (/\s/.test(image)) throw badInput('image', 'must be an image reference without spaces');
  return image;
}

/** The port the container serves HTTP on: the environment's PORT when valid, else 8080. */
export function portOf(env: Record<string, string>): number {
  const port = Number(env.PORT);
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : DEFAULT_HTTP_PORT;
}

/** RunPod wants a power of two, at least 2. */
export function vcpuCountOf(cpu: number): number {
  let count = 2;
  while (count < cpu && count < 1024) count *= 2;
  return count;
}

/** Values of the environment that must not appear in a message: named like secrets, or signed URLs. */
export function secretValuesOf(env: Record<string, string>): string[] {
  return Object.entries(env)
    .filter(([name, value]) => SECRET_NAME.test(name) || /^https?:\/\/[^?]*\?./i.test(value))
    .map(([, value]) => value);
}

/** A providerRef of ours is a pod id; anything else is a bug, never sent to RunPod. */
export function podId(providerRef: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(providerRef)) throw new Error(`"${providerRef.slice(0, 100)}" is not a RunPod pod id`);
  return providerRef;
}
