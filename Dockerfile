# psmongo as one static binary on a minimal image that runs as non-root.
#
#   docker build --build-arg VERSION=$(git describe --always) -t psmongo .
#   docker run -p 6060:6060 -e MONGO_URI=... -e POWERSYNC_URL=... \
#     -e POWERSYNC_PRIVATE_KEY=... psmongo
#
# The README's "Running in production" lists the environment it reads.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# The embedded store's SQLite is pure Go, so the binary needs no libc.
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/psmongo/psmongo/cli.version=${VERSION}" \
    -o /out/psmongo . \
 && mkdir /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/psmongo /psmongo
COPY config.yaml /config.yaml
# The data directory holds the embedded store and the development key,
# which serve uses only without MONGO_URI and POWERSYNC_PRIVATE_KEY. It
# belongs to the image's non-root user, so that a volume mounted there
# is writable.
COPY --from=build --chown=65532:65532 /out/data /data
ENV PSMONGO_DATA_DIR=/data
# config.yaml keeps the server on loopback; a container serves its network.
ENV PSMONGO_SERVER_HOST=0.0.0.0
USER 65532:65532
EXPOSE 6060
# Exec form throughout: the image has no shell. The healthcheck reads the
# same config.yaml and environment as serve, so it finds the same port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/psmongo", "healthcheck", "--config", "/config.yaml"]
ENTRYPOINT ["/psmongo"]
CMD ["serve", "--config", "/config.yaml"]
