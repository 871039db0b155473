# The one Portico image: `portico controller | speaker | ingress`.
FROM node:24-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The development tools that are not the product (the lab, the testbed) are built with the rest but
# their workspace links are removed, and the final stage copies only the product's packages: the
# command line and what it depends on (test/image.test.ts checks this list against package.json).
RUN npm ci && npx tsc -b && npm prune --omit=dev && rm -f node_modules/@portico/lab node_modules/@portico/testbed

FROM node:24-bookworm-slim
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/packages/allocator ./packages/allocator
COPY --from=build /src/packages/bgp ./packages/bgp
COPY --from=build /src/packages/cli ./packages/cli
COPY --from=build /src/packages/config ./packages/config
COPY --from=build /src/packages/controller ./packages/controller
COPY --from=build /src/packages/dev-apiserver ./packages/dev-apiserver
COPY --from=build /src/packages/dev-kube-apiserver ./packages/dev-kube-apiserver
COPY --from=build /src/packages/ingress ./packages/ingress
COPY --from=build /src/packages/kube ./packages/kube
COPY --from=build /src/packages/layer2 ./packages/layer2
COPY --from=build /src/packages/native ./packages/native
COPY --from=build /src/packages/net ./packages/net
COPY --from=build /src/packages/speaker ./packages/speaker
USER 65534:65534
ENTRYPOINT ["node", "/app/packages/cli/bin/portico.js"]
