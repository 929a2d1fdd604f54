using static CsiDriver.Testing.CsiRequests;
using Csi.V1;
using Grpc.Core;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;

namespace CsiDriver.Driver.Tests.Controller;

/// <summary>Builders for Controller requests, so each test states only what it varies.</summary>
internal static class Requests
{
    public const long MiB = 1L << 20;

    public static CreateVolumeRequest Create(string name, long requiredBytes = 16 * MiB, long limitBytes = 0, VolumeCapability? capability = null)
    {
        var request = new CreateVolumeRequest { Name = name, VolumeCapabilities = { capability ?? Mount() } };
        if (requiredBytes != 0 || limitBytes != 0)
        {
            request.CapacityRange = new CapacityRange { RequiredBytes = requiredBytes, LimitBytes = limitBytes };
        }
        return request;
    }

    public static CreateVolumeRequest FromSnapshot(string name, string snapshotId, long requiredBytes = 0, long limitBytes = 0)
    {
        var request = Create(name, requiredBytes, limitBytes);
        request.VolumeContentSource = new VolumeContentSource { Snapshot = new VolumeContentSource.Types.SnapshotSource { SnapshotId = snapshotId } };
        return request;
    }

    public static CreateVolumeRequest FromVolume(string name, string volumeId, long requiredBytes = 0, long limitBytes = 0)
    {
        var request = Create(name, requiredBytes, limitBytes);
        request.VolumeContentSource = new VolumeContentSource { Volume = new VolumeContentSource.Types.VolumeSource { VolumeId = volumeId } };
        return request;
    }

    public static ControllerPublishVolumeRequest Publish(string volumeId, string nodeId = "test-node", bool readOnly = false, VolumeCapability? capability = null) => new()
    {
        VolumeId = volumeId,
        NodeId = nodeId,
        Readonly = readOnly,
        VolumeCapability = capability ?? Mount(),
    };
}
