# migrate in a container: `migrate all-tenants` against the central database named by
# CENTRAL_DATABASE_URL, with the key from DB_ENCRYPTION_KEY. See README "Docker image".
#   podman build -t migrate .        (or docker build -t migrate .)

# Build stage: the repository's own dependency script, then the migrate binary alone, in Release,
# without the tests (BUILD_TESTING=OFF: no Catch2, no test targets).
FROM debian:bookworm AS build
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN /src/scripts/install-deps.sh build
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY libs libs
COPY apps apps
COPY bench bench
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null \
 && cmake --build /build --target migrate -j"$(nproc)"

# Runtime stage: the shared libraries the binary links (docker/runtime-packages.txt, which the test
# image.runtime_packages_cover_ldd checks against ldd), the knexfile and the migrations.
FROM debian:bookworm-slim
COPY docker/runtime-packages.txt /tmp/runtime-packages.txt
RUN export DEBIAN_FRONTEND=noninteractive && apt-get update -qq \
 && sed -e 's/#.*//' /tmp/runtime-packages.txt | xargs apt-get install -y -qq --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt
# A system user of its own, uid 10001 (above any host account's; the keys let --system take it),
# and USER by number, so that Kubernetes' runAsNonRoot can verify it is not root.
RUN useradd --system --key SYS_UID_MAX=10001 --key SYS_GID_MAX=10001 --uid 10001 --user-group \
      --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin migrate
COPY --from=build /build/bin/migrate /usr/local/bin/migrate
WORKDIR /app
COPY knexfile.yaml ./
COPY migrations migrations
USER 10001:10001
ENV MIGRATE_ENV=production
# migrate is PID 1: it waits for SIGTERM and SIGINT itself (apps/migrate/signals.cpp), so the
# container stops gracefully without an init.
ENTRYPOINT ["migrate"]
CMD ["all-tenants"]
