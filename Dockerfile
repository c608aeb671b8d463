# Builds the `annals` binary and runs it on a slim base.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin annals

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/annals annals && mkdir -p /var/lib/annals && chown annals /var/lib/annals
COPY --from=build /src/target/release/annals /usr/local/bin/annals
USER annals
WORKDIR /var/lib/annals
ENV ANNALS_DATA_DIR=/var/lib/annals/data
EXPOSE 8080
ENTRYPOINT ["annals"]
CMD ["serve"]
