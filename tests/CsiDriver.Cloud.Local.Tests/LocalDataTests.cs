using System.Text;
using Csi.V1;
using CsiDriver.Core;
using CsiDriver.Core.Errors;
using CsiDriver.Testing;
using static CsiDriver.Cloud.Local.Tests.LocalTestSupport;
using static CsiDriver.Testing.RawBytes;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Local.Tests;

/// <summary>What the local backend does to data: point-in-time snapshots, clones, expansion seen by the kernel, device lookup.</summary>
public sealed class LocalDataTests
{
    [Fact]
    public async Task A_snapshot_is_a_point_in_time_copy_that_restores_the_old_bytes()
    {
        using var dir = new TestDirectory("local-pit");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var paths = Paths(dir);
        var volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-pit"))).Volume.VolumeId;
        var old = Encoding.ASCII.GetBytes("before the snapshot");
        var @new = Encoding.ASCII.GetBytes("after the snapshot!");
        WriteAt(paths.VolumeImage(volumeId), 5 * MiB, old);

        var snapshotId = (await driver.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "snap-pit", SourceVolumeId = volumeId })).Snapshot.SnapshotId;
        WriteAt(paths.VolumeImage(volumeId), 5 * MiB, @new);
        var restoredId = (await driver.Controller.CreateVolumeAsync(new CreateVolumeRequest
        {
            Name = "pvc-restored",
            VolumeCapabilities = { Create("x").VolumeCapabilities },
            VolumeContentSource = new VolumeContentSource { Snapshot = new VolumeContentSource.Types.SnapshotSource { SnapshotId = snapshotId } },
        })).Volume.VolumeId;
        var cloneId = (await driver.Controller.CreateVolumeAsync(new CreateVolumeRequest
        {
            Name = "pvc-clone",
            VolumeCapabilities = { Create("x").VolumeCapabilities },
            VolumeContentSource = new VolumeContentSource { Volume = new VolumeContentSource.Types.VolumeSource { VolumeId = volumeId } },
        })).Volume.VolumeId;

        Assert.Equal(old, ReadAt(paths.VolumeImage(restoredId), 5 * MiB, old.Length));
        Assert.Equal(@new, ReadAt(paths.VolumeImage(volumeId), 5 * MiB, @new.Length));
        Assert.Equal(@new, ReadAt(paths.VolumeImage(cloneId), 5 * MiB, @new.Length));
    }

    [Fact]
    public async Task A_snapshot_of_an_attached_volume_copies_what_was_written_through_the_device()
    {
        using var dir = new TestDirectory("local-snapattached");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-live"))).Volume.VolumeId;
        var device = new FileInfo((await driver.Controller.ControllerPublishVolumeAsync(Publish(volumeId))).PublishContext["devicePath"]).LinkTarget!;
        var data = Encoding.ASCII.GetBytes("written through the loop device");
        WriteAt(device, MiB, data);

        var snapshotId = (await driver.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "snap-live", SourceVolumeId = volumeId })).Snapshot.SnapshotId;

        Assert.Equal(data, ReadAt(Paths(dir).SnapshotImage(snapshotId), MiB, data.Length));
    }

    [Fact]
    public async Task Expanding_an_attached_volume_refreshes_the_loop_device_size()
    {
        using var dir = new TestDirectory("local-expand");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-expand", 16 * MiB))).Volume.VolumeId;
        var device = new FileInfo((await driver.Controller.ControllerPublishVolumeAsync(Publish(volumeId))).PublishContext["devicePath"]).LinkTarget!;
        Assert.Equal(16 * MiB, KernelSize(device));

        var response = await driver.Controller.ControllerExpandVolumeAsync(new ControllerExpandVolumeRequest
        {
            VolumeId = volumeId,
            CapacityRange = new CapacityRange { RequiredBytes = 100 * MiB },
        });

        Assert.Equal(100 * MiB, response.CapacityBytes);
        Assert.Equal(100 * MiB, KernelSize(device));
    }

    [Fact]
    public async Task The_device_finder_returns_the_volume_s_loop_device_and_refuses_a_stale_link()
    {
        using var dir = new TestDirectory("local-finder");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var finder = (CsiDriver.Core.Node.IDeviceFinder)driver.Services.GetService(typeof(CsiDriver.Core.Node.IDeviceFinder))!;
        var paths = Paths(dir);
        var a = (await driver.Controller.CreateVolumeAsync(Create("pvc-find-a"))).Volume.VolumeId;
        var b = (await driver.Controller.CreateVolumeAsync(Create("pvc-find-b"))).Volume.VolumeId;
        var contextA = (await driver.Controller.ControllerPublishVolumeAsync(Publish(a))).PublishContext.ToDictionary();
        var contextB = (await driver.Controller.ControllerPublishVolumeAsync(Publish(b))).PublishContext.ToDictionary();

        var deviceA = await finder.FindDeviceAsync(a, contextA, CancellationToken.None);
        Assert.Equal(paths.VolumeImage(a), BackingFile(deviceA));

        // Someone else's context for this volume is refused outright.
        var wrongPath = await Assert.ThrowsAsync<StorageException>(() => finder.FindDeviceAsync(a, contextB, CancellationToken.None));
        Assert.Equal(FailureKind.InvalidArgument, wrongPath.Kind);

        // A link that points at another volume's device must never be followed.
        var deviceB = new FileInfo(paths.DeviceLink(b)).LinkTarget!;
        File.Delete(paths.DeviceLink(a));
        File.CreateSymbolicLink(paths.DeviceLink(a), deviceB);
        var stale = await Assert.ThrowsAsync<StorageException>(() => finder.FindDeviceAsync(a, contextA, CancellationToken.None));
        Assert.Equal(FailureKind.FailedPrecondition, stale.Kind);

        await driver.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = b, NodeId = "test-node" });
        var gone = await Assert.ThrowsAsync<StorageException>(() => finder.FindDeviceAsync(b, contextB, CancellationToken.None));
        Assert.Equal(FailureKind.NotFound, gone.Kind);
    }

    [Fact]
    public async Task The_node_identity_reports_node_id_zone_and_attach_limit()
    {
        var local = Options.Create(new LocalBackendOptions { Zone = "rack-7" });

        var configured = await new LocalNodeIdentity(Options.Create(new DriverOptions { NodeId = "n1", VolumeAttachLimit = 9 }), local).GetAsync(CancellationToken.None);
        var defaults = await new LocalNodeIdentity(Options.Create(new DriverOptions()), local).GetAsync(CancellationToken.None);

        Assert.Equal("n1", configured.NodeId);
        Assert.Equal(9, configured.MaxVolumesPerNode);
        Assert.Equal("rack-7", configured.Topology["topology.kubernetes.io/zone"]);
        Assert.Equal(Environment.MachineName, defaults.NodeId);
        Assert.Equal(LocalVolumeProvider.DefaultMaxVolumesPerNode, defaults.MaxVolumesPerNode);
    }

    [Fact]
    public async Task Normal_operation_leaves_no_temp_files_behind()
    {
        using var dir = new TestDirectory("local-clean");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-clean"))).Volume.VolumeId;
        await driver.Controller.ControllerPublishVolumeAsync(Publish(volumeId));
        await driver.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "snap-clean", SourceVolumeId = volumeId });
        await driver.Controller.ControllerExpandVolumeAsync(new ControllerExpandVolumeRequest { VolumeId = volumeId, CapacityRange = new CapacityRange { RequiredBytes = 20 * MiB } });

        var files = Directory.GetFileSystemEntries(dir.Path("state"), "*", SearchOption.AllDirectories);

        Assert.DoesNotContain(files, f => f.Contains(LocalStatePaths.TempMarker, StringComparison.Ordinal));
        Assert.Equal("test-node", Provider(driver).NodeId);
    }

    [Fact]
    public async Task The_loop_device_gauge_counts_attached_volumes()
    {
        using var dir = new TestDirectory("local-gauge");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var meter = ((CsiDriver.Core.Observability.DriverMetrics)driver.Services.GetService(typeof(CsiDriver.Core.Observability.DriverMetrics))!).Meter;
        var a = (await driver.Controller.CreateVolumeAsync(Create("pvc-gauge-a"))).Volume.VolumeId;
        var b = (await driver.Controller.CreateVolumeAsync(Create("pvc-gauge-b"))).Volume.VolumeId;
        await driver.Controller.ControllerPublishVolumeAsync(Publish(a));
        await driver.Controller.ControllerPublishVolumeAsync(Publish(b));
        await driver.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = a, NodeId = "test-node" });

        long? observed = null;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, meter) && instrument.Name == "local_loop_devices_in_use")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => observed = value);
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.Equal(1, observed);
    }
}
