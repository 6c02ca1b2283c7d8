import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { Injectable } from '@nestjs/common';

/**
 * Addresses an upstream may not be dialed at when MCP_BLOCK_PRIVATE_URLS is on: loopback, private,
 * link-local (including the cloud metadata address 169.254.169.254), carrier-grade NAT, benchmarking,
 * multicast, reserved and unspecified, their IPv6 twins, and every IPv6 form that carries an IPv4 address
 * (mapped, deprecated IPv4-compatible, NAT64, 6to4, Teredo), judged by the IPv4 address it carries.
 */
const blockedV4 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blockedV4.addSubnet(net, prefix, 'ipv4');
}
const blockedV6 = new BlockList();
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48], // local-use NAT64: whatever it translates to is the operator's network
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  blockedV6.addSubnet(net, prefix, 'ipv6');
}

/** The 16 bytes of an IPv6 address (with `::` and a trailing dotted quad), or null if it is not one. */
export function ipv6Bytes(address: string): number[] | null {
  if (isIP(address) !== 6) return null;
  let text = address.toLowerCase().split('%')[0];
  const tail: number[] = [];
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    tail.push(...quad.slice(1).map(Number));
    text = text.slice(0, quad.index) + '0:0';
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, null];
  const words = (part: string) => (part ? part.split(':').map((w) => parseInt(w, 16)) : []);
  const left = words(head);
  const right = rest === null ? [] : words(rest);
  const all = [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = all.flatMap((w) => [w >> 8, w & 0xff]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** IPv4 addresses an IPv6 address carries in a well-known form (the address itself is judged too). */
function embeddedIpv4(bytes: number[]): string[] {
  const v4 = (at: number, xor = 0) =>
    bytes
      .slice(at, at + 4)
      .map((b) => b ^ xor)
      .join('.');
  const zero = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  const found: string[] = [];
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (IPv4-compatible, deprecated but still routed by some stacks).
  if (zero(0, 10) && ((bytes[10] === 0xff && bytes[11] === 0xff) || zero(10, 12))) found.push(v4(12));
  // 64:ff9b::a.b.c.d (well-known NAT64 prefix).
  if (bytes[0] === 0 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zero(4, 12))
    found.push(v4(12));
  // 2002:a.b.c.d::/48 (6to4).
  if (bytes[0] === 0x20 && bytes[1] === 0x02) found.push(v4(2));
  // 2001:0::/32 (Teredo): the server at bytes 4-7, the client obfuscated in the last four.
  if (bytes[0] === 0x20 && bytes[1] === 0x01 && bytes[2] === 0 && bytes[3] === 0)
    found.push(v4(4), v4(12, 0xff));
  return found;
}

/**
 * Why an address may not be dialed (MCP_BLOCK_PRIVATE_URLS), as a phrase that follows the address ("is a
 * private or reserved address", "carries 127.0.0.1, …"), or null when it is a public address.
 */
export function privateAddressReason(raw: string): string | null {
  const address = raw.replace(/^\[|\]$/g, '');
  const family = isIP(address);
  const privateOrReserved = 'is a private or reserved address';
  if (family === 4) return blockedV4.check(address, 'ipv4') ? privateOrReserved : null;
  const bytes = family === 6 ? ipv6Bytes(address) : null;
  if (!bytes) return 'is not an IP address';
  if (blockedV6.check(address, 'ipv6')) return privateOrReserved;
  const inner = embeddedIpv4(bytes).find((v4) => blockedV4.check(v4, 'ipv4'));
  return inner ? `carries ${inner}, a private or reserved address` : null;
}

export function isPrivateAddress(raw: string): boolean {
  return privateAddressReason(raw) !== null;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (`dns.lookup`, so /etc/hosts counts). Injectable for tests. */
export type HostResolver = (host: string) => Promise<ResolvedAddress[]>;

export const systemResolver: HostResolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

/**
 * Resolves a host (an IP literal is its own address) and returns its addresses, or throws an error saying
 * why it may not be dialed: it does not resolve, or any of its addresses is private.
 */
export async function checkedAddresses(
  host: string,
  resolve: HostResolver,
  refusal: (address: string) => string | null = privateAddressReason,
): Promise<ResolvedAddress[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  const literal = isIP(bare);
  let addresses: ResolvedAddress[];
  if (literal) addresses = [{ address: bare, family: literal === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await resolve(bare);
    } catch {
      throw new PrivateAddressError(`upstream host ${bare} does not resolve`, 'ENOTFOUND');
    }
    if (!addresses.length)
      throw new PrivateAddressError(`upstream host ${bare} does not resolve`, 'ENOTFOUND');
  }
  for (const { address } of addresses) {
    const why = refusal(address);
    if (why)
      throw new PrivateAddressError(
        literal
          ? `upstream address ${address} ${why} (MCP_BLOCK_PRIVATE_URLS is on)`
          : `upstream host ${bare} resolves to ${address}, which ${why} (MCP_BLOCK_PRIVATE_URLS is on)`,
      );
  }
  return addresses;
}

/** A dial refused by the private-address rule; `code` is what a socket error would carry. */
export class PrivateAddressError extends Error {
  constructor(
    message: string,
    readonly code = 'EPRIVATEADDRESS',
  ) {
    super(message);
    this.name = 'PrivateAddressError';
  }
}

/** Resolves the URL's host and returns a problem if any address it resolves to is private; null if fine. */
export async function checkUrlNotPrivate(
  url: string,
  resolve: HostResolver = systemResolver,
): Promise<string | null> {
  try {
    await checkedAddresses(new URL(url).hostname, resolve);
    return null;
  } catch (error) {
    return error instanceof PrivateAddressError ? error.message.replace(/^upstream /, 'url ') : String(error);
  }
}

/**
 * The resolver the registry's check and the upstream dialer use: the system's, unless a test swaps in its own
 * (a rebinding resolver, say) through `use()`. One instance per application.
 */
@Injectable()
export class HostResolution {
  private current: HostResolver = systemResolver;

  /** Resolves through the resolver in use at the time of the call. */
  readonly resolve: HostResolver = (host) => this.current(host);

  use(resolver: HostResolver): void {
    this.current = resolver;
  }
}
