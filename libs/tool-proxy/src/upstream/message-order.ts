/** A transport's message callback, of SDK v1 or v2 (the same shape). */
type OnMessage<M extends object, E> = (message: M, extra?: E) => void;

/**
 * Hands a message from an upstream to the SDK's client in the order the server sent it. The SDK handles a
 * notification one microtask after it arrives but a response at once: a response that arrives in the same read
 * as its progress notifications (a stdio pipe, an SSE chunk) would retire their handler first, and they would
 * be lost. Deferring responses by one microtask puts them behind the notifications already queued.
 */
export function deliverInSentOrder<M extends object, E>(
  onmessage: OnMessage<M, E> | undefined,
  message: M,
  extra?: E,
): void {
  if (!onmessage) return;
  if ('id' in message && ('result' in message || 'error' in message))
    queueMicrotask(() => onmessage(message, extra));
  else onmessage(message, extra);
}

/** The SDK's own client transports (stdio, SSE; v1 or v2), with messages delivered in the order they were sent. */
export function inSentOrder<T extends { onmessage?: OnMessage<never, never> }>(transport: T): T {
  type Callback = OnMessage<object, unknown>;
  let handler: Callback | undefined;
  let delivered: Callback | undefined;
  // The client sets `onmessage` when it connects and the transport calls it: both go through this property.
  Object.defineProperty(transport, 'onmessage', {
    configurable: true,
    enumerable: true,
    get: () => delivered,
    set: (next: Callback | undefined) => {
      handler = next;
      delivered = next && ((message, extra) => deliverInSentOrder(handler, message, extra));
    },
  });
  return transport;
}
