import type * as grpc from '@grpc/grpc-js';

/**
 * The service with each response encoded once per message object: when one change sends the same
 * (shared) message to many streams, they share one encoded buffer instead of encoding it each, and
 * a slow reader holds a reference to that buffer instead of a copy.
 */
export function withSharedResponseEncoding(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(service).map(([name, method]) => {
      const encoded = new WeakMap<object, Buffer>();
      const serialize = method.responseSerialize;
      const responseSerialize = (value: unknown): Buffer => {
        if (typeof value !== 'object' || value === null) return serialize(value);
        let bytes = encoded.get(value);
        if (!bytes) {
          bytes = serialize(value);
          encoded.set(value, bytes);
        }
        return bytes;
      };
      return [name, { ...method, responseSerialize }];
    }),
  );
}
