using CsiDriver.Driver.Tests.Node.Support;
using CsiDriver.Driver.Validation;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Mounts;
using CsiDriver.Testing;
using Grpc.Core;
using static CsiDriver.Driver.Tests.Node.Support.NodeRequests;

namespace CsiDriver.Driver.Tests.Node;

/// <summary>
/// The mount option allow-list lets through what users of block CSI drivers set (the hostile suite covers what it
/// refuses), and those options really mount on ext4 and xfs.
/// </summary>
public sealed class NodeMountOptionTests
{
    private static readonly ProcMountTable Mounts = new(new PathInspector());

    [Theory]
    [InlineData("noatime")]
    [InlineData("noatime,nodiratime")]
    [InlineData("relatime")]
    [InlineData("strictatime")]
    [InlineData("lazytime")]
    [InlineData("ro")]
    [InlineData("nosuid,nodev,noexec")]
    [InlineData("sync")]
    [InlineData("dirsync")]
    [InlineData("discard")]
    [InlineData("nobarrier")]
    [InlineData("data=writeback")]
    [InlineData("commit=60")]
    [InlineData("errors=remount-ro")]
    [InlineData("nouuid")]
    [InlineData("logbsize=256k")]
    [InlineData("inode64")]
    [InlineData("prjquota")]
    [InlineData("uquota")]
    [InlineData("context=\"system_u:object_r:container_file_t:s0:c1,c2\"")]
    [InlineData("context=system_u:object_r:container_file_t:s0")]
    public void Options_users_set_are_allowed(string flag)
    {
        var options = MountFlagPolicy.Validate([flag], "mount_flags");

        Assert.NotEmpty(options);
        Assert.Equal(flag, string.Join(',', options));
    }

    [Fact]
    public void A_quoted_selinux_context_stays_one_option_with_its_comma()
    {
        var options = MountFlagPolicy.Validate(["noatime,context=\"system_u:object_r:container_file_t:s0:c1,c2\""], "mount_flags");

        Assert.Equal(["noatime", "context=\"system_u:object_r:container_file_t:s0:c1,c2\""], options);
    }

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
