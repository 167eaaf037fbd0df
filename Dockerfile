# asicd in a container, for controllers that run their services that way (docs/deployment.md has the run
# command). Two stages: the build stage compiles TypeScript with the dev dependencies; the image gets the built
# code and the production dependencies only, and runs as its own unprivileged user.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# serialport ships prebuilt bindings for every Linux architecture; spi-device (optional) compiles only where a
# toolchain exists, so the slim image skips it and the board MCUs are reached over tcp:// or a toolchain is added
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# as in the systemd unit: two malloc arenas instead of one per thread (~8 MB less memory), and a fixed mmap
# threshold so large blocks go back to the system when freed
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072
# dialout: the chain UARTs (root:dialout 0660 on the host, passed in with --device)
RUN groupadd --system asicd \
 && useradd --system --gid asicd --groups dialout --home-dir /var/lib/asicd --shell /usr/sbin/nologin asicd \
 && mkdir -p /etc/asicd /var/lib/asicd /run/lock \
 && chown asicd:asicd /etc/asicd /var/lib/asicd
WORKDIR /opt/asicd
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY package.json README.md ./
COPY --chown=asicd:asicd config/asicd.toml /etc/asicd/asicd.toml
USER asicd
VOLUME ["/var/lib/asicd"]
EXPOSE 8080 4028
STOPSIGNAL SIGTERM
# V8 sized for a 256 MB controller, as in the systemd unit
ENTRYPOINT ["node", "--max-old-space-size=96", "--optimize-for-size", "/opt/asicd/bin/asicd.js"]
CMD ["run", "--config", "/etc/asicd/asicd.toml"]
