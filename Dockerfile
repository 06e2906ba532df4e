# syntax=docker/dockerfile:1
#
# Vigil's images: one build stage compiles the binaries, and one small
# final stage per binary carries only that binary on distroless static
# (CA certificates, /etc/passwd with the nonroot user, no shell, no package
# manager). Build one with its target:
#
#   docker build --target consumer -t vigil-consumer:dev .
#   docker build --target trainer  -t vigil-trainer:dev  .
#   docker build --target replay   -t vigil-replay:dev   .
#   docker build --target tail     -t vigil-tail:dev     .
#
# The binaries are static (CGO_ENABLED=0): the LSTM kernels are Go assembly,
# not cgo. Every setting is a flag or a VIGIL_… environment variable; the
# images set none, so `docker run IMAGE -h` shows the defaults.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags='-s -w' -o /out/ ./cmd/consumer ./cmd/trainer ./cmd/replay ./cmd/tail \
 && mkdir -p /out/models

# The trainer: `docker run vigil-trainer:dev train -h`. /models is where the
# compose file mounts the model store; it exists in the image, owned by
# nonroot, so that a new named volume mounted there is writable.
FROM gcr.io/distroless/static-debian12:nonroot AS trainer
COPY --from=build /out/trainer /usr/local/bin/trainer
COPY --from=build --chown=65532:65532 /out/models /models
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/trainer"]

# The load generator and demo producer.
FROM gcr.io/distroless/static-debian12:nonroot AS replay
COPY --from=build /out/replay /usr/local/bin/replay
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/replay"]

# Follows the anomaly events topic and prints each event readably.
FROM gcr.io/distroless/static-debian12:nonroot AS tail
COPY --from=build /out/tail /usr/local/bin/tail
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/tail"]

# The detector; last, so a plain `docker build .` builds it. 9464 is the
# admin port (-admin.addr): /metrics, /healthz, /readyz.
FROM gcr.io/distroless/static-debian12:nonroot AS consumer
COPY --from=build /out/consumer /usr/local/bin/consumer
COPY --from=build --chown=65532:65532 /out/models /models
USER 65532:65532
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/consumer"]
