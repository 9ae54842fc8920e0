import * as grpc from '@grpc/grpc-js';
import { healthService } from '../../common/grpc/protos.js';

/** grpc.health.v1.Health for the services served on one socket ('' is the server as a whole). */
export function addHealthService(server: grpc.Server, services: readonly string[]): void {
  const known = new Set(['', ...services]);
  server.addService(healthService().service, {
    Check(call: grpc.ServerUnaryCall<{ service: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      if (!known.has(call.request.service)) return callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${call.request.service}` });
      callback(null, { status: 'SERVING' });
    },
    Watch(call: grpc.ServerWritableStream<{ service: string }, unknown>) {
      call.write({ status: known.has(call.request.service) ? 'SERVING' : 'SERVICE_UNKNOWN' });
    },
  });
}
