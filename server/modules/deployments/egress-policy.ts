import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { badInput } from '../../domain-error';

/** Addresses a vendor's URL must not lead a LOCAL endpoint to: this machine and the networks behind it. */
const INTERNAL = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  INTERNAL.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  INTERNAL.addSubnet(network, prefix, 'ipv6');
}

function internal(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return INTERNAL.check(mapped[1], 'ipv4');
  return INTERNAL.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/**
 * What a LOCAL deployment may be told to reach (its model.url, its signalsUrl): the endpoint runs
 * on the server's machine, so a vendor's URL must not point it at that machine or its private
 * networks (the database, a cloud metadata service). Hosts in MP_LOCAL_EGRESS_ALLOW_HOSTS, and
 * the server's own origin (its signal store), are allowed. A name is judged by the addresses it resolves to now; one that
 * does not resolve is let through (the endpoint cannot reach it either), and a name that resolves
 * elsewhere later is beyond this check (see the README).
 */
export class EgressPolicy {
  constructor(
    private readonly allowedHosts: ReadonlySet<string>,
    private readonly ownUrl: () => string,
  ) {}

  async check(field: string, url: string): Promise<void> {
    const parsed = new URL(url);
    const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (this.allowedHosts.has(host) || parsed.origin === new URL(this.ownUrl()).origin) return;
    const refuse = (why: string) =>
      badInput(
        field,
        `${why}: a LOCAL deployment runs on the server's machine and may not reach it or its private networks (the operator can allow a host with MP_LOCAL_EGRESS_ALLOW_HOSTS)`,
      );
    if (host === 'localhost' || host.endsWith('.localhost')) throw refuse(`${host} is this machine`);
    if (isIP(host)) {
      if (internal(host)) throw refuse(`${host} is a loopback, private or link-local address`);
      return;
    }
    const addresses = await lookup(host, { all: true, verbatim: true }).catch(() => []);
    const inside = addresses.find((entry) => internal(entry.address));
    if (inside) throw refuse(`${host} resolves to ${inside.address}, a loopback, private or link-local address`);
  }
}
