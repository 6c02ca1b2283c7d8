# syntax=docker/dockerfile:1
# Multi-stage build: compile with the dev toolchain, then ship only the runtime dependencies and dist/.

# The Node the README states (22.15 or newer, an LTS).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY apps apps
COPY libs libs
COPY migrations migrations
COPY scripts scripts
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=4000 \
    HOST=0.0.0.0 \
    EMBEDDED_DB_DIR=/app/data/pglite
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
RUN mkdir -p /app/data && chown node:node /app/data
# The official image's unprivileged user (uid 1000).
USER node
EXPOSE 4000
VOLUME ["/app/data"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/health/readiness').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Arguments go to the gateway, as with the product page's image: `--config /app/config.yaml --port 4000`.
ENTRYPOINT ["node", "dist/apps/gateway/src/main.js"]
