# syntax=docker/dockerfile:1
# Build: docker build -t tickwire .
# Run:   docker run -p 7350:7350 -v tickwire-data:/data tickwire
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/tickwire ./cmd/tickwire \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tickwire /usr/local/bin/tickwire
# The embedded store (leaderboards) lives here; mount a volume to keep it.
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot:nonroot
EXPOSE 7350
ENV TICKWIRE_ADDR=0.0.0.0:7350 \
    TICKWIRE_DATA_DIR=/data
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/tickwire", "healthcheck", "--url", "http://127.0.0.1:7350/healthz"]
ENTRYPOINT ["/usr/local/bin/tickwire"]
CMD ["serve"]
