import { PassThrough } from 'node:stream';
import { parseSse, sessionUnknown } from './http-wire.js';

describe('parseSse', () => {
  function parse(chunks: string[]) {
    const stream = new PassThrough();
    const events: { event: string; data: string; id?: string; retry?: number }[] = [];
    parseSse(stream, (e) => events.push({ ...e }));
    for (const chunk of chunks) stream.write(chunk);
    return events;
  }

  it('reads events split anywhere, with LF, CRLF or CR line ends', () => {
    expect(parse(['event: message\ndata: {"a"', ':1}\n', '\n'])).toEqual([
      { event: 'message', data: '{"a":1}' },
    ]);
    expect(parse(['data: x\r', '\n\r\n', 'data: y\r\rdata: z\r\n\r\n'])).toEqual([
      { event: 'message', data: 'x' },
      { event: 'message', data: 'y' },
      { event: 'message', data: 'z' },
    ]);
  });

  it('joins multi-line data, skips comments, keeps ids and retry, and names events', () => {
    expect(parse([': keep-alive\n\nid: 7\nretry: 1500\nevent: other\ndata: a\ndata: b\n\n'])).toEqual([
      { event: 'other', data: 'a\nb', id: '7', retry: 1500 },
    ]);
  });

  it('reports an event with only an id (a priming event) so its id can be resumed from', () => {
    expect(parse(['id: 1\ndata:\n\n'])).toEqual([{ event: 'message', data: '', id: '1' }]);
    expect(parse(['id: 2\n\n'])).toEqual([{ event: 'message', data: '', id: '2' }]);
  });
});

describe('sessionUnknown', () => {
  it('is a 404, or a 400 that says the session is unknown (as servers built from the SDK examples answer)', () => {
    expect(sessionUnknown(404, '')).toBe(true);
    expect(sessionUnknown(400, '{"error":{"message":"Bad Request: No valid session ID provided"}}')).toBe(
      true,
    );
    expect(sessionUnknown(400, '{"error":{"message":"Bad Request: Server not initialized"}}')).toBe(true);
    expect(sessionUnknown(400, '{"error":{"message":"Invalid params"}}')).toBe(false);
    expect(sessionUnknown(500, 'session')).toBe(false);
  });
});
