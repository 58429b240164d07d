# Build stage: compiles the native modules (sqlite3, librdkafka) and the TypeScript.
FROM node:20-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      zlib1g-dev libssl-dev libzstd-dev libsasl2-dev liblz4-dev python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
COPY test ./test
RUN CKJS_LINKING=dynamic npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev

# Run stage: only what the product needs, as a non-root user (ca-certificates: Kafka and S3 over TLS).
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      zlib1g libssl3 libzstd1 libsasl2-2 liblz4-1 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY views ./views
COPY public ./public
ENV NODE_ENV=production PORT=8000 DATA_DIR=/data
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["node", "dist/src/main.js"]
