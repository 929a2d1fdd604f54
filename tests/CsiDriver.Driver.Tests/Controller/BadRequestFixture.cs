using CsiDriver.Testing;
using static CsiDriver.Driver.Tests.Controller.Requests;

namespace CsiDriver.Driver.Tests.Controller;

/// <summary>One driver for the whole bad-request table, with a published volume, a free volume and a snapshot to aim at.</summary>
public sealed class BadRequestFixture : IAsyncLifetime
{
    public const long BackendCapacity = 4L << 30;

    private readonly TestDirectory _dir = new("ctl-bad");

    public RunningDriver Driver { get; private set; } = null!;

    public Csi.V1.Controller.ControllerClient Controller => Driver.Controller;

    public RefusalTargets Targets { get; private set; } = null!;

    public string PublishedVolumeId => Targets.PublishedVolumeId;

    public string FreeVolumeId => Targets.FreeVolumeId;

    public string SnapshotId => Targets.SnapshotId;

    public async Task InitializeAsync()
    {
        var configuration = RunningDriver.LocalConfiguration(_dir);
        configuration.Local.CapacityBytes = BackendCapacity;
        Driver = await RunningDriver.StartAsync(configuration);
        Targets = await RefusalTargets.CreateAsync(Controller, name => Create(name), id => Publish(id));
    }

    public async Task DisposeAsync()
    {
        await Driver.DisposeAsync();
        _dir.Dispose();
    }
}
