using Csi.V1;
using CsiDriver.Driver.Tests.Node.Support;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Filesystems;
using CsiDriver.Mounter.Mounts;
using CsiDriver.Testing;
using Grpc.Core;
using static CsiDriver.Driver.Tests.Node.Support.NodeRequests;

namespace CsiDriver.Driver.Tests.Node;

/// <summary>Stage, publish, use, unpublish, unstage through the real driver on its unix socket, on real loop devices.</summary>
public sealed class NodeLifecycleTests
{
    private const long Size = 512 * LoopDevice.MiB;
    private static readonly PathInspector Paths = new();
    private static readonly ProcMountTable Mounts = new(Paths);

    [Theory]
    [InlineData("ext4")]
    [InlineData("ext3")]
    [InlineData("xfs")]
    public async Task Data_written_through_a_publish_survives_unstage_and_restage_without_a_reformat(string fsType)
    {
        await using var volume = await NodeTestVolume.StartAsync("life", Size);
        var (dir, _, driver, loop, staging, _) = volume;
        var target = dir.Path("pod", "volume");
        Directory.CreateDirectory(dir.Path("pod"));
        var capability = Mount(fsType);

        await volume.StageAsync("vol-1", capability);
        await driver.Node.NodePublishVolumeAsync(Publish("vol-1", loop.Device, staging, target, capability));
        await File.WriteAllTextAsync(Path.Combine(target, "hello.txt"), "kept");
        var stagedAs = Mounts.FindByMountPoint(staging);
        var uuid = Shell.Run("blkid", "-p", "-s", "UUID", "-o", "value", loop.Device).Trim();

        await driver.Node.NodeUnpublishVolumeAsync(Unpublish("vol-1", target));
        await driver.Node.NodeUnstageVolumeAsync(Unstage("vol-1", staging));
        Assert.False(Path.Exists(target));
        Assert.Null(Mounts.FindByMountPoint(staging));

        await volume.StageAsync("vol-1", capability);
        await driver.Node.NodePublishVolumeAsync(Publish("vol-1", loop.Device, staging, target, capability));

        Assert.NotNull(stagedAs);
        Assert.Equal(fsType, stagedAs.FsType);
        Assert.Equal("kept", await File.ReadAllTextAsync(Path.Combine(target, "hello.txt")));
        Assert.Equal(uuid, Shell.Run("blkid", "-p", "-s", "UUID", "-o", "value", loop.Device).Trim());
        await driver.Node.NodeUnpublishVolumeAsync(Unpublish("vol-1", target));
        await driver.Node.NodeUnstageVolumeAsync(Unstage("vol-1", staging));
    }

    [Fact]
    public async Task Two_xfs_volumes_with_the_same_uuid_mount_side_by_side_as_a_snapshot_restore_needs()
    {
        await using var volume = await NodeTestVolume.StartAsync("clone", Size);
        var (dir, _, driver, source, stagingA, _) = volume;
        Shell.Run("mkfs.xfs", "-q", source.Device);
        // A restored snapshot is a block-for-block copy, UUID included.
        Shell.Run("cp", "--sparse=always", source.BackingFile, dir.Path("clone.img"));
        var clone = Shell.Run("losetup", "--find", "--show", dir.Path("clone.img")).Trim();
        var stagingB = Directory.CreateDirectory(dir.Path("b")).FullName;

        await volume.StageAsync("vol-src", Mount("xfs"));
        await driver.Node.NodeStageVolumeAsync(Stage("vol-clone", clone, stagingB, Mount("xfs")));

        Assert.Equal(
            Shell.Run("blkid", "-p", "-s", "UUID", "-o", "value", source.Device),
            Shell.Run("blkid", "-p", "-s", "UUID", "-o", "value", clone));
        Assert.Contains("nouuid", Mounts.FindByMountPoint(stagingB)!.SuperOptions);
        Assert.Equal("xfs", Mounts.FindByMountPoint(stagingA)?.FsType);
    }

    [Fact]
    public async Task Mount_flags_reach_the_staging_mount_and_the_publish_bind()
    {
        await using var volume = await NodeTestVolume.StartAsync("flags", 64 * LoopDevice.MiB);
        var (_, _, _, _, staging, target) = volume;
        var capability = Mount("ext4", flags: ["noatime", "nodev"]);

        await volume.StageAndPublishAsync("vol-f", capability);

        var staged = Mounts.FindByMountPoint(staging);
        var published = Mounts.FindByMountPoint(target);
        Assert.NotNull(staged);
        Assert.NotNull(published);
        Assert.Contains("noatime", staged.MountOptions);
        Assert.Contains("nodev", staged.MountOptions);
        Assert.Contains("noatime", published.MountOptions);
        Assert.False(published.IsReadOnly);
    }

    [Fact]
    public async Task A_failed_mount_leaves_no_mount_and_removes_the_staging_directory_it_created()
    {
        await using var volume = await NodeTestVolume.StartAsync("fail", 64 * LoopDevice.MiB, createStaging: false);
        var (_, _, driver, loop, staging, _) = volume;

        var error = await Assert.ThrowsAsync<RpcException>(
            () => driver.Node.NodeStageVolumeAsync(Stage("vol-bad", loop.Device, staging, Mount("ext4", flags: "logbufs=8"))).ResponseAsync);

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Contains("cannot mount", error.Status.Detail, StringComparison.Ordinal);
        Assert.False(Path.Exists(staging));
        // The filesystem made on the way is kept and mounted as it is on the retry.
        await driver.Node.NodeStageVolumeAsync(Stage("vol-bad", loop.Device, staging, Mount("ext4")));
        Assert.Equal("ext4", Mounts.FindByMountPoint(staging)?.FsType);
    }

    [Fact]
    public async Task Publishing_from_a_read_only_staging_mount_is_read_only_and_repeatable()
    {
        await using var volume = await NodeTestVolume.StartAsync("ro", 64 * LoopDevice.MiB);
        var (_, _, _, loop, staging, target) = volume;
        Shell.Run("mkfs.ext4", "-q", loop.Device);
        var capability = Mount("ext4", flags: "ro");

        await volume.StageAndPublishAsync("vol-sro", capability);
        await volume.PublishAsync("vol-sro", capability);

        Assert.True(Mounts.FindByMountPoint(staging)?.IsReadOnly);
        Assert.True(Mounts.FindByMountPoint(target)?.IsReadOnly);
    }

    [Fact]
    public async Task A_read_only_publish_refuses_writes_with_erofs_while_the_staging_mount_stays_writable()
    {
        await using var volume = await NodeTestVolume.StartAsync("ro", 64 * LoopDevice.MiB);
        var (_, _, _, _, staging, target) = volume;
        var capability = Mount("ext4");

        await volume.StageAsync("vol-ro", capability);
        await File.WriteAllTextAsync(Path.Combine(staging, "seen.txt"), "from staging");
        await volume.PublishAsync("vol-ro", capability, readOnly: true);

        var error = Assert.ThrowsAny<IOException>(() => File.WriteAllText(Path.Combine(target, "new.txt"), "x"));
        Assert.Contains("Read-only file system", error.Message, StringComparison.Ordinal);
        Assert.Equal("from staging", await File.ReadAllTextAsync(Path.Combine(target, "seen.txt")));
        Assert.True(Mounts.FindByMountPoint(target)?.IsReadOnly);
        Assert.False(Mounts.FindByMountPoint(staging)?.IsReadOnly);
    }

    [Fact]
    public async Task A_reader_only_access_mode_publishes_read_only_even_without_the_readonly_flag()
    {
        await using var volume = await NodeTestVolume.StartAsync("ro", 64 * LoopDevice.MiB);
        var (_, _, _, _, _, target) = volume;
        var capability = Mount("ext4", VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeReaderOnly);

        await volume.StageAndPublishAsync("vol-rox", capability);

        Assert.True(Mounts.FindByMountPoint(target)?.IsReadOnly);
    }

    [Fact]
    public async Task A_block_volume_is_published_as_a_bind_of_its_device_node_that_reads_and_writes_the_device()
    {
        await using var volume = await NodeTestVolume.StartAsync("block", 64 * LoopDevice.MiB);
        var (dir, _, driver, loop, staging, _) = volume;
        var target = dir.Path("publish", "pod-uid");
        var capability = Block();

        await volume.StageAsync("vol-b", capability);
        Assert.Null(Mounts.FindByMountPoint(staging));
        await driver.Node.NodePublishVolumeAsync(Publish("vol-b", loop.Device, staging, target, capability));
        await driver.Node.NodePublishVolumeAsync(Publish("vol-b", loop.Device, staging, target, capability));

        var info = Paths.Inspect(target);
        Assert.Equal(PathKind.BlockDevice, info.Kind);
        Assert.Equal(Paths.Inspect(loop.Device).Rdev, info.Rdev);
        var pattern = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray();
        using (var stream = new FileStream(target, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            stream.Seek(LoopDevice.MiB, SeekOrigin.Begin);
            stream.Write(pattern);
            stream.Flush(flushToDisk: true);
        }
        var readBack = new byte[4096];
        using (var stream = new FileStream(loop.Device, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            stream.Seek(LoopDevice.MiB, SeekOrigin.Begin);
            stream.ReadExactly(readBack);
        }
        Assert.Equal(pattern, readBack);
        // Block volumes are never formatted.
        Assert.Equal(2, Shell.TryRun("blkid", "-p", loop.Device).ExitCode);

        // Read-only is a read-only bind; the container runtime enforces it for devices (device cgroup "r").
        var readOnlyTarget = dir.Path("publish", "ro-pod");
        await driver.Node.NodePublishVolumeAsync(Publish("vol-b", loop.Device, staging, readOnlyTarget, capability, readOnly: true));
        Assert.True(Mounts.FindByMountPoint(readOnlyTarget)?.IsReadOnly);
        Assert.Equal(info.Rdev, Paths.Inspect(readOnlyTarget).Rdev);

        await driver.Node.NodeUnpublishVolumeAsync(Unpublish("vol-b", readOnlyTarget));
        await driver.Node.NodeUnpublishVolumeAsync(Unpublish("vol-b", target));
        Assert.False(Path.Exists(target));
        Assert.False(Path.Exists(readOnlyTarget));
        Assert.Null(Mounts.FindByMountPoint(target));
        await driver.Node.NodeUnstageVolumeAsync(Unstage("vol-b", staging));
    }

    [Fact]
    public async Task Repeated_calls_succeed_and_incompatible_repeats_are_already_exists()
    {
        await using var volume = await NodeTestVolume.StartAsync("idem", 64 * LoopDevice.MiB);
        var (dir, _, driver, loop, staging, target) = volume;
        var other = LoopDevice.Create(dir, 64 * LoopDevice.MiB, "b.img");
        var capability = Mount("ext4");

        await volume.StageAsync("vol-i", capability);
        await volume.StageAsync("vol-i", capability);
        await volume.PublishAsync("vol-i", capability);
        await volume.PublishAsync("vol-i", capability);

        var otherDevice = await Assert.ThrowsAsync<RpcException>(
            () => driver.Node.NodeStageVolumeAsync(Stage("vol-other", other.Device, staging, capability)).ResponseAsync);
        var otherFs = await Assert.ThrowsAsync<RpcException>(
            () => driver.Node.NodeStageVolumeAsync(Stage("vol-i", loop.Device, staging, Mount("xfs"))).ResponseAsync);
        var readOnlyNow = await Assert.ThrowsAsync<RpcException>(
            () => driver.Node.NodePublishVolumeAsync(Publish("vol-i", loop.Device, staging, target, capability, readOnly: true)).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, otherDevice.StatusCode);
        Assert.Equal(StatusCode.AlreadyExists, otherFs.StatusCode);
        Assert.Equal(StatusCode.AlreadyExists, readOnlyNow.StatusCode);
        Assert.Equal(2, Shell.TryRun("blkid", "-p", other.Device).ExitCode);

        await driver.Node.NodeUnpublishVolumeAsync(Unpublish("vol-i", target));
        await driver.Node.NodeUnpublishVolumeAsync(Unpublish("vol-i", target));
        await driver.Node.NodeUnstageVolumeAsync(Unstage("vol-i", staging));
        await driver.Node.NodeUnstageVolumeAsync(Unstage("vol-i", staging));
        Assert.False(Path.Exists(target));
        // The CO made the staging directory, so it is still there.
        Assert.True(Directory.Exists(staging));
        Assert.Null(Mounts.FindByMountPoint(staging));
    }

    [Fact]
    public async Task Unstage_and_unpublish_leave_a_plain_directory_and_its_files_alone()
    {
        await using var node = await NodeUnderTest.StartAsync("alone");
        var (dir, driver) = (node.Dir, node.Driver);
        var notMounted = Directory.CreateDirectory(dir.Path("plain")).FullName;
        await File.WriteAllTextAsync(Path.Combine(notMounted, "precious.txt"), "mine");

        await driver.Node.NodeUnstageVolumeAsync(Unstage("vol-x", notMounted));
        await driver.Node.NodeUnpublishVolumeAsync(Unpublish("vol-x", notMounted));
        await driver.Node.NodeUnpublishVolumeAsync(Unpublish("vol-x", dir.Path("never-existed")));

        Assert.Equal("mine", await File.ReadAllTextAsync(Path.Combine(notMounted, "precious.txt")));
    }

    [Fact]
    public async Task A_kubelet_dir_behind_a_symlink_and_paths_with_duplicate_slashes_and_dots_work_at_their_resolved_form()
    {
        // Many hosts move kubelet's directory to a data disk and leave a symlink at /var/lib/kubelet.
        await using var volume = await NodeTestVolume.StartAsync("kubelink", 64 * LoopDevice.MiB, createStaging: false, configure: (dir, options) =>
        {
            File.CreateSymbolicLink(dir.Path("kubelet"), Directory.CreateDirectory(dir.Path("data", "kubelet")).FullName);
            options.KubeletDir = dir.Path("kubelet");
            options.AllowedPathRoots = [];
        });
        var (dir, _, driver, loop, _, _) = volume;
        var realKubelet = dir.Path("data", "kubelet");
        var kubeletLink = dir.Path("kubelet");
        var staging = kubeletLink + "/plugins/kubernetes.io/csi//block.csi.csidriver.io/./h/globalmount/";
        var target = kubeletLink + "//pods/p/volumes/kubernetes.io~csi/pv/./mount";
        var capability = Mount("ext4");

        await driver.Node.NodeStageVolumeAsync(Stage("vol-link", loop.Device, staging, capability));
        await driver.Node.NodePublishVolumeAsync(Publish("vol-link", loop.Device, staging, target, capability));

        var resolvedStaging = Path.Combine(realKubelet, "plugins/kubernetes.io/csi/block.csi.csidriver.io/h/globalmount");
        var resolvedTarget = Path.Combine(realKubelet, "pods/p/volumes/kubernetes.io~csi/pv/mount");
        Assert.Equal(resolvedStaging, Mounts.FindByMountPoint(resolvedStaging)?.MountPoint);
        Assert.Equal(resolvedTarget, Mounts.FindByMountPoint(resolvedTarget)?.MountPoint);
        var stats = await driver.Node.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "vol-link", VolumePath = target });
        Assert.False(stats.VolumeCondition.Abnormal);
        await driver.Node.NodeUnpublishVolumeAsync(Unpublish("vol-link", target));
        await driver.Node.NodeUnstageVolumeAsync(Unstage("vol-link", staging));
        Assert.Null(Mounts.FindByMountPoint(resolvedTarget));
        Assert.Null(Mounts.FindByMountPoint(resolvedStaging));
        Assert.False(Path.Exists(resolvedTarget), "publish created the target, so unpublish removes it");

        // The kubelet directory itself, and its directories other than pods/ and plugins/kubernetes.io/csi/, are not for volumes.
        var outside = await Assert.ThrowsAsync<RpcException>(
            () => driver.Node.NodeStageVolumeAsync(Stage("vol-link", loop.Device, kubeletLink + "/plugins/other/globalmount", capability)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, outside.StatusCode);
        Assert.Contains("--kubelet-dir", outside.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clean_up_still_works_when_the_backend_no_longer_finds_the_device_through_the_nodes_record()
    {
        await using var volume = await NodeTestVolume.StartAsync("gone", 64 * LoopDevice.MiB, createStaging: false);
        var (dir, finder, driver, loop, staging, _) = volume;
        var target = dir.Path("pod", "mount");
        var capability = Mount("ext4");
        await volume.StageAsync("vol-gone", capability);
        await driver.Node.NodePublishVolumeAsync(Publish("vol-gone", loop.Device, staging, target, capability));

        // The backend cannot say which device the volume has any more; the node recorded it at stage and publish.
        finder.Forget("vol-gone");
        await driver.Node.NodeUnpublishVolumeAsync(Unpublish("vol-gone", target));
        await driver.Node.NodeUnstageVolumeAsync(Unstage("vol-gone", staging));

        Assert.Null(Mounts.FindByMountPoint(target));
        Assert.Null(Mounts.FindByMountPoint(staging));
        Assert.False(Path.Exists(target), "publish created the target, so unpublish removes it");
        // Repeats find nothing to do and succeed, as kubelet's retries need.
        await driver.Node.NodeUnpublishVolumeAsync(Unpublish("vol-gone", target));
        await driver.Node.NodeUnstageVolumeAsync(Unstage("vol-gone", staging));
    }

    [Fact]
    public async Task A_mount_the_driver_never_makes_is_not_unmounted()
    {
        await using var node = await NodeUnderTest.StartAsync("foreign");
        var (dir, driver) = (node.Dir, node.Driver);
        var foreign = Directory.CreateDirectory(dir.Path("tmpfs")).FullName;
        Shell.Run("mount", "-t", "tmpfs", "-o", "size=1m", "csi-test-tmpfs", foreign);
        await File.WriteAllTextAsync(Path.Combine(foreign, "keep.txt"), "keep");

        var unpublish = await Assert.ThrowsAsync<RpcException>(() => driver.Node.NodeUnpublishVolumeAsync(Unpublish("vol-f", foreign)).ResponseAsync);
        var unstage = await Assert.ThrowsAsync<RpcException>(() => driver.Node.NodeUnstageVolumeAsync(Unstage("vol-f", foreign)).ResponseAsync);
        var root = await Assert.ThrowsAsync<RpcException>(() => driver.Node.NodeUnpublishVolumeAsync(Unpublish("vol-f", "/")).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, unpublish.StatusCode);
        Assert.Equal(StatusCode.FailedPrecondition, unstage.StatusCode);
        // "/" is outside every allowed root: refused before anything looks at it.
        Assert.Equal(StatusCode.InvalidArgument, root.StatusCode);
        Assert.Equal("tmpfs", Mounts.FindByMountPoint(foreign)?.FsType);
        Assert.Equal("keep", await File.ReadAllTextAsync(Path.Combine(foreign, "keep.txt")));
    }

    [Fact]
    public async Task Staging_a_volume_holding_a_partition_table_is_refused_and_nothing_is_written()
    {
        await using var volume = await NodeTestVolume.StartAsync("refuse", 64 * LoopDevice.MiB);
        var (_, _, driver, loop, staging, _) = volume;
        RawBytes.WriteMbrPartitionTable(loop.Device);

        var error = await Assert.ThrowsAsync<RpcException>(
            () => driver.Node.NodeStageVolumeAsync(Stage("vol-p", loop.Device, staging, Mount("ext4"))).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("dos partition table", error.Status.Detail, StringComparison.Ordinal);
        Assert.Null(Mounts.FindByMountPoint(staging));
        Assert.Equal("dos", Shell.Run("blkid", "-p", "-s", "PTTYPE", "-o", "value", loop.Device).Trim());
        Assert.DoesNotContain("TYPE=\"", Shell.Run("blkid", "-p", loop.Device).Replace("PTTYPE=", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_existing_filesystem_of_another_type_is_never_reformatted()
    {
        await using var volume = await NodeTestVolume.StartAsync("refuse", Size);
        var (_, _, driver, loop, staging, _) = volume;
        Shell.Run("mkfs.xfs", "-q", loop.Device);
        var uuid = Shell.Run("blkid", "-p", "-s", "UUID", "-o", "value", loop.Device).Trim();

        var error = await Assert.ThrowsAsync<RpcException>(
            () => driver.Node.NodeStageVolumeAsync(Stage("vol-x", loop.Device, staging, Mount("ext4"))).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("xfs", error.Status.Detail, StringComparison.Ordinal);
        Assert.Null(Mounts.FindByMountPoint(staging));

        // With no fs_type named, what is there is mounted as it is.
        await volume.StageAsync("vol-x", Mount());
        Assert.Equal("xfs", Mounts.FindByMountPoint(staging)?.FsType);
        Assert.Equal(uuid, Shell.Run("blkid", "-p", "-s", "UUID", "-o", "value", loop.Device).Trim());
        await driver.Node.NodeUnstageVolumeAsync(Unstage("vol-x", staging));
    }

    [Fact]
    public async Task Format_options_in_the_volume_context_shape_the_new_filesystem()
    {
        await using var volume = await NodeTestVolume.StartAsync("fmt", 128 * LoopDevice.MiB);
        var (_, _, driver, loop, staging, _) = volume;

        await driver.Node.NodeStageVolumeAsync(Stage("vol-o", loop.Device, staging, Mount("ext4"),
            new Dictionary<string, string> { ["blockSize"] = "1024", ["inodeSize"] = "512", ["unrelated"] = "ignored" }));

        var header = Shell.Run("dumpe2fs", "-h", loop.Device);
        Assert.Matches(@"Block size:\s+1024\n", header);
        Assert.Matches(@"Inode size:\s+512\n", header);
    }

    [Fact]
    public async Task A_second_operation_on_a_volume_while_one_runs_is_aborted()
    {
        await using var volume = await NodeTestVolume.StartAsync("busy", 64 * LoopDevice.MiB);
        var (_, finder, driver, loop, staging, _) = volume;
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        finder.Gate = async _ =>
        {
            entered.TrySetResult();
            await release.Task;
        };

        var first = driver.Node.NodeStageVolumeAsync(Stage("vol-c", loop.Device, staging, Mount("ext4"))).ResponseAsync;
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var second = await Assert.ThrowsAsync<RpcException>(
            () => driver.Node.NodeStageVolumeAsync(Stage("vol-c", loop.Device, staging, Mount("ext4"))).ResponseAsync);
        var unstage = await Assert.ThrowsAsync<RpcException>(
            () => driver.Node.NodeUnstageVolumeAsync(Unstage("vol-c", staging)).ResponseAsync);
        finder.Gate = null;
        release.SetResult();
        await first;

        Assert.Equal(StatusCode.Aborted, second.StatusCode);
        Assert.Equal(StatusCode.Aborted, unstage.StatusCode);
        Assert.NotNull(Mounts.FindByMountPoint(staging));
        // Once the first finished, the volume is free again.
        await volume.StageAsync("vol-c", Mount("ext4"));
    }
}
