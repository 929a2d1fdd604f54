# CsiDriver image: one image for every role (controller, node; aws and local backends).
#   docker build -t csidriver/csi-driver:0.1.0 .
# Build stage: the .NET 10 SDK publishes the host project (framework-dependent, runs on the
# ASP.NET Core runtime of the final stage). Runtime stage: ASP.NET Core 10 on Debian plus the
# tools the node plugin runs (argument lists, never a shell).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Only what the driver needs: build settings, the CSI proto and the source projects
# (tests, benchmarks and deploy files are excluded by .dockerignore).
COPY Directory.Build.props Directory.Packages.props ./
COPY proto/ proto/
COPY src/ src/
RUN dotnet restore src/CsiDriver.Host/CsiDriver.Host.csproj \
 && dotnet restore src/CsiDriver.Cli/CsiDriver.Cli.csproj
RUN dotnet publish src/CsiDriver.Host/CsiDriver.Host.csproj \
      --configuration Release --no-restore --output /app -p:UseAppHost=false
# csictl rides along for debugging a node: kubectl exec ... -- dotnet /app/csictl.dll --endpoint unix:///csi/csi.sock ...
RUN dotnet publish src/CsiDriver.Cli/CsiDriver.Cli.csproj \
      --configuration Release --no-restore --output /app -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="csi-driver" \
      org.opencontainers.image.description="CsiDriver: Kubernetes CSI driver for AWS EBS and local loop-device block volumes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="mcr.microsoft.com/dotnet/aspnet:10.0"

# Node tools: e2fsprogs (mkfs.ext4, resize2fs, e2fsck), xfsprogs (mkfs.xfs, xfs_growfs),
# util-linux (blkid, lsblk, blockdev, findmnt), mount (mount, umount, losetup),
# nvme-cli (EBS NVMe device identification on Nitro instances).
RUN apt-get update \
 && apt-get install -y --no-install-recommends e2fsprogs xfsprogs util-linux mount nvme-cli \
 && rm -rf /var/lib/apt/lists/* \
 && for tool in mkfs.ext4 resize2fs e2fsck mkfs.xfs xfs_growfs blkid lsblk blockdev findmnt mount umount losetup nvme; do \
      command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }; \
    done

COPY --from=build /app /app
WORKDIR /app

# The driver listens on its unix socket and --metrics-address only: no default HTTP port.
# Workstation GC: a small, steady memory footprint under the pods' 256Mi limits.
ENV ASPNETCORE_HTTP_PORTS="" \
    ASPNETCORE_URLS="" \
    DOTNET_gcServer=0

# Non-root by default (the image's "app" user, uid 1654): right for the aws controller. The node
# DaemonSet and the local controller set runAsUser: 0 and privileged, which their work needs.
USER $APP_UID

ENTRYPOINT ["dotnet", "/app/csi-driver.dll"]
