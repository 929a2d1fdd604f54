using Csi.V1;
using Grpc.Core;
using ControllerClient = Csi.V1.Controller.ControllerClient;
using NodeClient = Csi.V1.Node.NodeClient;

namespace CsiDriver.Driver.Tests.Lifecycle;

/// <summary>The CO's side of a volume's life, as kubelet and the sidecars would call it, over any client pair.</summary>
internal sealed class VolumeSteps(ControllerClient controller, NodeClient node, string nodeId)
{
    public const long GiB = 1L << 30;

    public static VolumeCapability Mount(string fsType = "ext4", params string[] flags)
    {
        var capability = new VolumeCapability
        {
            Mount = new VolumeCapability.Types.MountVolume { FsType = fsType },
            AccessMode = new VolumeCapability.Types.AccessMode { Mode = VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeWriter },
        };
        capability.Mount.MountFlags.AddRange(flags);
        return capability;
    }

    public static VolumeCapability Block() => new()
    {
        Block = new VolumeCapability.Types.BlockVolume(),
        AccessMode = new VolumeCapability.Types.AccessMode { Mode = VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeWriter },
    };

    public async Task<Volume> CreateAsync(string name, long bytes, VolumeCapability capability, VolumeContentSource? source = null)
    {
        var request = new CreateVolumeRequest
        {
            Name = name,
            CapacityRange = new CapacityRange { RequiredBytes = bytes },
            VolumeContentSource = source,
        };
        request.VolumeCapabilities.Add(capability);
        return (await controller.CreateVolumeAsync(request)).Volume;
    }

    public async Task<IDictionary<string, string>> AttachAsync(string volumeId, VolumeCapability capability, bool readOnly = false)
    {
        var response = await controller.ControllerPublishVolumeAsync(new ControllerPublishVolumeRequest
        {
            VolumeId = volumeId,
            NodeId = nodeId,
            VolumeCapability = capability,
            Readonly = readOnly,
        });
        return response.PublishContext;
    }

    public async Task StageAsync(Volume volume, IDictionary<string, string> publishContext, string stagingPath, VolumeCapability capability)
    {
        var request = new NodeStageVolumeRequest
        {
            VolumeId = volume.VolumeId,
            StagingTargetPath = stagingPath,
            VolumeCapability = capability,
        };
        request.PublishContext.Add(publishContext);
        request.VolumeContext.Add(volume.VolumeContext);
        await node.NodeStageVolumeAsync(request);
    }

    public async Task PublishAsync(Volume volume, IDictionary<string, string> publishContext, string stagingPath, string targetPath,
        VolumeCapability capability, bool readOnly = false)
    {
        var request = new NodePublishVolumeRequest
        {
            VolumeId = volume.VolumeId,
            StagingTargetPath = stagingPath,
            TargetPath = targetPath,
            VolumeCapability = capability,
            Readonly = readOnly,
        };
        request.PublishContext.Add(publishContext);
        request.VolumeContext.Add(volume.VolumeContext);
        await node.NodePublishVolumeAsync(request);
    }

    /// <summary>Unpublish, unstage and detach: the way back, each step as the CO would call it.</summary>
    public async Task TearDownAsync(string volumeId, string? stagingPath, string? targetPath)
    {
        if (targetPath is not null)
        {
            await node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = volumeId, TargetPath = targetPath });
        }
        if (stagingPath is not null)
        {
            await node.NodeUnstageVolumeAsync(new NodeUnstageVolumeRequest { VolumeId = volumeId, StagingTargetPath = stagingPath });
        }
        await controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = volumeId, NodeId = nodeId });
    }

    public async Task<Snapshot> SnapshotAsync(string name, string volumeId)
    {
        var snapshot = (await controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = name, SourceVolumeId = volumeId })).Snapshot;
        for (var i = 0; i < 100 && !snapshot.ReadyToUse; i++)
        {
            await Task.Delay(100);
            var listed = await controller.ListSnapshotsAsync(new ListSnapshotsRequest { SnapshotId = snapshot.SnapshotId });
            snapshot = listed.Entries.Single().Snapshot;
        }
        Assert.True(snapshot.ReadyToUse, "the snapshot never became ready to use");
        return snapshot;
    }

    public static async Task<StatusCode> CodeOf(Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        return ex.StatusCode;
    }
}
