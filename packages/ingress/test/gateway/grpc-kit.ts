// A gRPC echo server like the conformance suite's grpc-echo, and a client call as the suite's
// client makes it, with @grpc/grpc-js; messages are JSON (both ends are ours).
import * as grpc from '@grpc/grpc-js';
import type { GrpcCase } from './conformance-kit.js';

export const SERVICE = 'gateway_api_conformance.echo_basic.grpcecho.GrpcEcho';
export const METHODS = ['Echo', 'EchoTwo', 'EchoThree'] as const;

export interface EchoAnswer {
  fullyQualifiedMethod: string;
  authority: string;
  namespace: string;
  pod: string;
  headers: Record<string, string>;
}

const toBuffer = (x: unknown): Buffer => (Buffer.isBuffer(x) ? x : Buffer.from(JSON.stringify(x)));
const fromBuffer = (b: Buffer): unknown => (b.length ? JSON.parse(b.toString('utf8')) : {});

/** A gRPC echo server for one Service: its answers name it as the pod, as grpc-echo does. */
export async function startGrpcEcho(
  namespace: string,
  name: string,
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  const definition: grpc.ServiceDefinition = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of METHODS) {
    definition[method] = {
      path: `/${SERVICE}/${method}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: toBuffer,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: toBuffer,
      responseDeserialize: fromBuffer,
    };
    implementation[method] = (
      call: grpc.ServerUnaryCall<Buffer, EchoAnswer>,
      done: grpc.sendUnaryData<EchoAnswer>,
    ) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(call.metadata.getMap())) headers[k] = String(v);
      done(null, {
        fullyQualifiedMethod: `/${SERVICE}/${method}`,
        authority: headers[':authority'] ?? '',
        namespace,
        pod: `${name}-pod`,
        headers,
      });
    };
  }
  server.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { server, port };
}

/** One call as the suite's client makes it; resolves with the status code name and the answer. */
export function call(
  address: string,
  c: GrpcCase,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): Promise<{ code: string; answer?: EchoAnswer; details?: string }> {
  const client = new grpc.Client(
    address,
    credentials,
    c.authority ? { ...options, 'grpc.default_authority': c.authority } : options,
  );
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(c.metadata)) metadata.set(k, v);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `/${SERVICE}/${c.method}`,
      toBuffer,
      (b: Buffer) => fromBuffer(b) as EchoAnswer,
      Buffer.alloc(0),
      metadata,
      { deadline: Date.now() + 10_000 },
      (err, answer) => {
        client.close();
        if (err) resolve({ code: grpc.status[err.code], details: err.details });
        else resolve({ code: 'OK', ...(answer ? { answer } : {}) });
      },
    );
  });
}
