using Csi.V1;
using CsiDriver.Cloud.Local;
using CsiDriver.Core.Storage;
using CsiDriver.Testing;
using Grpc.Core;

namespace CsiDriver.Driver.Tests.Lifecycle;

/// <summary>
/// Group snapshots of the local backend through the real driver over its socket, on real loop devices and real
/// mounted filesystems: one point in time across members while a writer keeps writing, restore of every member,
/// the spec's idempotency and errors, and the thaw after a crash that left filesystems frozen.
/// </summary>
public sealed class LocalGroupSnapshotTests
{
    private const string NodeId = "test-node";

    [Fact]
    public async Task Two_staged_volumes_written_in_lockstep_restore_to_one_point_in_time()
    {
        using var dir = new TestDirectory("grp-pit");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var steps = new VolumeSteps(driver.Controller, driver.Node, NodeId);
        var capability = VolumeSteps.Mount();
        var a = await StageAsync(steps, dir, "pvc-a", capability);
        var b = await StageAsync(steps, dir, "pvc-b", capability);

        // The writer appends step i to a, then step i to b, without fsync: at any single point in time
        // b holds i or i-1 steps of a's i. A copy of a and b at two different times breaks that.
        using var stop = new CancellationTokenSource();
        var writer = Task.Factory.StartNew(() => WriteInLockstep(a.Staging, b.Staging, stop.Token), TaskCreationOptions.LongRunning);
        await WaitForStepsAsync(b.Staging, 200);

        var request = new CreateVolumeGroupSnapshotRequest { Name = "vgs-pit", SourceVolumeIds = { b.Volume.VolumeId, a.Volume.VolumeId } };
        var group = (await driver.GroupController.CreateVolumeGroupSnapshotAsync(request)).GroupSnapshot;
        await WaitForStepsAsync(b.Staging, CountSteps(b.Staging) + 50); // the writer goes on: nothing stayed frozen
        stop.Cancel();
        await writer;

        Assert.True(group.ReadyToUse);
        Assert.Equal(2, group.Snapshots.Count);
        Assert.All(group.Snapshots, s => Assert.Equal(group.GroupSnapshotId, s.GroupSnapshotId));
        Assert.Equal(new[] { a.Volume.VolumeId, b.Volume.VolumeId }.Order(StringComparer.Ordinal), group.Snapshots.Select(s => s.SourceVolumeId).Order(StringComparer.Ordinal));

        // Same name, same set (any order) → the same group; same name, another set → ALREADY_EXISTS.
        var again = (await driver.GroupController.CreateVolumeGroupSnapshotAsync(
            new CreateVolumeGroupSnapshotRequest { Name = "vgs-pit", SourceVolumeIds = { a.Volume.VolumeId, b.Volume.VolumeId } })).GroupSnapshot;
        Assert.Equal(group, again);
        await CsiRequests.AssertFailsWith(StatusCode.AlreadyExists, () => driver.GroupController.CreateVolumeGroupSnapshotAsync(
            new CreateVolumeGroupSnapshotRequest { Name = "vgs-pit", SourceVolumeIds = { a.Volume.VolumeId } }));

        // Members are ordinary snapshots: listed with their group id, restorable one by one.
        var listed = await driver.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { SourceVolumeId = a.Volume.VolumeId });
        Assert.Equal(group.GroupSnapshotId, Assert.Single(listed.Entries).Snapshot.GroupSnapshotId);
        var stepsInA = await RestoreAndCountAsync(steps, dir, group, a.Volume.VolumeId, "restored-a", capability);
        var stepsInB = await RestoreAndCountAsync(steps, dir, group, b.Volume.VolumeId, "restored-b", capability);
        Assert.True(stepsInB >= 200, $"b holds {stepsInB} steps");
        Assert.True(stepsInA == stepsInB || stepsInA == stepsInB + 1, $"a holds {stepsInA} steps, b {stepsInB}: not one point in time");

        var get = (await driver.GroupController.GetVolumeGroupSnapshotAsync(new GetVolumeGroupSnapshotRequest
        {
            GroupSnapshotId = group.GroupSnapshotId,
            SnapshotIds = { group.Snapshots.Select(s => s.SnapshotId) },
        })).GroupSnapshot;
        Assert.Equal(group, get);

        // Delete: the members go with the group; a second delete is fine.
        var delete = new DeleteVolumeGroupSnapshotRequest { GroupSnapshotId = group.GroupSnapshotId, SnapshotIds = { group.Snapshots.Select(s => s.SnapshotId) } };
        await driver.GroupController.DeleteVolumeGroupSnapshotAsync(delete);
        await driver.GroupController.DeleteVolumeGroupSnapshotAsync(delete);
        Assert.Empty((await driver.Controller.ListSnapshotsAsync(new ListSnapshotsRequest())).Entries);
        await CsiRequests.AssertFailsWith(StatusCode.NotFound, () => driver.GroupController.GetVolumeGroupSnapshotAsync(
            new GetVolumeGroupSnapshotRequest { GroupSnapshotId = group.GroupSnapshotId, SnapshotIds = { group.Snapshots[0].SnapshotId } }));

        await steps.TearDownAsync(a.Volume.VolumeId, a.Staging, null);
        await steps.TearDownAsync(b.Volume.VolumeId, b.Staging, null);
    }

    [Fact]
    public async Task Missing_members_mismatched_ids_and_attached_raw_block_members_are_refused_with_nothing_left_frozen()
    {
        using var dir = new TestDirectory("grp-err");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var steps = new VolumeSteps(driver.Controller, driver.Node, NodeId);
        var mounted = await StageAsync(steps, dir, "pvc-fs", VolumeSteps.Mount());
        var block = await steps.CreateAsync("pvc-raw", 64L << 20, VolumeSteps.Block());
        var detached = await steps.CreateAsync("pvc-idle", 64L << 20, VolumeSteps.Mount());
        await steps.AttachAsync(block.VolumeId, VolumeSteps.Block());

        var notFound = await CsiRequests.AssertFailsWith(StatusCode.NotFound, () => driver.GroupController.CreateVolumeGroupSnapshotAsync(
            new CreateVolumeGroupSnapshotRequest { Name = "vgs-missing", SourceVolumeIds = { mounted.Volume.VolumeId, "vol-00000000000000ff" } }));
        var raw = await CsiRequests.AssertFailsWith(StatusCode.FailedPrecondition, () => driver.GroupController.CreateVolumeGroupSnapshotAsync(
            new CreateVolumeGroupSnapshotRequest { Name = "vgs-raw", SourceVolumeIds = { mounted.Volume.VolumeId, block.VolumeId } }));
        Assert.Contains("vol-00000000000000ff", notFound.Status.Detail, StringComparison.Ordinal);
        Assert.Contains(block.VolumeId, raw.Status.Detail, StringComparison.Ordinal);
        Assert.Empty((await driver.Controller.ListSnapshotsAsync(new ListSnapshotsRequest())).Entries);
        await File.WriteAllTextAsync(Path.Combine(mounted.Staging, "still-writable.txt"), "yes"); // would block if left frozen
        Assert.False(File.Exists(Path.Combine(dir.Path("state"), "freeze.json")));

        // A detached member needs no freeze; a plain snapshot listed as a member is a mismatch.
        var group = (await driver.GroupController.CreateVolumeGroupSnapshotAsync(
            new CreateVolumeGroupSnapshotRequest { Name = "vgs-ok", SourceVolumeIds = { mounted.Volume.VolumeId, detached.VolumeId } })).GroupSnapshot;
        var loner = await steps.SnapshotAsync("snap-alone", detached.VolumeId);
        var mismatch = await CsiRequests.AssertFailsWith(StatusCode.InvalidArgument, () => driver.GroupController.DeleteVolumeGroupSnapshotAsync(
            new DeleteVolumeGroupSnapshotRequest { GroupSnapshotId = group.GroupSnapshotId, SnapshotIds = { group.Snapshots[0].SnapshotId, loner.SnapshotId } }));
        Assert.Contains(loner.SnapshotId, mismatch.Status.Detail, StringComparison.Ordinal);

        // A member deleted alone is gone from the group; the group still deletes with the full list the CO kept.
        await driver.Controller.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = group.Snapshots[0].SnapshotId });
        var rest = (await driver.GroupController.GetVolumeGroupSnapshotAsync(new GetVolumeGroupSnapshotRequest
        {
            GroupSnapshotId = group.GroupSnapshotId,
            SnapshotIds = { group.Snapshots.Select(s => s.SnapshotId) },
        })).GroupSnapshot;
        Assert.Equal(group.Snapshots[1].SnapshotId, Assert.Single(rest.Snapshots).SnapshotId);
        await driver.GroupController.DeleteVolumeGroupSnapshotAsync(
            new DeleteVolumeGroupSnapshotRequest { GroupSnapshotId = group.GroupSnapshotId, SnapshotIds = { group.Snapshots.Select(s => s.SnapshotId) } });
        Assert.Equal(loner.SnapshotId, Assert.Single((await driver.Controller.ListSnapshotsAsync(new ListSnapshotsRequest())).Entries).Snapshot.SnapshotId);

        await driver.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = block.VolumeId, NodeId = NodeId });
        await steps.TearDownAsync(mounted.Volume.VolumeId, mounted.Staging, null);
    }

    [Fact]
    public async Task A_restart_thaws_filesystems_a_crash_left_frozen_and_drops_members_of_an_uncommitted_group()
    {
        using var dir = new TestDirectory("grp-crash");
        var configuration = RunningDriver.LocalConfiguration(dir);
        Staged staged;
        string orphanId;
        await using (var driver = await RunningDriver.StartAsync(configuration))
        {
            var steps = new VolumeSteps(driver.Controller, driver.Node, NodeId);
            staged = await StageAsync(steps, dir, "pvc-frozen", VolumeSteps.Mount());
            orphanId = (await steps.SnapshotAsync("snap-orphan", staged.Volume.VolumeId)).SnapshotId;
        }
        // What a kill -9 between freeze and thaw leaves: the freeze record, a frozen filesystem, and a member
        // snapshot whose group record was never written.
        var paths = new LocalStatePaths(dir.Path("state"));
        AtomicFile.WriteJson(paths.FreezeRecord, new LocalFreezeRecord([staged.Staging], DateTimeOffset.UtcNow), LocalJsonContext.Default.LocalFreezeRecord);
        var orphan = AtomicFile.ReadJson(paths.SnapshotRecord(orphanId), LocalJsonContext.Default.LocalSnapshotRecord)!;
        AtomicFile.WriteJson(paths.SnapshotRecord(orphanId), orphan with { GroupSnapshotId = "group-00000000000000aa" }, LocalJsonContext.Default.LocalSnapshotRecord);
        await RunAsync("fsfreeze", "--freeze", staged.Staging);
        try
        {
            await using var restarted = await RunningDriver.StartAsync(configuration);

            // A write completes only on a thawed filesystem (a frozen one blocks it).
            var write = File.WriteAllTextAsync(Path.Combine(staged.Staging, "after-restart.txt"), "thawed");
            await write.WaitAsync(TimeSpan.FromMinutes(2));
            Assert.False(File.Exists(paths.FreezeRecord));
            Assert.Empty((await restarted.Controller.ListSnapshotsAsync(new ListSnapshotsRequest())).Entries);
            Assert.False(File.Exists(paths.SnapshotImage(orphanId)));
            await new VolumeSteps(restarted.Controller, restarted.Node, NodeId).TearDownAsync(staged.Volume.VolumeId, staged.Staging, null);
        }
        finally
        {
            await RunAsync("fsfreeze", "--unfreeze", staged.Staging, mayFail: true);
        }
    }

    [Fact]
    public async Task A_driver_process_killed_while_filesystems_are_frozen_thaws_them_at_restart_and_leaves_no_group()
    {
        using var dir = new TestDirectory("grp-kill9");
        var socket = dir.Path("csi.sock");
        string[] args = ["--mode", "all", "--backend", "local", "--state-dir", dir.Path("state"), "--node-id", NodeId, "--log-level", "Warning",
            "--allowed-path-root", dir.Root, "--node-state-dir", dir.Path("node-state")];
        var paths = new LocalStatePaths(dir.Path("state"));
        var stagings = new List<string>();
        try
        {
            Staged a, b;
            await using (var first = await DriverProcess.StartAsync(socket, args))
            {
                var steps = new VolumeSteps(first.Controller, first.Node, NodeId);
                a = await StageAsync(steps, dir, "pvc-k9-a", VolumeSteps.Mount(), 1L << 30);
                b = await StageAsync(steps, dir, "pvc-k9-b", VolumeSteps.Mount(), 1L << 30);
                stagings.AddRange([a.Staging, b.Staging]);
                // Enough data that copying the images takes a while: the kill lands inside the freeze.
                await WriteRandomAsync(Path.Combine(a.Staging, "bulk.bin"), 512L << 20);
                await WriteRandomAsync(Path.Combine(b.Staging, "bulk.bin"), 512L << 20);
                LocalLifecycleTests.Sync();

                using var channel = CsiDriver.Cli.UnixSocketChannel.Create(first.Endpoint);
                var groups = new Csi.V1.GroupController.GroupControllerClient(channel);
                var request = new CreateVolumeGroupSnapshotRequest { Name = "vgs-k9", SourceVolumeIds = { a.Volume.VolumeId, b.Volume.VolumeId } };
                var call = groups.CreateVolumeGroupSnapshotAsync(request).ResponseAsync;
                // Frozen and copying: the freeze record is there and a member image is being written.
                await Eventually.HoldsAsync(
                    () => call.IsCompleted || (File.Exists(paths.FreezeRecord) && Directory.EnumerateFiles(paths.SnapshotsDir, "*" + LocalStatePaths.TempMarker + "*").Any()),
                    "the group snapshot to be copying while frozen", TimeSpan.FromMinutes(2));
                Assert.False(call.IsCompleted, "the group snapshot finished before the kill; nothing was tested");
                await first.KillAsync();
                await Assert.ThrowsAnyAsync<Exception>(() => call);
            }
            Assert.True(File.Exists(paths.FreezeRecord), "the kill came after the thaw");

            await using var restarted = await RunningDriver.StartLocalAsync(dir);

            // Writes complete again only on thawed filesystems; the uncommitted group left nothing behind.
            await File.WriteAllTextAsync(Path.Combine(a.Staging, "after.txt"), "a").WaitAsync(TimeSpan.FromMinutes(2));
            await File.WriteAllTextAsync(Path.Combine(b.Staging, "after.txt"), "b").WaitAsync(TimeSpan.FromMinutes(2));
            Assert.False(File.Exists(paths.FreezeRecord));
            Assert.Empty((await restarted.Controller.ListSnapshotsAsync(new ListSnapshotsRequest())).Entries);
            Assert.Empty(Directory.EnumerateFiles(paths.SnapshotsDir));
            var steps2 = new VolumeSteps(restarted.Controller, restarted.Node, NodeId);
            await steps2.TearDownAsync(a.Volume.VolumeId, a.Staging, null);
            await steps2.TearDownAsync(b.Volume.VolumeId, b.Staging, null);
        }
        finally
        {
            foreach (var staging in stagings)
            {
                await RunAsync("fsfreeze", "--unfreeze", staging, mayFail: true);
            }
        }
    }

    private static async Task WriteRandomAsync(string path, long bytes)
    {
        var block = new byte[4 << 20];
        Random.Shared.NextBytes(block);
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        for (long written = 0; written < bytes; written += block.Length)
        {
            await file.WriteAsync(block);
        }
    }

    internal sealed record Staged(Volume Volume, string Staging);

    internal static async Task<Staged> StageAsync(VolumeSteps steps, TestDirectory dir, string name, VolumeCapability capability, long bytes = 256L << 20)
    {
        var volume = await steps.CreateAsync(name, bytes, capability);
        var context = await steps.AttachAsync(volume.VolumeId, capability);
        var staging = dir.Path("staging-" + name);
        await steps.StageAsync(volume, context, staging, capability);
        return new Staged(volume, staging);
    }

    private static void WriteInLockstep(string a, string b, CancellationToken stop)
    {
        using var fa = new FileStream(Path.Combine(a, "steps"), FileMode.Append, FileAccess.Write, FileShare.Read, 1);
        using var fb = new FileStream(Path.Combine(b, "steps"), FileMode.Append, FileAccess.Write, FileShare.Read, 1);
        var line = new byte[8];
        for (long i = 1; !stop.IsCancellationRequested; i++)
        {
            System.Text.Encoding.ASCII.GetBytes(i.ToString("D7", System.Globalization.CultureInfo.InvariantCulture) + "\n", line);
            fa.Write(line);
            fa.Flush();
            fb.Write(line);
            fb.Flush();
        }
    }

    private static int CountSteps(string directory)
    {
        var path = Path.Combine(directory, "steps");
        return File.Exists(path) ? (int)(new FileInfo(path).Length / 8) : 0;
    }

    private static Task WaitForStepsAsync(string directory, int steps) =>
        Eventually.HoldsAsync(() => CountSteps(directory) >= steps, $"the writer to reach {steps} steps", TimeSpan.FromMinutes(2));

    private static async Task<int> RestoreAndCountAsync(VolumeSteps steps, TestDirectory dir, VolumeGroupSnapshot group, string volumeId, string name, VolumeCapability capability)
    {
        var member = group.Snapshots.Single(s => s.SourceVolumeId == volumeId);
        var source = new VolumeContentSource { Snapshot = new VolumeContentSource.Types.SnapshotSource { SnapshotId = member.SnapshotId } };
        var restored = await steps.CreateAsync(name, 256L << 20, capability, source);
        var context = await steps.AttachAsync(restored.VolumeId, capability);
        var staging = dir.Path("staging-" + name);
        await steps.StageAsync(restored, context, staging, capability);
        var bytes = await File.ReadAllBytesAsync(Path.Combine(staging, "steps"));
        await steps.TearDownAsync(restored.VolumeId, staging, null);
        // Only whole lines count: an append cut mid-line by the point in time is not a step.
        var text = System.Text.Encoding.ASCII.GetString(bytes).TrimEnd('\0');
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Length == 7).ToList();
        for (var i = 0; i < lines.Count; i++)
        {
            Assert.Equal((i + 1).ToString("D7", System.Globalization.CultureInfo.InvariantCulture), lines[i]);
        }
        return lines.Count;
    }

    private static async Task RunAsync(string file, string arg, string path, bool mayFail = false)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(file, [arg, path]) { RedirectStandardError = true })!;
        await process.WaitForExitAsync();
        Assert.True(mayFail || process.ExitCode == 0, $"{file} {arg} {path}: {await process.StandardError.ReadToEndAsync()}");
    }
}
