# tunstack — a userspace TCP/IP stack on a TUN device, in a container.
#
#   docker build -t tunstack .
#   docker run --rm --privileged tunstack                       # stack 10.77.0.2 behind tun0 in the container
#   docker compose -f docker/compose.yml up host                # network_mode: host (see README "Docker")
#
# Every stage starts from ${BASE_IMAGE} so that a build can substitute a local
# base (`--build-arg BASE_IMAGE=local/node-base:bookworm`). No `# syntax=`
# line: the classic frontend needs nothing pulled from a registry.
ARG BASE_IMAGE=node:20-bookworm-slim

# ---- build: native toolchain, all dependencies, the TUN shim and the TypeScript ----
FROM ${BASE_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# node-gyp needs Node's headers. The official node images ship them in
# /usr/local/include/node; a base without them gets Debian's (the shim uses
# only N-API, whose ABI is stable across Node versions).
RUN apt-get update \
 && pkgs="python3 make g++" \
 && { [ -f /usr/local/include/node/node_api.h ] || pkgs="$pkgs libnode-dev"; } \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json binding.gyp ./
COPY native-shims ./native-shims
RUN nodedir=/usr/local \
 && { [ -f /usr/local/include/node/node_api.h ] || nodedir=/usr; } \
 && npm_config_nodedir=$nodedir npm ci --no-audit --no-fund \
 && test -f build/Release/tunshim.node
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run -s build

# ---- deps: production dependencies only (pure JavaScript; the shim comes from the build stage) ----
FROM ${BASE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: node, production node_modules, the shim, dist/, the entrypoint ----
FROM ${BASE_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="tunstack" \
      org.opencontainers.image.description="A userspace TCP/IP stack in TypeScript on a Linux TUN device: ping it and curl it from the host" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.documentation="README.md, section Docker"
ENV NODE_ENV=production \
    TUNSTACK_TUN=tun0 \
    TUNSTACK_ADDR=10.77.0.2/24 \
    TUNSTACK_PEER=10.77.0.1 \
    TUNSTACK_HTTP=80
WORKDIR /app
# Everything under /app is root-owned and read-only at run time; the stack
# writes only its control socket (/run/tunstack) and captures you ask for.
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/build/Release/tunshim.node ./build/Release/tunshim.node
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY docker/entrypoint.sh docker/healthcheck.mjs ./docker/
RUN chmod 0755 docker/entrypoint.sh \
 && printf '#!/bin/sh\nexec node /app/dist/cli.js "$@"\n' > /usr/local/bin/tunstack \
 && chmod 0755 /usr/local/bin/tunstack \
 && mkdir -p /run/tunstack /captures
# The stack's own /_stack/stats through the TUN (the control socket when HTTP is off).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["node", "/app/docker/healthcheck.mjs"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD []
