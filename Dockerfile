# Sigil server image. better-sqlite3 compiles SQLite at install, hence the build tools.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ gcc && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json ./
COPY native ./native
COPY scripts ./scripts
COPY proto ./proto
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends openssl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/native/build/Release/peercred.node ./native/build/Release/peercred.node
COPY proto ./proto
COPY package.json ./
COPY migrations ./migrations
COPY config ./config
RUN useradd --system --uid 10001 sigil && mkdir -p /var/lib/sigil && chown sigil /var/lib/sigil
USER sigil
ENV SIGIL_DATA_DIR=/var/lib/sigil
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["server", "run", "--config", "config/server.yaml"]
