// The floor: a byte-level reverse proxy (no MCP work at all) in front of an HTTP server, in a few lines of
// node:http. What one extra loopback hop costs.
//   node bench/raw-proxy.mjs --target 127.0.0.1:PORT [--port N]
import { Agent, createServer, request } from 'node:http';

const args = process.argv.slice(2);
const [host, port] = args[args.indexOf('--target') + 1].split(':');
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const proxy = createServer((req, res) => {
  const upstream = request(
    { host, port, method: req.method, path: req.url, headers: req.headers, agent },
    (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    },
  );
  upstream.on('error', () => res.writeHead(502).end());
  req.pipe(upstream);
});
proxy.listen(Number(args.includes('--port') ? args[args.indexOf('--port') + 1] : 0), '127.0.0.1', () =>
  console.log(`listening http://127.0.0.1:${proxy.address().port}`),
);
