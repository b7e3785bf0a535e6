# The hassec GitHub Action: `runs: using: docker` builds this file, and the release
# workflow publishes it to ghcr.io so that tagged releases need no build.
#
# Stage 1-3 compile with dependency caching (cargo-chef): the dependency layer is
# rebuilt only when Cargo.toml or Cargo.lock change. The final image is Debian slim
# with CA certificates and the binary. There is no USER and no WORKDIR: the runner
# mounts the workspace, checked out by its own user, and starts the container as
# root with the workspace as working directory.

FROM rust:1.95-slim-trixie AS chef
RUN cargo install cargo-chef --locked --version 0.1.71
WORKDIR /build

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /build/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin hassec

FROM debian:trixie-slim
# ca-certificates follows the Debian release's security updates; pinning its exact
# version would break the build at every update.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=builder /build/target/release/hassec /usr/local/bin/hassec
ENTRYPOINT ["/usr/local/bin/hassec", "action"]
