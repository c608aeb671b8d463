# Builds the `annals` binary and runs it on a slim base.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin annals

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/annals annals && mkdir -p /var/lib/annals && chown annals /var/lib/annals
COPY --from=build /src/target/release/annals /usr/local/bin/annals
WORKDIR /var/lib/annals
ENV ANNALS_DATA_DIR=/var/lib/annals/data \
    ANNALS_LISTEN=0.0.0.0:8080 \
    ANNALS_REGISTRY_LISTEN=0.0.0.0:5000 \
    ANNALS_GRPC_LISTEN=0.0.0.0:50051
RUN mkdir -p /var/lib/annals/data && chown annals /var/lib/annals/data
USER annals
EXPOSE 8080 5000 50051
ENTRYPOINT ["annals"]
CMD ["serve"]
