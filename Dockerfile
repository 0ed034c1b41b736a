# syntax=docker/dockerfile:1
# meteobot in a small image: built with the project's toolchain, run on
# Debian slim as an unprivileged user with the database on a volume.
#   docker build -t meteobot .
#   docker run -e ADMIN_TOKEN=… -e TELOXIDE_TOKEN=… -p 8080:8080 -v meteobot-data:/data meteobot

FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
COPY . .
# The cache mounts keep the registry and compiled dependencies between builds,
# so a source change recompiles meteobot only. The binary is copied out of the
# cached target/ because cache mounts are not part of the image. Symbols are
# stripped: nothing in the image needs them.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --release --locked --bin meteobot \
    && install -D -m 0755 target/release/meteobot /out/meteobot

FROM debian:bookworm-slim
# TLS roots for providers that use the system store; nothing else is needed
# (SQLite is compiled in, TLS is rustls).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# A fixed uid, so the volume's ownership is the same on every host; /data is
# created owned by it, and Docker copies that ownership into a new volume.
RUN groupadd --system --gid 10001 meteobot \
    && useradd --system --uid 10001 --gid meteobot --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin meteobot \
    && install -d -o meteobot -g meteobot -m 0750 /data
COPY --from=builder /out/meteobot /usr/local/bin/meteobot
# The chart font (DejaVu Sans) is compiled into the binary; its licence asks
# that the notice travel with every copy.
COPY --from=builder /src/assets/fonts/DejaVuSans-LICENSE.txt /usr/share/doc/meteobot/

USER meteobot:meteobot
WORKDIR /data
# Outside a container 127.0.0.1 is the safe default; inside one the port must
# be reachable, which is why ADMIN_TOKEN becomes mandatory (meteobot refuses
# to start on a non-loopback address without it).
ENV DATABASE_URL=sqlite:/data/meteobot.db \
    ADMIN_ADDR=0.0.0.0:8080 \
    RUST_LOG=info
VOLUME ["/data"]
EXPOSE 8080

# No curl in a slim image: bash's /dev/tcp speaks just enough HTTP/1.0 to ask
# /healthz for its status line.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

# SIGTERM (docker stop) ends meteobot cleanly with exit code 0; as PID 1 it
# gets the signal directly because the exec form starts no shell.
ENTRYPOINT ["/usr/local/bin/meteobot"]
