# syntax=docker/dockerfile:1
#
# The bedrock-operator image for people who build with Docker: the same recipe as
# `cargo xtask image` (which needs no Docker and is what the release publishes): a static
# binary, the Mozilla CA roots and the non-root user 65532, on nothing.
#
#   docker build --build-arg SOURCE_REVISION="$(git rev-parse HEAD)" \
#     --build-arg SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)" -t bedrock-operator:0.1.0 .

# --- build -----------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
ARG SOURCE_REVISION=unknown
ARG SOURCE_DATE_EPOCH=0
WORKDIR /src
# The whole workspace: Cargo needs every member's manifest even to build one package.
COPY . .
# Cache mounts keep the registry and the build across image builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    SOURCE_REVISION="$SOURCE_REVISION" SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" \
    cargo xtask image --rootfs /rootfs

# --- run -------------------------------------------------------------------------------------
FROM scratch
COPY --from=build /rootfs /
USER 65532:65532
ENV PATH=/usr/local/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# The admin server: /metrics, /livez, /readyz.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/bedrock-operator"]
CMD ["run"]
