# syntax=docker/dockerfile:1
# Build stage: install everything, compile TypeScript, copy the Lua scripts next to the output, and
# build the dashboard (ui/ -> dist/ui, served at /admin/ui/).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json vite.config.ts ./
COPY scripts ./scripts
COPY machines ./machines
COPY src ./src
COPY ui ./ui
RUN npm run build && npm prune --omit=dev

# Runtime stage: production dependencies and the build output only, as a non-root user.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3333 \
    HOST=0.0.0.0
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 3333
# /healthz never depends on Redis or the upstreams; node's fetch avoids installing curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3333)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: the node process is PID 1 and receives SIGTERM directly (graceful drain).
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
