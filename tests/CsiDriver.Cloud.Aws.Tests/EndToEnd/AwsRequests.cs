using static CsiDriver.Testing.CsiRequests;
using Csi.V1;
using Grpc.Core;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;

namespace CsiDriver.Cloud.Aws.Tests.EndToEnd;

/// <summary>Builders for Controller requests against the aws backend, so each test states only what it varies.</summary>
internal static class AwsRequests
{
    public const long GiB = 1L << 30;

    public const string ZoneKey = "topology.kubernetes.io/zone";

    /// <summary>Instances the end-to-end tests publish to.</summary>
    public const string NodeA = "i-0000000a";

    public const string NodeA2 = "i-000000a2";

    public const string NodeB = "i-0000000b";

    /// <summary>Well-formed EC2 ids that no simulator ever hands out.</summary>
    public const string MissingVolume = "vol-00000000000000000";

    public const string MissingSnapshot = "snap-00000000000000000";

    public static CreateVolumeRequest Create(string name, long requiredBytes = 1 * GiB, long limitBytes = 0, VolumeCapability? capability = null, string zone = "us-east-1a")
    {
        var request = new CreateVolumeRequest { Name = name, VolumeCapabilities = { capability ?? Mount() } };
        if (requiredBytes != 0 || limitBytes != 0)
        {
            request.CapacityRange = new CapacityRange { RequiredBytes = requiredBytes, LimitBytes = limitBytes };
        }
        request.AccessibilityRequirements = new TopologyRequirement { Requisite = { new Topology { Segments = { [ZoneKey] = zone } } } };
        return request;
    }

    public static CreateVolumeRequest FromSnapshot(string name, string snapshotId, long requiredBytes = 0, long limitBytes = 0, string zone = "us-east-1a")
    {
        var request = Create(name, requiredBytes, limitBytes, zone: zone);
        request.VolumeContentSource = new VolumeContentSource { Snapshot = new VolumeContentSource.Types.SnapshotSource { SnapshotId = snapshotId } };
        return request;
    }

    public static CreateVolumeRequest FromVolume(string name, string volumeId, long requiredBytes = 0, long limitBytes = 0, string zone = "us-east-1a")
    {
        var request = Create(name, requiredBytes, limitBytes, zone: zone);
        request.VolumeContentSource = new VolumeContentSource { Volume = new VolumeContentSource.Types.VolumeSource { VolumeId = volumeId } };
        return request;
    }

    public static ControllerPublishVolumeRequest Publish(string volumeId, string nodeId = NodeA, bool readOnly = false, VolumeCapability? capability = null) => new()
    {
        VolumeId = volumeId,
        NodeId = nodeId,
        Readonly = readOnly,
        VolumeCapability = capability ?? Mount(),
    };
}
