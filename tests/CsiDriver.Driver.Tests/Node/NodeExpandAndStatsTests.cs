using Csi.V1;
using CsiDriver.Driver.Tests.Node.Support;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Filesystems;
using CsiDriver.Mounter.Mounts;
using CsiDriver.Testing;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using static CsiDriver.Driver.Tests.Node.Support.NodeRequests;

namespace CsiDriver.Driver.Tests.Node;

/// <summary>Online expansion, usage statistics, volume condition and node info through the real driver.</summary>
public sealed class NodeExpandAndStatsTests
{
    private static readonly StatvfsFilesystemStats Statvfs = new();

    [Theory]
    [InlineData("xfs")]
    [InlineData("ext4")]
    public async Task A_mounted_filesystem_grows_online_to_its_grown_device(string fsType)
    {
        await using var volume = await NodeTestVolume.StartAsync("expand", 512 * LoopDevice.MiB);
        var (_, _, driver, loop, staging, target) = volume;
        var capability = Mount(fsType);
        await volume.StageAndPublishAsync("vol-e", capability);
        await File.WriteAllTextAsync(Path.Combine(target, "before.txt"), "still here");
        var before = Statvfs.Get(target).TotalBytes;

        loop.Grow(1024 * LoopDevice.MiB);
        var request = new NodeExpandVolumeRequest
        {
            VolumeId = "vol-e",
            VolumePath = target,
            StagingTargetPath = staging,
            VolumeCapability = capability,
            CapacityRange = new CapacityRange { RequiredBytes = 1024 * LoopDevice.MiB },
        };
        if (fsType != "xfs" && !ProcessCapabilities.CanGrowExtOnline)
        {
            // This container dropped CAP_SYS_RESOURCE, which the kernel wants for an online ext grow.
            var refused = await Assert.ThrowsAsync<RpcException>(() => driver.Node.NodeExpandVolumeAsync(request).ResponseAsync);
            Assert.Contains("CAP_SYS_RESOURCE", refused.Status.Detail, StringComparison.Ordinal);
            Assert.Equal(before, Statvfs.Get(target).TotalBytes);
            return;
        }
        var expanded = await driver.Node.NodeExpandVolumeAsync(request);
        var again = await driver.Node.NodeExpandVolumeAsync(request);

        Assert.Equal(1024 * LoopDevice.MiB, expanded.CapacityBytes);
        Assert.Equal(expanded.CapacityBytes, again.CapacityBytes);
        Assert.InRange(before, 400 * LoopDevice.MiB, 512 * LoopDevice.MiB);
        Assert.InRange(Statvfs.Get(target).TotalBytes, 900 * LoopDevice.MiB, 1024 * LoopDevice.MiB);
        Assert.Equal("still here", await File.ReadAllTextAsync(Path.Combine(target, "before.txt")));
    }

    [Fact]
    public async Task A_block_volume_expansion_checks_the_device_size()
    {
        await using var volume = await NodeTestVolume.StartAsync("expand", 64 * LoopDevice.MiB);
        var (_, _, driver, loop, _, target) = volume;
        await volume.PublishAsync("vol-be", Block());
        NodeExpandVolumeRequest Expand(long required) => new()
        {
            VolumeId = "vol-be",
            VolumePath = target,
            VolumeCapability = Block(),
            CapacityRange = new CapacityRange { RequiredBytes = required },
        };

        var tooEarly = await Assert.ThrowsAsync<RpcException>(() => driver.Node.NodeExpandVolumeAsync(Expand(96 * LoopDevice.MiB)).ResponseAsync);
        loop.Grow(96 * LoopDevice.MiB);
        var expanded = await driver.Node.NodeExpandVolumeAsync(Expand(96 * LoopDevice.MiB));
        var stats = await driver.Node.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "vol-be", VolumePath = target });

        Assert.Equal(StatusCode.OutOfRange, tooEarly.StatusCode);
        Assert.Equal(96 * LoopDevice.MiB, expanded.CapacityBytes);
        var usage = Assert.Single(stats.Usage);
        Assert.Equal(VolumeUsage.Types.Unit.Bytes, usage.Unit);
        Assert.Equal(96 * LoopDevice.MiB, usage.Total);
        Assert.False(stats.VolumeCondition.Abnormal);
    }

    [Fact]
    public async Task Stats_report_bytes_and_inodes_of_the_mounted_filesystem()
    {
        await using var volume = await NodeTestVolume.StartAsync("stats", 128 * LoopDevice.MiB);
        var (_, _, driver, _, staging, target) = volume;
        var capability = Mount("ext4");
        await volume.StageAndPublishAsync("vol-s", capability);
        var request = new NodeGetVolumeStatsRequest { VolumeId = "vol-s", VolumePath = target, StagingTargetPath = staging };
        var before = await driver.Node.NodeGetVolumeStatsAsync(request);

        for (var i = 0; i < 8; i++)
        {
            await File.WriteAllBytesAsync(Path.Combine(target, $"f{i}"), new byte[2 * LoopDevice.MiB]);
        }
        Shell.Run("sync", "-f", target);
        var after = await driver.Node.NodeGetVolumeStatsAsync(request);

        var bytesBefore = before.Usage.Single(u => u.Unit == VolumeUsage.Types.Unit.Bytes);
        var bytesAfter = after.Usage.Single(u => u.Unit == VolumeUsage.Types.Unit.Bytes);
        var inodesBefore = before.Usage.Single(u => u.Unit == VolumeUsage.Types.Unit.Inodes);
        var inodesAfter = after.Usage.Single(u => u.Unit == VolumeUsage.Types.Unit.Inodes);
        Assert.InRange(bytesAfter.Total, 100 * LoopDevice.MiB, 128 * LoopDevice.MiB);
        Assert.InRange(bytesAfter.Used - bytesBefore.Used, 16 * LoopDevice.MiB, 17 * LoopDevice.MiB);
        Assert.True(bytesAfter.Available < bytesBefore.Available);
        Assert.Equal(inodesBefore.Used + 8, inodesAfter.Used);
        Assert.Equal(inodesAfter.Total, inodesAfter.Used + inodesAfter.Available);
        Assert.False(after.VolumeCondition.Abnormal);
    }

    [Fact]
    public async Task The_condition_turns_abnormal_when_the_mounts_and_device_vanish_behind_the_drivers_back()
    {
        await using var volume = await NodeTestVolume.StartAsync("cond", 64 * LoopDevice.MiB);
        var (_, _, driver, loop, staging, target) = volume;
        var capability = Mount("ext4");
        await volume.StageAndPublishAsync("vol-gone", capability);
        var request = new NodeGetVolumeStatsRequest { VolumeId = "vol-gone", VolumePath = target };
        Assert.False((await driver.Node.NodeGetVolumeStatsAsync(request)).VolumeCondition.Abnormal);

        Shell.Run("umount", "-l", target);
        Shell.Run("umount", "-l", staging);
        loop.Detach();
        var stats = await driver.Node.NodeGetVolumeStatsAsync(request);

        Assert.True(stats.VolumeCondition.Abnormal);
        Assert.Contains("no longer a mount point", stats.VolumeCondition.Message, StringComparison.Ordinal);
        Assert.Empty(stats.Usage);
        // Cleaning up what is left still works.
        await driver.Node.NodeUnpublishVolumeAsync(Unpublish("vol-gone", target));
        await driver.Node.NodeUnstageVolumeAsync(Unstage("vol-gone", staging));
        Assert.False(Path.Exists(target));
    }

    [Fact]
    public async Task The_condition_of_a_block_volume_turns_abnormal_when_its_device_is_gone()
    {
        await using var volume = await NodeTestVolume.StartAsync("cond", 64 * LoopDevice.MiB);
        var (_, _, driver, loop, _, target) = volume;
        await volume.PublishAsync("vol-bgone", Block());

        loop.LoseMedia();
        var stats = await driver.Node.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "vol-bgone", VolumePath = target });

        Assert.True(stats.VolumeCondition.Abnormal);
        Assert.Contains("is gone", stats.VolumeCondition.Message, StringComparison.Ordinal);
        await driver.Node.NodeUnpublishVolumeAsync(Unpublish("vol-bgone", target));
        Assert.False(Path.Exists(target));
    }

    [Fact]
    public async Task The_condition_turns_abnormal_when_a_mounts_source_device_is_gone()
    {
        // A loop device cannot vanish while mounted (detach waits for the last user), so the mount table is told
        // that a directory is mounted from a device the kernel does not have, as after a cloud disk was yanked.
        var vanished = new DeviceNumber(4095, 4095);
        await using var node = await NodeUnderTest.StartAsync("cond", configureServices: (dir, services) =>
            services.AddSingleton<IMountTable>(new MountTableWithVanishedDevice(new ProcMountTable(new PathInspector()), dir.Path("mounted"), vanished)));
        var path = Directory.CreateDirectory(node.Dir.Path("mounted")).FullName;
        // The backend still names the volume's device (a node for a number the kernel no longer has), which is
        // what proves the mount at the path is this volume's.
        var deviceNode = node.Dir.Path("vanished-dev");
        Shell.Run("mknod", deviceNode, "b", "4095", "4095");
        node.Finder.Attach("vol-yanked", deviceNode);

        var stats = await node.Node.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "vol-yanked", VolumePath = path });

        Assert.True(stats.VolumeCondition.Abnormal);
        Assert.Contains("/dev/vanished (4095:4095)", stats.VolumeCondition.Message, StringComparison.Ordinal);
        Assert.Empty(stats.Usage);
    }

    [Fact]
    public async Task Node_info_and_capabilities_describe_this_node()
    {
        await using var node = await NodeUnderTest.StartAsync("info");

        var info = await node.Node.NodeGetInfoAsync(new NodeGetInfoRequest());
        var capabilities = await node.Node.NodeGetCapabilitiesAsync(new NodeGetCapabilitiesRequest());

        Assert.Equal("test-node", info.NodeId);
        Assert.Equal(17, info.MaxVolumesPerNode);
        Assert.Equal("zone-a", info.AccessibleTopology.Segments[TestNodeIdentity.ZoneKey]);
        Assert.Equal(
            new[]
            {
                NodeServiceCapability.Types.RPC.Types.Type.StageUnstageVolume,
                NodeServiceCapability.Types.RPC.Types.Type.ExpandVolume,
                NodeServiceCapability.Types.RPC.Types.Type.GetVolumeStats,
                NodeServiceCapability.Types.RPC.Types.Type.VolumeCondition,
                NodeServiceCapability.Types.RPC.Types.Type.SingleNodeMultiWriter,
            },
            capabilities.Capabilities.Select(c => c.Rpc.Type));
    }

    [Fact]
    public async Task The_volume_attach_limit_option_overrides_the_nodes_own_limit()
    {
        await using var node = await NodeUnderTest.StartAsync("info", volumeAttachLimit: 5);

        var info = await node.Node.NodeGetInfoAsync(new NodeGetInfoRequest());

        Assert.Equal(5, info.MaxVolumesPerNode);
    }

    private sealed class MountTableWithVanishedDevice(IMountTable real, string path, DeviceNumber device) : IMountTable
    {
        public IReadOnlyList<MountEntry> ReadAll() => real.ReadAll();

        public MountEntry? FindByMountPoint(string mountPoint) => mountPoint == path ? Vanished() : real.FindByMountPoint(mountPoint);

        public MountEntry? FindAt(string canonicalPath) => canonicalPath == path ? Vanished() : real.FindAt(canonicalPath);

        private MountEntry Vanished() => new(99999, 1, device, "/", path, ["rw"], "ext4", "/dev/vanished", ["rw"]);
    }
}
