// The client under test for the conformance suite's client scenarios (`conformance client --command ...`), run by
// scripts/conformance.mjs. The suite starts a scenario server and appends its URL; this driver makes the gateway
// the scenario's client: it registers the URL as an MCP server on a running gateway (admin API, the revision the
// suite asks for as the server's `protocol_version`), then drives the gateway from downstream as an ordinary MCP
// client would: lists the tools and calls each one (arguments made from its input schema), answering whatever
// the upstream asks through the gateway (elicitation: accepted with the schema's defaults). The server is removed
// at the end. With DIRECT=1 the same client talks to the scenario server itself (the plain SDK client's figures).
//   GATEWAY_URL=http://127.0.0.1:N GATEWAY_KEY=sk-... node conformance-client-driver.mjs <server url>
import { randomBytes } from 'node:crypto';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
} from '@modelcontextprotocol/client';

const serverUrl = process.argv.at(-1);
const revision = process.env.MCP_CONFORMANCE_PROTOCOL_VERSION ?? '2025-11-25';
const modern = revision === '2026-07-28';
const direct = process.env.DIRECT === '1';
const gateway = process.env.GATEWAY_URL;
const key = process.env.GATEWAY_KEY;
const log = (...args) => console.error('[driver]', ...args);
/** The scenario and what it hands the client (a pre-registered client's id and secret, for one). */
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT ?? '{}');
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? context.name ?? '';

/**
 * Arguments for a tool from its input schema: its required properties, each with a value of its type, and its
 * optional string properties mirrored into headers (`x-mcp-header`) with a value that needs Base64 there.
 */
function argumentsFor(schema) {
  const args = {};
  const properties = schema?.properties ?? {};
  for (const [name, property] of Object.entries(properties))
    if (property['x-mcp-header'] !== undefined && property.type === 'string') args[name] = ' café ';
  for (const name of schema?.required ?? []) {
    const property = properties[name] ?? {};
    const type = Array.isArray(property.type) ? property.type[0] : property.type;
    args[name] =
      property.default ??
      property.enum?.[0] ??
      (type === 'integer'
        ? 2
        : type === 'number'
          ? 3
          : type === 'boolean'
            ? true
            : type === 'object'
              ? {}
              : type === 'array'
                ? []
                : 'us-west');
  }
  return args;
}

/** An elicitation answered as a user who accepts the form's defaults. */
function accept(params) {
  const content = {};
  for (const [name, property] of Object.entries(params.requestedSchema?.properties ?? {}))
    if (property.default !== undefined) content[name] = property.default;
  return { action: 'accept', content };
}

async function register() {
  const name = `cc_${randomBytes(4).toString('hex')}`;
  const res = await fetch(`${gateway}/v1/mcp/server`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      server_name: name,
      url: serverUrl,
      protocol_version: revision === '2026-07-28' ? revision : '2025-11-25',
      // An authorization scenario: each user signs in (the gateway's per-user OAuth), with the scenario's
      // pre-registered client when it gives one.
      ...(scenario.startsWith('auth/')
        ? {
            auth_type: 'oauth2',
            oauth2_flow: 'authorization_code',
            ...(context.client_id ? { client_id: context.client_id } : {}),
            ...(context.client_secret ? { client_secret: context.client_secret } : {}),
          }
        : {}),
    }),
  });
  if (!res.ok) throw new Error(`registering the scenario server failed: ${res.status} ${await res.text()}`);
  const { server_id: id } = await res.json();
  return { name, id };
}

/**
 * The plain SDK client's OAuth (DIRECT=1): the SDK's own flow with an in-memory provider; the "browser" follows
 * the authorization URL and reads the code from the redirect to a callback nobody serves.
 */
const CALLBACK = 'http://localhost:3000/callback';
function oauthProvider() {
  const memory = {
    tokens: undefined,
    client: undefined,
    verifier: undefined,
    code: undefined,
    discovery: undefined,
  };
  return {
    memory,
    get redirectUrl() {
      return CALLBACK;
    },
    get clientMetadata() {
      return {
        client_name: 'conformance-driver',
        redirect_uris: [CALLBACK],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      };
    },
    clientInformation: () =>
      memory.client ??
      (context.client_id
        ? { client_id: context.client_id, client_secret: context.client_secret }
        : undefined),
    saveClientInformation: (info) => (memory.client = info),
    tokens: () => memory.tokens,
    saveTokens: (tokens) => (memory.tokens = tokens),
    saveCodeVerifier: (verifier) => (memory.verifier = verifier),
    codeVerifier: () => memory.verifier,
    discoveryState: () => memory.discovery,
    saveDiscoveryState: (discovery) => (memory.discovery = discovery),
    invalidateCredentials: (scope) => {
      if (scope === 'all' || scope === 'tokens') memory.tokens = undefined;
      if (scope === 'all' || scope === 'client') memory.client = undefined;
      if (scope === 'all' || scope === 'discovery') memory.discovery = undefined;
    },
    redirectToAuthorization: async (url) => {
      let next = url.href;
      for (let hops = 0; hops < 10 && !next.startsWith(CALLBACK); hops++) {
        const res = await fetch(next, { redirect: 'manual' });
        await res.body?.cancel();
        const location = res.headers.get('location');
        if (!location) return;
        next = new URL(location, next).href;
      }
      const back = new URL(next);
      memory.code = back.searchParams.get('code') ?? undefined;
      memory.iss = back.searchParams.get('iss') ?? undefined;
    },
  };
}

/** The plain client's OAuth state and transport (a step-up later in the session finishes on it). */
let oauth = null;

/** Connects, signing in with the SDK's flow when the server asks. */
async function connectWithOAuth(client, makeTransport) {
  const provider = oauthProvider();
  for (let tries = 0; ; tries++) {
    const transport = makeTransport(provider);
    oauth = { provider, transport };
    try {
      await client.connect(transport);
      return;
    } catch (error) {
      if (!provider.memory.code || tries >= 3) throw error;
      const { code, iss } = provider.memory;
      provider.memory.code = undefined;
      await transport.finishAuth(code, iss);
    }
  }
}

async function connect(url) {
  const headers = direct ? {} : { Authorization: `Bearer ${key}` };
  if (modern) {
    const client = new ClientV2(
      { name: 'conformance-driver', version: '1.0.0' },
      { capabilities: { elicitation: {} }, versionNegotiation: { mode: { pin: revision } } },
    );
    client.setRequestHandler('elicitation/create', (request) => accept(request.params));
    if (direct && scenario.startsWith('auth/'))
      await connectWithOAuth(client, (authProvider) => new TransportV2(new URL(url), { authProvider }));
    else await client.connect(new TransportV2(new URL(url), { requestInit: { headers } }));
    return client;
  }
  const client = new ClientV1(
    { name: 'conformance-driver', version: '1.0.0' },
    { capabilities: { elicitation: { form: { applyDefaults: true } } } },
  );
  client.setRequestHandler(ElicitRequestSchema, (request) => accept(request.params));
  if (direct && scenario.startsWith('auth/'))
    await connectWithOAuth(client, (authProvider) => new TransportV1(new URL(url), { authProvider }));
  else await client.connect(new TransportV1(new URL(url), { requestInit: { headers } }));
  return client;
}

/** The sign-in URL a -32042 (URL elicitation required) error carries, if it is one. */
function signInUrl(error) {
  if (error?.code !== -32042) return null;
  return error.data?.elicitations?.find((e) => e.mode === 'url')?.url ?? null;
}

/** The person at the browser: opens the URL and follows the redirects (the scenario's server approves). */
async function browse(url) {
  let next = url;
  for (let hops = 0; hops < 10; hops++) {
    const res = await fetch(next, { redirect: 'manual' });
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) {
      log(
        `sign-in ended with ${res.status}: ${(await res.text())
          .replace(/<[^>]+>/g, ' ')
          .trim()
          .slice(0, 200)}`,
      );
      return;
    }
    await res.body?.cancel();
    next = new URL(location, next).href;
  }
}

/** An operation, after the sign-ins the gateway asks for (at most 4: a first one and step-ups). */
async function signedIn(operation) {
  for (let tries = 0; ; tries++) {
    try {
      return await operation();
    } catch (error) {
      // The plain client: the SDK's own step-up (403 insufficient_scope) sent the "browser" to sign in again.
      if (oauth?.provider.memory.code && tries < 4) {
        const { code, iss } = oauth.provider.memory;
        oauth.provider.memory.code = undefined;
        await oauth.transport.finishAuth(code, iss);
        continue;
      }
      const url = signInUrl(error);
      if (!url || tries >= 4) throw error;
      log('signing in at the upstream authorization server');
      await browse(url);
    }
  }
}

let registered = null;
try {
  if (!direct) registered = await register();
  const client = await connect(direct ? serverUrl : `${gateway}/${registered.name}/mcp`);
  const { tools } = await signedIn(() => client.listTools());
  log(`${tools.length} tools: ${tools.map((t) => t.name).join(', ')}`);
  for (const tool of tools) {
    try {
      const result = await signedIn(() =>
        client.callTool({ name: tool.name, arguments: argumentsFor(tool.inputSchema) }),
      );
      log(`${tool.name}: ${JSON.stringify(result).slice(0, 200)}`);
    } catch (error) {
      log(`${tool.name} failed: ${error.message}`);
    }
  }
  await client.close();
} catch (error) {
  log(`failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  if (registered)
    await fetch(`${gateway}/v1/mcp/server/${registered.id}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${key}` },
    }).catch(() => undefined);
}
