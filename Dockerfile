# psmongo as one static binary on a minimal image that runs as non-root.
#
#   docker build --build-arg VERSION=$(git describe --always) -t psmongo .
#   docker run -p 6060:6060 -e MONGO_URI=... -e POWERSYNC_URL=... \
#     -e POWERSYNC_PRIVATE_KEY=... psmongo

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# The embedded store's SQLite is pure Go, so the binary needs no libc.
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/psmongo/psmongo/cli.version=${VERSION}" \
    -o /out/psmongo .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/psmongo /psmongo
COPY config.yaml /config.yaml
WORKDIR /
USER nonroot:nonroot
ENV PSMONGO_DATA_DIR=/tmp/psmongo
EXPOSE 6060
ENTRYPOINT ["/psmongo"]
CMD ["serve", "--config", "/config.yaml"]
