# syntax=docker/dockerfile:1
#
# The bedrock-operator image: `docker build -t bedrock-operator:0.1.0 .` builds the image the
# Helm chart (charts/bedrock-operator) deploys by default. See docs/helm.md.

# --- build -----------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
WORKDIR /src
# The whole workspace: Cargo needs every member's manifest even to build one package.
COPY . .
# Cache mounts keep the registry and the build across image builds; the binary is copied out
# of the cached target dir because cache mounts are not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --profile production --locked -p bedrock-operator \
    && install -D -m 0755 target/production/bedrock-operator /out/bedrock-operator

# --- run -------------------------------------------------------------------------------------
# glibc, libgcc and CA certificates, no shell, no package manager; runs as uid/gid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/bedrock-operator /usr/local/bin/bedrock-operator
USER 65532:65532
# The admin server: /metrics, /livez, /readyz.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/bedrock-operator"]
CMD ["run"]
