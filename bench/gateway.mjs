// How the benchmark runs a gateway: from a checkout's production build, on a config file, on a free loopback port.
import path from 'node:path';

/** The gateway's command line (after `node`) for `checkout`'s build and `config`. */
export function gatewayArgs(checkout, config) {
  return [
    path.join(checkout, 'dist/apps/gateway/src/main.js'),
    '--config',
    config,
    '--port',
    '0',
    '--host',
    '127.0.0.1',
  ];
}

/** The environment every benchmarked gateway gets (production mode; info logs carry the listening port). */
export const GATEWAY_ENV = { NODE_ENV: 'production', LOG_LEVEL: 'info' };
