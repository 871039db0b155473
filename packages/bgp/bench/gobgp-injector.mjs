// Drives gobgpd over its gRPC API (testbed.md §2.1) with the same churn plan as our speaker:
// loads the base table with one AddPathStream call, then on {"op":"churn"} sends one
// AddPathStream message per tick (the adds and the withdrawals, `is_withdraw`, of that tick).
// argv[2]: JSON { plan, api: "127.0.0.1:50051", nextHop }. Events on stdout as JSON lines.
// Needs GoBGP's .proto files from the Debian package golang-github-osrg-gobgp-dev.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { emit, prefixOf, runChurn } from './churn-plan.mjs';

export const PROTO_DIR = '/usr/share/gocode/src/github.com/osrg/gobgp/api';

const { plan, api, nextHop } = JSON.parse(process.argv[2]);
if (!existsSync(join(PROTO_DIR, 'gobgp.proto')))
  throw new Error(`${PROTO_DIR}/gobgp.proto missing: apt-get install golang-github-osrg-gobgp-dev`);

const definition = protoLoader.loadSync(join(PROTO_DIR, 'gobgp.proto'), {
  includeDirs: [PROTO_DIR],
  keepCase: true,
  defaults: true,
});
const { apipb } = grpc.loadPackageDefinition(definition);
const client = new apipb.GobgpApi(api, grpc.credentials.createInsecure());

// NLRI and path attributes travel as google.protobuf.Any; encode them with protobufjs.
const types = new protobuf.Root().loadSync(join(PROTO_DIR, 'attribute.proto'), { keepCase: true });
const any = (name, value) => {
  const type = types.lookupType(`apipb.${name}`);
  return { type_url: `type.googleapis.com/apipb.${name}`, value: type.encode(type.create(value)).finish() };
};
// The attributes are the same for every path: encode them once.
const pattrs = [
  any('OriginAttribute', { origin: 0 }),
  any('NextHopAttribute', { next_hop: nextHop }),
  any('CommunitiesAttribute', { communities: [(65001 << 16) | 100] }),
];
const family = { afi: 1, safi: 1 }; // AFI_IP, SAFI_UNICAST
const path = (prefix, isWithdraw) => {
  const [address, length] = prefix.split('/');
  return {
    nlri: any('IPAddressPrefix', { prefix: address, prefix_len: Number(length) }),
    pattrs,
    family,
    is_withdraw: isWithdraw,
  };
};

/** One AddPathStream call; resolves when gobgpd has answered after we closed our side. */
function openStream() {
  let done;
  const finished = new Promise((resolve, reject) => {
    done = (err) => (err ? reject(err) : resolve());
  });
  const stream = client.AddPathStream((err) => done(err));
  return { stream, finished };
}

// Base table, in messages of 500 paths.
{
  const { stream, finished } = openStream();
  for (let i = 0; i < plan.base; i += 500) {
    const paths = [];
    for (let j = i; j < Math.min(i + 500, plan.base); j++) paths.push(path(prefixOf(j), false));
    stream.write({ table_type: 0, paths });
  }
  stream.end();
  await finished;
}
emit({ event: 'ready' });

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.op === 'churn') {
    const { stream, finished } = openStream();
    let backpressure = 0;
    void runChurn(plan, (adds, withdrawals) => {
      const paths = [...adds.map((p) => path(p, false)), ...withdrawals.map((p) => path(p, true))];
      if (!stream.write({ table_type: 0, paths })) backpressure++;
    })
      .then(async (result) => {
        stream.end();
        await finished;
        emit({ event: 'churn-done', ...result, backpressure });
      })
      .catch((err) => emit({ event: 'error', message: String(err) }));
  }
  if (cmd.op === 'stop') {
    client.close();
    process.exit(0);
  }
});
