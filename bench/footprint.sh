#!/usr/bin/env bash
# Footprint benchmark (issue 11): publishes csi-driver as NativeAOT (artifacts/aot) and builds the JIT one, then
# starts both as a user would and prints start → Probe, idle RSS and RSS over node lifecycles. Root for the
# lifecycles (loop devices, mounts). Arguments go to the harness, e.g. --smoke, --runs 9, --lifecycles 1000.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet publish src/CsiDriver.Host/CsiDriver.Host.csproj -c Release -r linux-x64 -o artifacts/aot -v quiet -nologo
dotnet build bench/CsiDriver.Footprint/CsiDriver.Footprint.csproj -c Release -v quiet -nologo
exec dotnet bench/CsiDriver.Footprint/bin/Release/net10.0/CsiDriver.Footprint.dll --aot artifacts/aot/csi-driver "$@"
