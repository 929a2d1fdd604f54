using static CsiDriver.Testing.CsiRequests;
using Csi.V1;
using CsiDriver.Testing;
using static CsiDriver.Driver.Tests.Controller.Requests;

namespace CsiDriver.Driver.Tests.Controller;

/// <summary>One driver for the whole bad-request table, with a published volume, a free volume and a snapshot to aim at.</summary>
public sealed class BadRequestFixture : IAsyncLifetime
{
    public const long BackendCapacity = 4L << 30;

    private readonly TestDirectory _dir = new("ctl-bad");

    public RunningDriver Driver { get; private set; } = null!;

    public string PublishedVolumeId { get; private set; } = "";

    public string FreeVolumeId { get; private set; } = "";

    public string SnapshotId { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var configuration = RunningDriver.LocalConfiguration(_dir);
        configuration.Local.CapacityBytes = BackendCapacity;
        Driver = await RunningDriver.StartAsync(configuration);
        PublishedVolumeId = (await Driver.Controller.CreateVolumeAsync(Create("bad-published"))).Volume.VolumeId;
        FreeVolumeId = (await Driver.Controller.CreateVolumeAsync(Create("bad-free"))).Volume.VolumeId;
        await Driver.Controller.ControllerPublishVolumeAsync(Publish(PublishedVolumeId));
        SnapshotId = (await Driver.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap", SourceVolumeId = FreeVolumeId })).Snapshot.SnapshotId;
    }

    public async Task DisposeAsync()
    {
        await Driver.DisposeAsync();
        _dir.Dispose();
    }
}
