# syntax=docker/dockerfile:1
# Build: docker build -t tickwire .
# Run:   docker run -p 7350:7350 tickwire
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/tickwire ./cmd/tickwire

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tickwire /usr/local/bin/tickwire
USER nonroot:nonroot
EXPOSE 7350
ENV TICKWIRE_ADDR=0.0.0.0:7350
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/tickwire", "healthcheck", "--url", "http://127.0.0.1:7350/healthz"]
ENTRYPOINT ["/usr/local/bin/tickwire"]
CMD ["serve"]
