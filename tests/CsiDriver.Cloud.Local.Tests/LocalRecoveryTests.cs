using Csi.V1;
using CsiDriver.Testing;
using static CsiDriver.Cloud.Local.Tests.LocalTestSupport;

namespace CsiDriver.Cloud.Local.Tests;

/// <summary>Restarts and crashes: the state dir is the truth, and a new driver rebuilds everything from it.</summary>
public sealed class LocalRecoveryTests
{
    [Fact]
    public async Task A_restarted_driver_lists_the_same_volumes_snapshots_and_attachments_without_leaking_loop_devices()
    {
        using var dir = new TestDirectory("local-restart");
        string attached, free, snapshotId;
        ListVolumesResponse before;
        await using (var driver = await RunningDriver.StartLocalAsync(dir))
        {
            attached = (await driver.Controller.CreateVolumeAsync(Create("pvc-attached"))).Volume.VolumeId;
            free = (await driver.Controller.CreateVolumeAsync(Create("pvc-free", 32 * MiB))).Volume.VolumeId;
            await driver.Controller.ControllerPublishVolumeAsync(Publish(attached));
            snapshotId = (await driver.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "snap", SourceVolumeId = free })).Snapshot.SnapshotId;
            before = await driver.Controller.ListVolumesAsync(new ListVolumesRequest());
        }

        await using (var restarted = await RunningDriver.StartLocalAsync(dir))
        {
            var after = await restarted.Controller.ListVolumesAsync(new ListVolumesRequest());
            var snapshots = await restarted.Controller.ListSnapshotsAsync(new ListSnapshotsRequest());
            var republished = await restarted.Controller.ControllerPublishVolumeAsync(Publish(attached));

            Assert.Equal(before, after);
            Assert.Equal(["test-node"], after.Entries.Single(e => e.Volume.VolumeId == attached).Status.PublishedNodeIds);
            Assert.Equal(snapshotId, Assert.Single(snapshots.Entries).Snapshot.SnapshotId);
            var loop = Assert.Single(LoopsBelow(dir));
            Assert.Equal(loop, new FileInfo(republished.PublishContext["devicePath"]).LinkTarget);
            // A name that exists keeps its id across restarts.
            Assert.Equal(free, (await restarted.Controller.CreateVolumeAsync(Create("pvc-free", 32 * MiB))).Volume.VolumeId);
        }
        await using (var third = await RunningDriver.StartLocalAsync(dir))
        {
            Assert.Single(LoopsBelow(dir));
        }
    }

    [Fact]
    public async Task Start_after_a_crash_removes_leftovers_and_detaches_unrecorded_loop_devices()
    {
        using var dir = new TestDirectory("local-crash");
        var paths = Paths(dir);
        string volumeId;
        await using (var driver = await RunningDriver.StartLocalAsync(dir))
        {
            volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-crash"))).Volume.VolumeId;
        }
        // What a kill -9 at various points leaves behind:
        var tempRecord = paths.VolumeRecord("vol-1111111111111111") + LocalStatePaths.TempMarker + "abcd1234";
        var tempImage = paths.SnapshotImage("snap-2222222222222222") + LocalStatePaths.TempMarker + "abcd1234";
        File.WriteAllText(tempRecord, "{ \"volumeId\": ");
        File.WriteAllBytes(tempImage, new byte[4096]);
        // ...an image whose record was never written (create interrupted), already attached by a publish...
        var orphanImage = paths.VolumeImage("vol-3333333333333333");
        using (var stream = File.Create(orphanImage))
        {
            stream.SetLength(8 * MiB);
        }
        var orphanLoop = AttachByHand(orphanImage);
        // ...a publish that attached a loop device but died before recording it...
        var unrecordedLoop = AttachByHand(paths.VolumeImage(volumeId));
        File.CreateSymbolicLink(paths.DeviceLink(volumeId), unrecordedLoop);
        // ...and a link to a device of a volume that does not exist.
        File.CreateSymbolicLink(paths.DeviceLink("vol-4444444444444444"), "/dev/loop999");
        // A loop device of another program, backed by a file outside the state dir, must survive.
        var foreignFile = dir.Path("foreign.img");
        using (var stream = File.Create(foreignFile))
        {
            stream.SetLength(4 * MiB);
        }
        var foreignLoop = AttachByHand(foreignFile);

        await using (var driver = await RunningDriver.StartLocalAsync(dir))
        {
            var volumes = await driver.Controller.ListVolumesAsync(new ListVolumesRequest());

            Assert.Equal(volumeId, Assert.Single(volumes.Entries).Volume.VolumeId);
            Assert.Empty(volumes.Entries[0].Status.PublishedNodeIds);
            Assert.False(File.Exists(tempRecord));
            Assert.False(File.Exists(tempImage));
            Assert.False(File.Exists(orphanImage));
            Assert.Empty(Directory.GetFileSystemEntries(paths.DevicesDir));
            Assert.Equal([foreignLoop], LoopsBelow(dir));
            Assert.Equal(foreignFile, BackingFile(foreignLoop));
            Assert.DoesNotContain(orphanLoop, LoopsBelow(dir));
            Assert.DoesNotContain(unrecordedLoop, LoopsBelow(dir));
        }
    }

    [Fact]
    public async Task A_recorded_attachment_whose_loop_device_vanished_is_attached_again()
    {
        using var dir = new TestDirectory("local-vanish");
        string volumeId, link;
        await using (var driver = await RunningDriver.StartLocalAsync(dir))
        {
            volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-vanish"))).Volume.VolumeId;
            link = (await driver.Controller.ControllerPublishVolumeAsync(Publish(volumeId))).PublishContext["devicePath"];
        }
        // A reboot (or a hand-run losetup -d) takes the loop device away while the record says "attached".
        Run("losetup", "--detach", new FileInfo(link).LinkTarget!);
        Assert.Empty(LoopsBelow(dir));

        await using (var driver = await RunningDriver.StartLocalAsync(dir))
        {
            var got = await driver.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = volumeId });

            Assert.False(got.Status.VolumeCondition.Abnormal, got.Status.VolumeCondition.Message);
            Assert.Equal(["test-node"], got.Status.PublishedNodeIds);
            var loop = Assert.Single(LoopsBelow(dir));
            Assert.Equal(loop, new FileInfo(link).LinkTarget);
        }
    }

    [Fact]
    public async Task A_loop_device_vanishing_while_running_shows_as_abnormal_and_publish_repairs_it()
    {
        using var dir = new TestDirectory("local-abnormal");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-abnormal"))).Volume.VolumeId;
        var link = (await driver.Controller.ControllerPublishVolumeAsync(Publish(volumeId))).PublishContext["devicePath"];

        Run("losetup", "--detach", new FileInfo(link).LinkTarget!);
        var broken = await driver.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = volumeId });
        await driver.Controller.ControllerPublishVolumeAsync(Publish(volumeId));
        var repaired = await driver.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = volumeId });

        Assert.True(broken.Status.VolumeCondition.Abnormal);
        Assert.Contains("vanished", broken.Status.VolumeCondition.Message, StringComparison.Ordinal);
        Assert.False(repaired.Status.VolumeCondition.Abnormal);
        Assert.Equal(Assert.Single(LoopsBelow(dir)), new FileInfo(link).LinkTarget);
    }

    [Fact]
    public async Task A_file_that_grew_before_its_record_is_adopted_at_start_and_its_loop_device_refreshed()
    {
        using var dir = new TestDirectory("local-grow");
        string volumeId, link;
        await using (var driver = await RunningDriver.StartLocalAsync(dir))
        {
            volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-grow", 16 * MiB))).Volume.VolumeId;
            link = (await driver.Controller.ControllerPublishVolumeAsync(Publish(volumeId))).PublishContext["devicePath"];
        }
        // An expand that truncated the file up and died before rewriting the record or refreshing the loop device.
        using (var stream = new FileStream(Paths(dir).VolumeImage(volumeId), FileMode.Open))
        {
            stream.SetLength(48 * MiB);
        }
        Assert.Equal(16 * MiB, KernelSize(new FileInfo(link).LinkTarget!));

        await using (var driver = await RunningDriver.StartLocalAsync(dir))
        {
            var got = await driver.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = volumeId });
            Assert.Equal(48 * MiB, got.Volume.CapacityBytes);
            Assert.Equal(48 * MiB, KernelSize(new FileInfo(link).LinkTarget!));
        }
    }

    [Fact]
    public async Task An_unreadable_record_keeps_its_data_on_disk()
    {
        using var dir = new TestDirectory("local-corrupt");
        string volumeId;
        await using (var driver = await RunningDriver.StartLocalAsync(dir))
        {
            volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-corrupt"))).Volume.VolumeId;
        }
        File.WriteAllText(Paths(dir).VolumeRecord(volumeId), "{ not json");

        await using (var driver = await RunningDriver.StartLocalAsync(dir))
        {
            var volumes = await driver.Controller.ListVolumesAsync(new ListVolumesRequest());
            Assert.Empty(volumes.Entries);
            Assert.True(File.Exists(Paths(dir).VolumeImage(volumeId)));
        }
    }

    [Fact]
    public async Task A_second_controller_on_the_same_state_dir_is_refused()
    {
        using var dir = new TestDirectory("local-lock");
        await using var first = await RunningDriver.StartLocalAsync(dir);
        var configuration = RunningDriver.LocalConfiguration(dir);
        configuration.Driver.Endpoint = "unix://" + dir.Path("second.sock");

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => RunningDriver.StartAsync(configuration));

        Assert.Contains("in use by another controller", ex.ToString(), StringComparison.Ordinal);
        Assert.NotNull(await first.Controller.ListVolumesAsync(new ListVolumesRequest()));
    }

    [Fact]
    public async Task A_state_dir_reached_through_a_symlink_still_recognises_its_loop_devices()
    {
        using var dir = new TestDirectory("local-symlink");
        Directory.CreateDirectory(dir.Path("real"));
        Directory.CreateSymbolicLink(dir.Path("link"), dir.Path("real"));
        var configuration = RunningDriver.LocalConfiguration(dir);
        configuration.Local.StateDir = dir.Path("link", "state");
        string volumeId;
        await using (var driver = await RunningDriver.StartAsync(configuration))
        {
            volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-symlink"))).Volume.VolumeId;
            await driver.Controller.ControllerPublishVolumeAsync(Publish(volumeId));
        }

        await using (var driver = await RunningDriver.StartAsync(configuration))
        {
            var got = await driver.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = volumeId });

            Assert.False(got.Status.VolumeCondition.Abnormal, got.Status.VolumeCondition.Message);
            Assert.Equal(dir.Path("real", "state", "volumes", volumeId + ".img"), BackingFile(Assert.Single(LoopsBelow(dir))));
        }
    }
}
