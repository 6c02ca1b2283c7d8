import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Balancer {
  /** Base URL clients use. */
  url: string;
  /** Where requests go, in turn (replaced at any time: a restarted replica, a killed one). */
  setTargets(targets: string[]): void;
  /** Requests each target answered, by target URL. */
  served: Map<string, number>;
  close(): Promise<void>;
}

/**
 * A round-robin HTTP balancer for tests: every request goes to the next target, with no stickiness of any
 * kind (the hardest case for shared sessions). Bodies are buffered so that a request a target refuses to
 * connect is sent to the next one (as nginx's `proxy_next_upstream error` does); responses, SSE streams
 * included, are piped through as they come.
 */
export async function startBalancer(initial: string[]): Promise<Balancer> {
  let targets = [...initial];
  let next = 0;
  const served = new Map<string, number>();
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer, tries: number) => {
    if (!targets.length || tries >= targets.length) {
      res.writeHead(502, { 'Content-Type': 'text/plain' }).end('no replica answered');
      return;
    }
    const target = targets[next++ % targets.length];
    const url = new URL(req.url ?? '/', target);
    const upstream = httpRequest(
      url,
      { method: req.method, headers: { ...req.headers, host: url.host } },
      (answer) => {
        served.set(target, (served.get(target) ?? 0) + 1);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.flushHeaders();
        answer.pipe(res);
        res.on('close', () => answer.destroy());
      },
    );
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      // Not connected: the next target gets the request. Cut off mid-answer: the client sees it cut off.
      if (!res.headersSent && (error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET'))
        return forward(req, res, body, tries + 1);
      res.destroy();
    });
    upstream.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => forward(req, res, Buffer.concat(chunks), 0));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setTargets: (list) => {
      targets = [...list];
    },
    served,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
