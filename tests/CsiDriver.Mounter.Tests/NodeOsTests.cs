using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Tests.Support;
using CsiDriver.Testing;

namespace CsiDriver.Mounter.Tests;

/// <summary>Mount, bind, stats, sizes and resize against real loop devices.</summary>
public sealed class NodeOsTests
{
    private readonly NodeOs _os = new();

    [Fact]
    public void Path_inspector_tells_devices_directories_files_and_missing_paths_apart()
    {
        using var dir = new TestDirectory("paths");
        var loop = LoopDevice.Create(dir, 16 * LoopDevice.MiB);

        var device = _os.Paths.Inspect(loop.Device);

        Assert.Equal(PathKind.BlockDevice, device.Kind);
        Assert.Equal(7u, device.Rdev.Major);
        Assert.Equal(PathKind.Directory, _os.Paths.Inspect(dir.Root).Kind);
        Assert.Equal(PathKind.RegularFile, _os.Paths.Inspect(loop.BackingFile).Kind);
        Assert.Equal(16 * LoopDevice.MiB, _os.Paths.Inspect(loop.BackingFile).Size);
        Assert.Equal(PathKind.Missing, _os.Paths.Inspect(dir.Path("nope", "deeper")).Kind);
        Assert.Null(_os.Paths.RealPath(dir.Path("nope")));
    }

    [Fact]
    public async Task Data_without_a_signature_in_the_middle_of_a_device_is_not_blank()
    {
        using var dir = new TestDirectory("middle");
        var loop = LoopDevice.Create(dir, 256 * LoopDevice.MiB);
        Assert.True((await _os.Probe.ProbeAsync(loop.Device, CancellationToken.None)).IsBlank);

        // First and last MiB stay zero: only the samples across the device can see this.
        RawBytes.WriteAt(loop.Device, 100 * LoopDevice.MiB, Enumerable.Repeat((byte)0x5a, 1 << 20).ToArray());

        var content = await _os.Probe.ProbeAsync(loop.Device, CancellationToken.None);
        Assert.Equal(Filesystems.DeviceContentKind.UnidentifiedData, content.Kind);
    }

    [Fact]
    public void Inspecting_without_following_reports_a_symlink_as_a_symlink()
    {
        using var dir = new TestDirectory("nofollow");
        var link = dir.Path("link");
        File.CreateSymbolicLink(link, "/etc");

        Assert.Equal(PathKind.Symlink, _os.Paths.InspectNoFollow(link).Kind);
        Assert.Equal(PathKind.Directory, _os.Paths.Inspect(link).Kind);
        Assert.Equal(PathKind.Missing, _os.Paths.InspectNoFollow(dir.Path("nope")).Kind);
    }

    [Fact]
    public void Device_size_comes_from_sysfs_and_follows_a_grow()
    {
        using var dir = new TestDirectory("size");
        var loop = LoopDevice.Create(dir, 16 * LoopDevice.MiB);
        var number = _os.Devices.GetDeviceNumber(loop.Device);

        Assert.Equal(16 * LoopDevice.MiB, _os.Devices.GetSizeBytes(number));
        Assert.Equal(loop.Device, _os.Devices.GetDevicePath(number));
        Assert.True(_os.Devices.IsPresent(number));

        loop.Grow(24 * LoopDevice.MiB);
        Assert.Equal(24 * LoopDevice.MiB, _os.Devices.GetSizeBytes(number));

        loop.Detach();
        // The kernel hands a freed loop number to the next attach, which may be a parallel test's at once:
        // then the number is present again, but backed by another file.
        Assert.True(!_os.Devices.IsPresent(number) || !CsiDriver.Cloud.Local.LoopDevices.IsBackedBy(loop.Device, loop.BackingFile),
            $"{loop.Device} still serves {loop.BackingFile} after detach");
    }

    [Fact]
    public void A_missing_device_or_a_non_device_is_refused()
    {
        using var dir = new TestDirectory("size");
        File.WriteAllText(dir.Path("file"), "x");

        Assert.Equal(FailureKind.NotFound, Assert.Throws<StorageException>(() => _os.Devices.GetDeviceNumber(dir.Path("gone"))).Kind);
        Assert.Equal(FailureKind.FailedPrecondition, Assert.Throws<StorageException>(() => _os.Devices.GetDeviceNumber(dir.Path("file"))).Kind);
        Assert.Equal(FailureKind.NotFound, Assert.Throws<StorageException>(() => _os.Devices.GetSizeBytes(new DeviceNumber(4095, 4095))).Kind);
    }

    [Fact]
    public async Task Mount_bind_read_only_and_unmount_show_in_the_mount_table()
    {
        using var dir = new TestDirectory("mount");
        var loop = LoopDevice.Create(dir, 64 * LoopDevice.MiB);
        await _os.Formatter.FormatAsync(loop.Device, "ext4", FormatOptions.None, CancellationToken.None);
        var stage = Directory.CreateDirectory(dir.Path("stage dir")).FullName;
        var target = Directory.CreateDirectory(dir.Path("target")).FullName;

        await _os.Mounter.MountAsync(loop.Device, stage, "ext4", ["noatime", "nosuid"], CancellationToken.None);
        await _os.Mounter.BindAsync(stage, target, readOnly: true, CancellationToken.None);

        var staged = _os.Mounts.FindByMountPoint(stage);
        var bound = _os.Mounts.FindByMountPoint(target);
        Assert.NotNull(staged);
        Assert.NotNull(bound);
        Assert.Equal(_os.Devices.GetDeviceNumber(loop.Device), staged.Device);
        Assert.Equal(staged.Device, bound.Device);
        Assert.False(staged.IsReadOnly);
        Assert.True(bound.IsReadOnly);
        Assert.True(bound.HasOption("noatime"));
        Assert.True(bound.HasOption("nosuid"));
        File.WriteAllText(Path.Combine(stage, "a"), "a");
        Assert.ThrowsAny<IOException>(() => File.WriteAllText(Path.Combine(target, "b"), "b"));

        await _os.Mounter.UnmountAsync(target, CancellationToken.None);
        await _os.Mounter.UnmountAsync(stage, CancellationToken.None);
        Assert.Null(_os.Mounts.FindByMountPoint(target));
        Assert.Null(_os.Mounts.FindByMountPoint(stage));
    }

    [Fact]
    public async Task A_failed_mount_reports_mounts_stderr()
    {
        using var dir = new TestDirectory("mount");
        var loop = LoopDevice.Create(dir, 16 * LoopDevice.MiB);
        Directory.CreateDirectory(dir.Path("t"));

        var error = await Assert.ThrowsAsync<StorageException>(
            () => _os.Mounter.MountAsync(loop.Device, dir.Path("t"), "ext4", [], CancellationToken.None));

        Assert.Equal(FailureKind.Internal, error.Kind);
        Assert.Contains(loop.Device, error.Message, StringComparison.Ordinal);
        Assert.Null(_os.Mounts.FindByMountPoint(dir.Path("t")));
    }

    [Theory]
    [InlineData("ext4")]
    [InlineData("ext3")]
    [InlineData("xfs")]
    public async Task Resize_grows_a_mounted_filesystem_to_fill_its_grown_device(string fsType)
    {
        using var dir = new TestDirectory("resize");
        var loop = LoopDevice.Create(dir, 512 * LoopDevice.MiB);
        await _os.Formatter.FormatAsync(loop.Device, fsType, FormatOptions.None, CancellationToken.None);
        var mountPoint = Directory.CreateDirectory(dir.Path("m")).FullName;
        await _os.Mounter.MountAsync(loop.Device, mountPoint, fsType, [], CancellationToken.None);
        var before = _os.Stats.Get(mountPoint);

        loop.Grow(1024 * LoopDevice.MiB);
        if (fsType != "xfs" && !ProcessCapabilities.CanGrowExtOnline)
        {
            // This container dropped CAP_SYS_RESOURCE: the kernel refuses, and the error must say why.
            var refused = await Assert.ThrowsAsync<StorageException>(() => _os.Resizer.ResizeAsync(loop.Device, mountPoint, CancellationToken.None));
            Assert.Contains("CAP_SYS_RESOURCE", refused.Message, StringComparison.Ordinal);
            Assert.Equal(before.TotalBytes, _os.Stats.Get(mountPoint).TotalBytes);
            return;
        }
        await _os.Resizer.ResizeAsync(loop.Device, mountPoint, CancellationToken.None);
        var after = _os.Stats.Get(mountPoint);
        // A second grow has nothing to do and still succeeds.
        await _os.Resizer.ResizeAsync(loop.Device, mountPoint, CancellationToken.None);

        Assert.InRange(before.TotalBytes, 400 * LoopDevice.MiB, 512 * LoopDevice.MiB);
        Assert.InRange(after.TotalBytes, 900 * LoopDevice.MiB, 1024 * LoopDevice.MiB);
        Assert.Equal(after.TotalBytes, _os.Stats.Get(mountPoint).TotalBytes);
    }

    [Fact]
    public async Task Statvfs_counts_bytes_and_inodes_a_write_uses()
    {
        using var dir = new TestDirectory("stats");
        var loop = LoopDevice.Create(dir, 64 * LoopDevice.MiB);
        await _os.Formatter.FormatAsync(loop.Device, "ext4", FormatOptions.None, CancellationToken.None);
        var mountPoint = Directory.CreateDirectory(dir.Path("m")).FullName;
        await _os.Mounter.MountAsync(loop.Device, mountPoint, "ext4", [], CancellationToken.None);
        var before = _os.Stats.Get(mountPoint);

        for (var i = 0; i < 10; i++)
        {
            File.WriteAllBytes(Path.Combine(mountPoint, $"f{i}"), new byte[LoopDevice.MiB]);
        }
        Shell.Run("sync", "-f", mountPoint);
        var after = _os.Stats.Get(mountPoint);

        Assert.Equal(before.TotalBytes, after.TotalBytes);
        Assert.InRange(after.UsedBytes - before.UsedBytes, 10 * LoopDevice.MiB, 11 * LoopDevice.MiB);
        Assert.Equal(before.UsedInodes + 10, after.UsedInodes);
        Assert.Equal(after.TotalInodes, after.FreeInodes + after.UsedInodes);
        Assert.True(after.AvailableBytes <= after.TotalBytes - after.UsedBytes);
    }
}
