# CsiDriver image: one image for every role (controller, node; aws and local backends).
#   docker build -t csidriver/csi-driver:0.1.0 .
# Build stage: the .NET 10 SDK publishes csi-driver and csictl as NativeAOT executables (self-contained native
# code, trimmed; any trim/AOT warning fails the build). Runtime stage: runtime-deps (Debian, glibc, OpenSSL, CA
# certificates; no .NET runtime needed) plus the tools the node plugin runs (argument lists, never a shell).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# NativeAOT links with the platform toolchain.
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the driver needs: build settings, the CSI proto and the source projects
# (tests, benchmarks and deploy files are excluded by .dockerignore).
COPY Directory.Build.props Directory.Packages.props ./
COPY proto/ proto/
COPY src/ src/
RUN dotnet restore src/CsiDriver.Host/CsiDriver.Host.csproj -r linux-x64 \
 && dotnet restore src/CsiDriver.Cli/CsiDriver.Cli.csproj -r linux-x64
RUN dotnet publish src/CsiDriver.Host/CsiDriver.Host.csproj \
      --configuration Release --runtime linux-x64 --no-restore --output /app
# csictl rides along for debugging a node: kubectl exec ... -- /app/csictl --endpoint unix:///csi/csi.sock ...
RUN dotnet publish src/CsiDriver.Cli/CsiDriver.Cli.csproj \
      --configuration Release --runtime linux-x64 --no-restore --output /app

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="csi-driver" \
      org.opencontainers.image.description="CsiDriver: Kubernetes CSI driver for AWS EBS and local loop-device block volumes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="mcr.microsoft.com/dotnet/runtime-deps:10.0"

# Node tools: e2fsprogs (mkfs.ext4, resize2fs, e2fsck), xfsprogs (mkfs.xfs, xfs_growfs),
# util-linux (blkid, lsblk, blockdev, findmnt), mount (mount, umount, losetup),
# nvme-cli (EBS NVMe device identification on Nitro instances).
RUN apt-get update \
 && apt-get install -y --no-install-recommends e2fsprogs xfsprogs util-linux mount nvme-cli \
 && rm -rf /var/lib/apt/lists/* \
 && for tool in mkfs.ext4 resize2fs e2fsck mkfs.xfs xfs_growfs blkid lsblk blockdev findmnt mount umount losetup nvme; do \
      command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }; \
    done

# The two native executables only (the publish folder also holds debug symbols, *.dbg).
COPY --from=build /app/csi-driver /app/csictl /app/
WORKDIR /app

# The driver listens on its unix socket and --metrics-address only: no default HTTP port (the base image sets 8080).
ENV ASPNETCORE_HTTP_PORTS="" \
    ASPNETCORE_URLS=""

# Non-root by default (the image's "app" user, uid 1654): right for the aws controller. The node
# DaemonSet and the local controller set runAsUser: 0 and privileged, which their work needs.
USER $APP_UID

ENTRYPOINT ["/app/csi-driver"]
