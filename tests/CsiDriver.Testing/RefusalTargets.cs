using Csi.V1;

namespace CsiDriver.Testing;

/// <summary>
/// What a controller refusal table aims at, made once per fixture: a volume published to a node, a free volume and a
/// snapshot of the free one ("bad-published", "bad-free", "bad-snap"). The backend's own request builders say how.
/// </summary>
public sealed record RefusalTargets(string PublishedVolumeId, string FreeVolumeId, string SnapshotId)
{
    public static async Task<RefusalTargets> CreateAsync(
        Csi.V1.Controller.ControllerClient controller, Func<string, CreateVolumeRequest> create, Func<string, ControllerPublishVolumeRequest> publish)
    {
        var published = (await controller.CreateVolumeAsync(create("bad-published"))).Volume.VolumeId;
        var free = (await controller.CreateVolumeAsync(create("bad-free"))).Volume.VolumeId;
        await controller.ControllerPublishVolumeAsync(publish(published));
        var snapshot = (await controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap", SourceVolumeId = free })).Snapshot.SnapshotId;
        return new RefusalTargets(published, free, snapshot);
    }
}
