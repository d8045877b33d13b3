# The Consumact server as a small runtime image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p consumact-api --bin consumact

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/consumact --create-home consumact \
    && install -d -o consumact /var/lib/consumact/data
COPY --from=build /src/target/release/consumact /usr/local/bin/consumact
USER consumact
WORKDIR /var/lib/consumact
ENV CONSUMACT_ADDR=0.0.0.0:8080 \
    CONSUMACT_DATA_DIR=/var/lib/consumact/data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["consumact"]
CMD ["serve"]
