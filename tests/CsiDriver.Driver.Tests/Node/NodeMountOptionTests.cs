using CsiDriver.Driver.Tests.Node.Support;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Mounts;
using CsiDriver.Testing;
using Grpc.Core;
using static CsiDriver.Driver.Tests.Node.Support.NodeRequests;

namespace CsiDriver.Driver.Tests.Node;

/// <summary>
/// The options the allow-list lets through (MountFlagPolicyTests) really mount on ext4 and xfs, and a refused one
/// leaves nothing behind.
/// </summary>
public sealed class NodeMountOptionTests
{
    private static readonly ProcMountTable Mounts = new(new PathInspector());

    [Theory]
    [InlineData("ext4", 64, new[] { "noatime,nodiratime", "lazytime", "discard", "data=ordered", "commit=30", "errors=remount-ro", "nosuid", "nodev", "barrier=1" })]
    [InlineData("xfs", 320, new[] { "noatime", "logbsize=256k", "inode64", "largeio", "nodiscard", "nosuid" })]
    public async Task Allowed_options_mount_for_real(string fsType, long sizeMiB, string[] flags)
    {
        await using var volume = await NodeTestVolume.StartAsync("opts", sizeMiB * LoopDevice.MiB, createStaging: false);
        var (_, _, driver, _, staging, _) = volume;

        await volume.StageAsync("vol-opts", Mount(fsType, flags: flags));

        var staged = Mounts.FindByMountPoint(staging);
        Assert.NotNull(staged);
        Assert.Equal(fsType, staged.FsType);
        Assert.Contains("noatime", staged.MountOptions);
        Assert.Contains("nosuid", staged.MountOptions);
        await driver.Node.NodeUnstageVolumeAsync(Unstage("vol-opts", staging));
        Assert.Null(Mounts.FindByMountPoint(staging));
    }

    [Fact]
    public async Task A_refused_option_leaves_nothing_behind()
    {
        await using var volume = await NodeTestVolume.StartAsync("optsno", 64 * LoopDevice.MiB, createStaging: false);
        var (_, _, driver, loop, staging, _) = volume;

        var error = await Assert.ThrowsAsync<RpcException>(
            () => driver.Node.NodeStageVolumeAsync(Stage("vol-no", loop.Device, staging, Mount("ext4", flags: ["nodev", "loop"]))).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("'loop'", error.Status.Detail, StringComparison.Ordinal);
        Assert.False(Path.Exists(staging));
        Assert.Equal("", Shell.TryRun("blkid", "-p", "-o", "value", "-s", "TYPE", loop.Device).StandardOutput.Trim());
    }
}
