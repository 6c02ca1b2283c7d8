import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { checkedAddresses, type HostResolver, privateAddressReason } from '@app/mcp-registry';

/** The agents an upstream HTTP or SSE transport dials through (keep-alive sockets shared per host). */
export interface UpstreamAgents {
  readonly 'http:': http.Agent;
  readonly 'https:': https.Agent;
}

/** How the gateway reaches HTTP upstreams: agents for its own transport, a fetch on the same for the SDK's. */
export interface UpstreamNetwork {
  readonly agents: UpstreamAgents;
  readonly fetch: FetchLike;
  /** Whether every dial is checked against the private-address rule (MCP_BLOCK_PRIVATE_URLS). */
  readonly guarded: boolean;
}

/**
 * A `lookup` for `net.connect` that resolves once, refuses the whole name if any address is private, and
 * hands the socket exactly the addresses it checked (no second resolution an attacker's DNS could answer
 * differently: DNS rebinding).
 */
export function guardedLookup(resolve: HostResolver, refusal: AddressRefusal): LookupFunction {
  return (hostname, options, callback) => {
    checkedAddresses(hostname, resolve, refusal).then(
      (addresses) => {
        const wanted = options.family ? addresses.filter((a) => a.family === options.family) : addresses;
        if (!wanted.length) {
          const error: NodeJS.ErrnoException = new Error(
            `upstream host ${hostname} has no IPv${options.family} address`,
          );
          error.code = 'ENOTFOUND';
          callback(error, '', 0);
        } else if (options.all) callback(null, wanted);
        else callback(null, wanted[0].address, wanted[0].family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

type ConnectCallback = (err: Error | null, stream: Duplex) => void;

/** Why an address may not be dialed (a phrase after the address), or null: the private-address rule by default. */
export type AddressRefusal = (address: string) => string | null;

interface Guard {
  resolve: HostResolver;
  refusal: AddressRefusal;
}

/**
 * The agent, with every connection it opens checked: an IP literal before connecting (`net.connect` does not
 * look those up), a name through `guardedLookup`. Redirect hops and reconnects open connections through the
 * same agents.
 */
function guarded<A extends http.Agent>(agent: A, guard: Guard): A {
  const lookup = guardedLookup(guard.resolve, guard.refusal);
  const connect = agent.createConnection.bind(agent);
  (agent as http.Agent).createConnection = (options: http.ClientRequestArgs, callback?: ConnectCallback) => {
    const host = (options.host ?? options.hostname ?? 'localhost').replace(/^\[|\]$/g, '');
    if (!isIP(host)) return connect({ ...options, lookup }, callback);
    checkedAddresses(host, guard.resolve, guard.refusal).then(
      () => {
        const socket = connect(options, callback);
        if (socket) callback?.(null, socket);
      },
      (error: Error) => callback?.(error, undefined as unknown as Duplex),
    );
    return undefined;
  };
  return agent;
}

/**
 * `fetch` on node:http and the given agents, for the SDK's SSE client transport. It never follows a redirect
 * (the SDK follows those within the origin itself, each hop a new call here, so each hop is checked).
 */
export function agentFetch(agents: UpstreamAgents): FetchLike {
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof URL ? input.href : input);
      const method = (init.method ?? 'GET').toUpperCase();
      // Strings (MCP messages), and form bodies (OAuth token and registration requests).
      const form = init.body instanceof URLSearchParams ? init.body : null;
      const body = form ? form.toString() : init.body;
      if (body !== undefined && body !== null && typeof body !== 'string') {
        reject(new TypeError('the upstream fetch sends string and form bodies only'));
        return;
      }
      const requestHeaders = new Headers(init.headers);
      if (form && !requestHeaders.has('content-type'))
        requestHeaders.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
      const signal = init.signal;
      if (signal?.aborted) {
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        return;
      }
      const client = url.protocol === 'https:' ? https : http;
      const req = client.request(
        url,
        {
          method,
          headers: Object.fromEntries(requestHeaders),
          agent: agents[url.protocol === 'https:' ? 'https:' : 'http:'],
        },
        (res) => {
          res.once('end', release);
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers))
            for (const one of [value ?? []].flat()) headers.append(name, one);
          const status = res.statusCode ?? 502;
          const empty = method === 'HEAD' || [204, 205, 304].includes(status);
          try {
            const response = new Response(
              empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>),
              {
                status,
                statusText: res.statusMessage,
                headers,
              },
            );
            Object.defineProperty(response, 'url', { value: url.href });
            if (empty) res.resume();
            resolve(response);
          } catch (error) {
            res.destroy();
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        },
      );
      // The SDK passes one long-lived signal with every request: the listener goes when the request does.
      const onAbort = () => req.destroy(new Error('aborted'));
      const release = () => signal?.removeEventListener('abort', onAbort);
      signal?.addEventListener('abort', onAbort, { once: true });
      req.once('close', release);
      req.on('error', reject);
      req.end(body ?? undefined);
    });
}

function network(agents: UpstreamAgents, guarded: boolean): UpstreamNetwork {
  return { agents, fetch: agentFetch(agents), guarded };
}

/** Unchecked dialing: MCP_BLOCK_PRIVATE_URLS off, or a config server with `allow_private_url: true`. */
export const OPEN_NETWORK: UpstreamNetwork = network(
  { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) },
  false,
);

/**
 * Dialing where every connection is checked against the private-address rule (or the `refusal` given),
 * names resolved by `resolve`.
 */
export function guardedNetwork(
  resolve: HostResolver,
  refusal: AddressRefusal = privateAddressReason,
): UpstreamNetwork {
  const guard = { resolve, refusal };
  return network(
    {
      'http:': guarded(new http.Agent({ keepAlive: true }), guard),
      'https:': guarded(new https.Agent({ keepAlive: true }), guard),
    },
    true,
  );
}
