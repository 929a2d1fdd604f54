using System.Text;
using Csi.V1;
using CsiDriver.Core.Volumes;
using CsiDriver.Testing;
using Grpc.Core;
using static CsiDriver.Cloud.Local.Tests.LocalTestSupport;

namespace CsiDriver.Cloud.Local.Tests;

/// <summary>
/// The local backend locks per object: a long copy holds only its source and its target, while the capacity and
/// attach limits and name idempotency stay exact. A clone is held mid-copy deterministically by putting a FIFO where
/// its source image is: cp blocks reading it until the test writes the data and closes it.
/// </summary>
public sealed class LocalConcurrencyTests
{
    [Fact]
    public async Task Unrelated_creates_gets_lists_and_snapshots_proceed_while_a_clone_copies()
    {
        using var dir = new TestDirectory("local-clonehold");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var sourceId = (await driver.Controller.CreateVolumeAsync(Create("pvc-source"))).Volume.VolumeId;
        var otherId = (await driver.Controller.CreateVolumeAsync(Create("pvc-other"))).Volume.VolumeId;
        await using var held = HeldSource.Hold(Paths(dir).VolumeImage(sourceId));

        var clone = driver.Controller.CreateVolumeAsync(CloneOf("pvc-clone", sourceId)).ResponseAsync;
        await held.CopyStartedAsync();

        // None of these touches the clone's source or target, so each answers while cp is blocked on the FIFO.
        var created = (await driver.Controller.CreateVolumeAsync(Create("pvc-meanwhile"))).Volume;
        Assert.NotNull(await driver.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = otherId }));
        var listed = (await driver.Controller.ListVolumesAsync(new ListVolumesRequest())).Entries.Select(e => e.Volume.VolumeId).ToList();
        var snapshot = (await driver.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "snap-meanwhile", SourceVolumeId = otherId })).Snapshot;
        await driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = created.VolumeId });
        Assert.False(clone.IsCompleted);

        // The clone is not committed yet, so the listing does not show it.
        Assert.Equal(new[] { sourceId, otherId, created.VolumeId }.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
        Assert.True(snapshot.ReadyToUse);

        await held.ReleaseAsync(Encoding.ASCII.GetBytes("the source's data"));
        var cloneId = (await clone).Volume.VolumeId;
        Assert.Equal(Encoding.ASCII.GetBytes("the source's data"), RawBytes.ReadAt(Paths(dir).VolumeImage(cloneId), 0, 17));
        Assert.Equal(16 * MiB, new FileInfo(Paths(dir).VolumeImage(cloneId)).Length);
    }

    [Fact]
    public async Task Deleting_the_source_of_a_clone_waits_for_the_copy_and_then_deletes_it()
    {
        using var dir = new TestDirectory("local-clonedel");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var sourceId = (await driver.Controller.CreateVolumeAsync(Create("pvc-doomed"))).Volume.VolumeId;
        await using var held = HeldSource.Hold(Paths(dir).VolumeImage(sourceId));
        var clone = driver.Controller.CreateVolumeAsync(CloneOf("pvc-survivor", sourceId)).ResponseAsync;
        // Once cp runs the clone holds the source's key, before the delete asks for it.
        await held.CopyStartedAsync();

        var delete = driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = sourceId }).ResponseAsync;
        await Task.WhenAny(delete, Task.Delay(500));
        Assert.False(delete.IsCompleted);
        Assert.NotNull(await driver.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = sourceId }));

        await held.ReleaseAsync(Encoding.ASCII.GetBytes("copied before the delete"));
        var cloneId = (await clone).Volume.VolumeId;
        await delete;
        Assert.Equal(Encoding.ASCII.GetBytes("copied before the delete"), RawBytes.ReadAt(Paths(dir).VolumeImage(cloneId), 0, 24));
        var left = (await driver.Controller.ListVolumesAsync(new ListVolumesRequest())).Entries.Select(e => e.Volume.VolumeId).ToList();
        Assert.Equal([cloneId], left);
    }

    [Fact]
    public async Task A_clone_in_flight_holds_its_capacity_so_a_concurrent_create_cannot_overcommit()
    {
        using var dir = new TestDirectory("local-clonecap");
        await using var driver = await StartWithCapacityAsync(dir, 40 * MiB);
        var sourceId = (await driver.Controller.CreateVolumeAsync(Create("pvc-cap-source"))).Volume.VolumeId;
        await using var held = HeldSource.Hold(Paths(dir).VolumeImage(sourceId));
        var clone = driver.Controller.CreateVolumeAsync(CloneOf("pvc-cap-clone", sourceId)).ResponseAsync;
        await held.CopyStartedAsync();

        // 16 (source) + 16 (clone, reserved) + 16 > 40.
        var refused = await Assert.ThrowsAsync<RpcException>(() => driver.Controller.CreateVolumeAsync(Create("pvc-cap-third")).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.False(clone.IsCompleted);

        await held.ReleaseAsync([1]);
        await clone;
        Assert.Equal(2, (await driver.Controller.ListVolumesAsync(new ListVolumesRequest())).Entries.Count);
    }

    [Fact]
    public async Task Concurrent_creates_fill_the_capacity_exactly()
    {
        using var dir = new TestDirectory("local-capfill");
        await using var driver = await StartWithCapacityAsync(dir, 5 * 16 * MiB);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => OutcomeAsync(driver.Controller.CreateVolumeAsync(Create($"pvc-fill-{i}")).ResponseAsync)));

        Assert.Equal(5, outcomes.Count(o => o == StatusCode.OK));
        Assert.Equal(7, outcomes.Count(o => o == StatusCode.ResourceExhausted));
        Assert.Equal(5, (await driver.Controller.ListVolumesAsync(new ListVolumesRequest())).Entries.Count);
        Assert.Equal(5, Directory.EnumerateFiles(Paths(dir).VolumesDir, "*.img").Count());
    }

    [Fact]
    public async Task Concurrent_creates_of_one_name_make_one_volume()
    {
        using var dir = new TestDirectory("local-samename");
        await using var driver = await StartWithCapacityAsync(dir, 2 * 16 * MiB);

        // Over the socket the driver answers ABORTED to a second call for a name in flight; the provider itself must
        // also make one volume when called twice at once (and count its bytes once).
        var overGrpc = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => OutcomeAsync(driver.Controller.CreateVolumeAsync(Create("pvc-twin")).ResponseAsync)));
        Assert.Contains(StatusCode.OK, overGrpc);
        Assert.All(overGrpc, o => Assert.True(o is StatusCode.OK or StatusCode.Aborted, $"got {o}"));
        var provider = Provider(driver);
        var spec = new CreateVolumeSpec("pvc-triplet", 16 * MiB, 0, [], new Dictionary<string, string>(), new Dictionary<string, string>(), null, null);
        var direct = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => provider.CreateVolumeAsync(spec, CancellationToken.None)));

        Assert.Single(direct.Select(v => v.VolumeId).Distinct());
        Assert.Equal(2, (await driver.Controller.ListVolumesAsync(new ListVolumesRequest())).Entries.Count);
        Assert.Equal(2, Directory.EnumerateFiles(Paths(dir).VolumesDir, "*.img").Count());
    }

    [Fact]
    public async Task A_snapshot_racing_the_delete_of_its_source_is_either_made_whole_or_not_found()
    {
        using var dir = new TestDirectory("local-snapdel");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        for (var i = 0; i < 8; i++)
        {
            var volumeId = (await driver.Controller.CreateVolumeAsync(Create($"pvc-race-{i}"))).Volume.VolumeId;
            var snapshot = OutcomeAsync(driver.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = $"snap-race-{i}", SourceVolumeId = volumeId }).ResponseAsync);
            var delete = OutcomeAsync(driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volumeId }).ResponseAsync);

            Assert.Equal(StatusCode.OK, await delete);
            var made = await snapshot;
            Assert.True(made is StatusCode.OK or StatusCode.NotFound, $"snapshot {i}: {made}");
            var snapshotId = LocalStatePaths.SnapshotIdFor($"snap-race-{i}");
            Assert.Equal(made == StatusCode.OK, File.Exists(Paths(dir).SnapshotImage(snapshotId)));
            Assert.Equal(made == StatusCode.OK, File.Exists(Paths(dir).SnapshotRecord(snapshotId)));
        }
    }

    [Fact]
    public async Task Concurrent_attaches_stop_at_the_attach_limit()
    {
        using var dir = new TestDirectory("local-attachlimit");
        var configuration = RunningDriver.LocalConfiguration(dir);
        configuration.Driver.VolumeAttachLimit = 2;
        await using var driver = await RunningDriver.StartAsync(configuration);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await driver.Controller.CreateVolumeAsync(Create($"pvc-attach-{i}"))).Volume.VolumeId);
        }
        try
        {
            var outcomes = await Task.WhenAll(ids.Select(id => OutcomeAsync(driver.Controller.ControllerPublishVolumeAsync(Publish(id)).ResponseAsync)));

            Assert.Equal(2, outcomes.Count(o => o == StatusCode.OK));
            Assert.Equal(3, outcomes.Count(o => o == StatusCode.ResourceExhausted));
            Assert.Equal(2, LoopsBelow(dir).Count);
        }
        finally
        {
            foreach (var id in ids)
            {
                await driver.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = id, NodeId = "test-node" });
            }
        }
        Assert.Empty(LoopsBelow(dir));
    }

    private static Task<RunningDriver> StartWithCapacityAsync(TestDirectory dir, long capacityBytes)
    {
        var configuration = RunningDriver.LocalConfiguration(dir);
        configuration.Local.CapacityBytes = capacityBytes;
        return RunningDriver.StartAsync(configuration);
    }

    private static CreateVolumeRequest CloneOf(string name, string sourceVolumeId)
    {
        var request = Create(name);
        request.VolumeContentSource = new VolumeContentSource { Volume = new VolumeContentSource.Types.VolumeSource { VolumeId = sourceVolumeId } };
        return request;
    }

    private static async Task<StatusCode> OutcomeAsync<T>(Task<T> call)
    {
        try
        {
            await call;
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }

    /// <summary>A volume image swapped for a FIFO: a copy of it blocks until <see cref="ReleaseAsync"/> writes and closes it.
    /// Disposing puts the image back (releasing the FIFO first if the test did not).</summary>
    private sealed class HeldSource : IAsyncDisposable
    {
        private readonly string _image;
        private readonly string _saved;
        private bool _released;

        private HeldSource(string image)
        {
            _image = image;
            _saved = image + ".held";
            File.Move(image, _saved);
            Run("mkfifo", image);
        }

        public static HeldSource Hold(string image) => new(image);

        /// <summary>Waits until a cp reading the FIFO runs: the clone has its keys and is blocked mid-copy.</summary>
        public Task CopyStartedAsync() => Eventually.HoldsAsync(() => Directory.EnumerateDirectories("/proc")
            .Select(p => TryRead(Path.Combine(p, "cmdline")).Split('\0'))
            .Any(argv => Path.GetFileName(argv[0]) == "cp" && argv.Contains(_image)),
            $"a cp of {_image} runs");

        private static string TryRead(string path)
        {
            try
            {
                return File.ReadAllText(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return string.Empty;
            }
        }

        public async Task ReleaseAsync(byte[] data)
        {
            _released = true;
            // Opening for writing blocks until the reader (cp) has it open.
            await using (var fifo = new FileStream(_image, FileMode.Open, FileAccess.Write))
            {
                await fifo.WriteAsync(data);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_released)
            {
                // A test that failed before its clone started has no reader: do not wait for one forever.
                try
                {
                    await Task.Run(() => ReleaseAsync([])).WaitAsync(TimeSpan.FromSeconds(10));
                }
                catch (TimeoutException)
                {
                }
            }
            if (File.Exists(_saved))
            {
                File.Move(_saved, _image, overwrite: true);
            }
        }
    }
}
