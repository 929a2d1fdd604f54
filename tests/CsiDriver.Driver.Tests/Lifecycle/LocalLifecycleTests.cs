using System.Security.Cryptography;
using Csi.V1;
using CsiDriver.Testing;

namespace CsiDriver.Driver.Tests.Lifecycle;

/// <summary>
/// A volume's whole life through the real driver (controller + node, local backend) over its unix socket,
/// on real loop devices and real filesystems.
/// </summary>
public sealed class LocalLifecycleTests
{
    private const string NodeId = "test-node";

    [Theory]
    [InlineData("ext4")]
    [InlineData("xfs")]
    public async Task Data_survives_snapshot_restore_into_a_larger_volume_and_online_expansion(string fsType)
    {
        using var dir = new TestDirectory("life-" + fsType);
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var steps = new VolumeSteps(driver.Controller, driver.Node, NodeId);
        var capability = VolumeSteps.Mount(fsType);
        var size = fsType == "xfs" ? VolumeSteps.GiB : 512L << 20;

        // create → attach → stage → publish → write
        var volume = await steps.CreateAsync("pvc-life-" + fsType, size, capability);
        var publishContext = await steps.AttachAsync(volume.VolumeId, capability);
        var staging = dir.Path("staging");
        var target = dir.Path("pods", "p1", "volume");
        await steps.StageAsync(volume, publishContext, staging, capability);
        await steps.PublishAsync(volume, publishContext, staging, target, capability);
        var payload = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        await File.WriteAllBytesAsync(Path.Combine(target, "data.bin"), payload);
        Directory.CreateDirectory(Path.Combine(target, "nested", "dir"));
        await File.WriteAllTextAsync(Path.Combine(target, "nested", "dir", "note.txt"), "kept");
        Sync();

        // snapshot → restore into a larger volume → the same bytes come back
        var snapshot = await steps.SnapshotAsync("snap-life-" + fsType, volume.VolumeId);
        Assert.Equal(volume.VolumeId, snapshot.SourceVolumeId);
        var restoreSource = new VolumeContentSource { Snapshot = new VolumeContentSource.Types.SnapshotSource { SnapshotId = snapshot.SnapshotId } };
        var restored = await steps.CreateAsync("pvc-restored-" + fsType, size * 2, capability, restoreSource);
        Assert.True(restored.CapacityBytes >= size * 2);
        Assert.Equal(snapshot.SnapshotId, restored.ContentSource.Snapshot.SnapshotId);

        // Writes after the snapshot must not show up in the restored copy.
        await File.WriteAllTextAsync(Path.Combine(target, "after-snapshot.txt"), "later");
        var restoredContext = await steps.AttachAsync(restored.VolumeId, capability);
        var restoredStaging = dir.Path("staging-restored");
        await steps.StageAsync(restored, restoredContext, restoredStaging, capability);
        Assert.Equal(payload, await File.ReadAllBytesAsync(Path.Combine(restoredStaging, "data.bin")));
        Assert.Equal("kept", await File.ReadAllTextAsync(Path.Combine(restoredStaging, "nested", "dir", "note.txt")));
        Assert.False(File.Exists(Path.Combine(restoredStaging, "after-snapshot.txt")), "the snapshot is not point-in-time");

        // Staging grew the restored filesystem to fill the larger volume.
        Assert.True(new DriveInfo(restoredStaging).TotalSize > size * 3 / 2, "the restored filesystem did not grow to its volume");
        await steps.TearDownAsync(restored.VolumeId, restoredStaging, null);

        // expand online while mounted → statfs shows the new size, data intact
        var before = new DriveInfo(target).TotalSize;
        var expanded = await driver.Controller.ControllerExpandVolumeAsync(new ControllerExpandVolumeRequest
        {
            VolumeId = volume.VolumeId,
            CapacityRange = new CapacityRange { RequiredBytes = size * 3 },
            VolumeCapability = capability,
        });
        Assert.True(expanded.CapacityBytes >= size * 3);
        Assert.True(expanded.NodeExpansionRequired);
        var nodeExpand = new NodeExpandVolumeRequest
        {
            VolumeId = volume.VolumeId,
            VolumePath = target,
            StagingTargetPath = staging,
            CapacityRange = new CapacityRange { RequiredBytes = size * 3 },
            VolumeCapability = capability,
        };
        if (fsType == "xfs" || ProcessCapabilities.CanGrowExtOnline)
        {
            await driver.Node.NodeExpandVolumeAsync(nodeExpand);
            var after = new DriveInfo(target).TotalSize;
            Assert.True(after > before * 2, $"statfs size {after} did not grow from {before}");
        }
        else
        {
            // This sandbox drops CAP_SYS_RESOURCE, without which the kernel refuses to grow a mounted ext
            // filesystem: the driver must say so, and leave the volume mounted and intact.
            var refused = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(async () => await driver.Node.NodeExpandVolumeAsync(nodeExpand));
            Assert.Contains("CAP_SYS_RESOURCE", refused.Status.Detail, StringComparison.Ordinal);
            Assert.Equal(before, new DriveInfo(target).TotalSize);
        }
        Assert.Equal(payload, await File.ReadAllBytesAsync(Path.Combine(target, "data.bin")));

        var stats = await driver.Node.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = volume.VolumeId, VolumePath = target });
        var bytes = stats.Usage.Single(u => u.Unit == VolumeUsage.Types.Unit.Bytes);
        Assert.True(bytes.Used >= payload.Length);
        Assert.Contains(stats.Usage, u => u.Unit == VolumeUsage.Types.Unit.Inodes && u.Total > 0);

        // unpublish → unstage → detach → delete: nothing left behind
        await steps.TearDownAsync(volume.VolumeId, staging, target);
        Assert.False(IsMountPoint(target));
        Assert.False(IsMountPoint(staging));
        await driver.Controller.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = snapshot.SnapshotId });
        await driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = restored.VolumeId });
        await driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volume.VolumeId });
        var remaining = await driver.Controller.ListVolumesAsync(new ListVolumesRequest());
        Assert.Empty(remaining.Entries);
        Assert.Empty(TestDirectory.LoopDevicesBackedBelow(dir.Root + "/"));
    }

    [Fact]
    public async Task Raw_block_volume_is_published_as_a_device_that_reads_back_what_was_written()
    {
        using var dir = new TestDirectory("life-block");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var steps = new VolumeSteps(driver.Controller, driver.Node, NodeId);
        var capability = VolumeSteps.Block();

        var volume = await steps.CreateAsync("pvc-block", 64L << 20, capability);
        var publishContext = await steps.AttachAsync(volume.VolumeId, capability);
        var staging = dir.Path("staging");
        var target = dir.Path("pods", "p1", "dev");
        await steps.StageAsync(volume, publishContext, staging, capability);
        await steps.PublishAsync(volume, publishContext, staging, target, capability);

        var pattern = RandomNumberGenerator.GetBytes(1 << 20);
        await using (var device = new FileStream(target, FileMode.Open, FileAccess.ReadWrite))
        {
            device.Position = 8 << 20;
            await device.WriteAsync(pattern);
            await device.FlushAsync();
        }
        var readBack = new byte[pattern.Length];
        await using (var device = new FileStream(target, FileMode.Open, FileAccess.Read))
        {
            device.Position = 8 << 20;
            await device.ReadExactlyAsync(readBack);
        }
        Assert.Equal(pattern, readBack);

        var stats = await driver.Node.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = volume.VolumeId, VolumePath = target });
        Assert.Equal(64L << 20, stats.Usage.Single(u => u.Unit == VolumeUsage.Types.Unit.Bytes).Total);

        await steps.TearDownAsync(volume.VolumeId, staging, target);
        await driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volume.VolumeId });
        Assert.Empty(TestDirectory.LoopDevicesBackedBelow(dir.Root + "/"));
    }

    [Fact]
    public async Task Readonly_publish_refuses_writes_while_the_staged_mount_stays_writable()
    {
        using var dir = new TestDirectory("life-ro");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var steps = new VolumeSteps(driver.Controller, driver.Node, NodeId);
        var capability = VolumeSteps.Mount();

        var volume = await steps.CreateAsync("pvc-ro", 256L << 20, capability);
        var publishContext = await steps.AttachAsync(volume.VolumeId, capability);
        var staging = dir.Path("staging");
        var target = dir.Path("pods", "p1", "ro");
        await steps.StageAsync(volume, publishContext, staging, capability);
        await File.WriteAllTextAsync(Path.Combine(staging, "seed.txt"), "seed");
        await steps.PublishAsync(volume, publishContext, staging, target, capability, readOnly: true);

        Assert.Equal("seed", await File.ReadAllTextAsync(Path.Combine(target, "seed.txt")));
        var error = await Assert.ThrowsAnyAsync<IOException>(() => File.WriteAllTextAsync(Path.Combine(target, "nope.txt"), "x"));
        Assert.Contains("Read-only", error.Message, StringComparison.OrdinalIgnoreCase);

        await steps.TearDownAsync(volume.VolumeId, staging, target);
        await driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volume.VolumeId });
    }

    internal static bool IsMountPoint(string path) =>
        TestDirectory.MountPointsBelow(path.TrimEnd('/') + "/").Count > 0
        || File.ReadAllLines("/proc/self/mountinfo").Any(l => l.Split(' ')[4] == path);

    [Fact]
    public async Task A_volume_created_again_under_a_deleted_ones_name_is_new_to_the_node_while_the_old_one_was_never_formatted()
    {
        using var dir = new TestDirectory("reborn");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var steps = new VolumeSteps(driver.Controller, driver.Node, NodeId);
        var block = VolumeSteps.Block();
        var ext4 = VolumeSteps.Mount("ext4");
        var staging = dir.Path("staging");
        var target = dir.Path("pods", "p", "dev");

        // A pod uses the volume raw; the node will not format it afterwards, even with nothing written.
        var first = await steps.CreateAsync("pvc-reborn", 64L << 20, block);
        var context = await steps.AttachAsync(first.VolumeId, block);
        await steps.PublishAsync(first, context, dir.Path("block-staging"), target, block);
        await driver.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = first.VolumeId, TargetPath = target });
        var refused = await VolumeSteps.CodeOf(() => steps.StageAsync(first, context, staging, ext4));
        Assert.Equal(global::Grpc.Core.StatusCode.FailedPrecondition, refused);
        await steps.TearDownAsync(first.VolumeId, null, null);
        await driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = first.VolumeId });

        // The local backend derives ids from names: the new volume has the old id, but it is a new, blank volume.
        var second = await steps.CreateAsync("pvc-reborn", 64L << 20, ext4);
        Assert.Equal(first.VolumeId, second.VolumeId);
        context = await steps.AttachAsync(second.VolumeId, ext4);
        await steps.StageAsync(second, context, staging, ext4);
        await steps.TearDownAsync(second.VolumeId, staging, null);
        await driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = second.VolumeId });
    }

    internal static void Sync() => System.Diagnostics.Process.Start("sync")!.WaitForExit();
}
