using static CsiDriver.Testing.CsiRequests;
using Csi.V1;
using CsiDriver.Testing;
using Grpc.Core;
using static CsiDriver.Driver.Tests.Controller.Requests;

namespace CsiDriver.Driver.Tests.Controller;

/// <summary>Snapshots, restore and clone through the real driver.</summary>
public sealed class ControllerSnapshotTests
{
    [Fact]
    public async Task CreateSnapshot_is_idempotent_and_DeleteSnapshot_repeats_as_success()
    {
        using var dir = new TestDirectory("ctl-snap");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-snap", 24 * MiB))).Volume.VolumeId;
        var request = new CreateSnapshotRequest { Name = "snapshot-1", SourceVolumeId = volumeId, Parameters = { ["csi.storage.k8s.io/volumesnapshot/name"] = "s1" } };

        var first = await driver.Controller.CreateSnapshotAsync(request);
        var second = await driver.Controller.CreateSnapshotAsync(request);

        Assert.Equal(first, second);
        Assert.Matches("^snap-[0-9a-f]{16}$", first.Snapshot.SnapshotId);
        Assert.Equal(volumeId, first.Snapshot.SourceVolumeId);
        Assert.Equal(24 * MiB, first.Snapshot.SizeBytes);
        Assert.True(first.Snapshot.ReadyToUse);
        var got = await driver.Controller.GetSnapshotAsync(new GetSnapshotRequest { SnapshotId = first.Snapshot.SnapshotId });
        Assert.Equal(first.Snapshot, got.Snapshot);

        await driver.Controller.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = first.Snapshot.SnapshotId });
        await driver.Controller.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = first.Snapshot.SnapshotId });
        await driver.Controller.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = "snap-unknown" });
        await AssertFailsWith(StatusCode.NotFound, () => driver.Controller.GetSnapshotAsync(new GetSnapshotRequest { SnapshotId = first.Snapshot.SnapshotId }));
        Assert.Empty(Directory.GetFiles(dir.Path("state", "snapshots")));
    }

    [Fact]
    public async Task ListSnapshots_pages_filters_and_aborts_on_a_bad_token()
    {
        using var dir = new TestDirectory("ctl-snaplist");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var a = (await driver.Controller.CreateVolumeAsync(Create("pvc-a"))).Volume.VolumeId;
        var b = (await driver.Controller.CreateVolumeAsync(Create("pvc-b"))).Volume.VolumeId;
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var source = i < 3 ? a : b;
            ids.Add((await driver.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = $"snap-{i}", SourceVolumeId = source })).Snapshot.SnapshotId);
        }

        var seen = new List<string>();
        var token = "";
        var pages = 0;
        do
        {
            var page = await driver.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { MaxEntries = 2, StartingToken = token });
            seen.AddRange(page.Entries.Select(e => e.Snapshot.SnapshotId));
            token = page.NextToken;
            pages++;
        }
        while (token.Length > 0);

        Assert.Equal(3, pages);
        Assert.Equal(ids.Order(StringComparer.Ordinal), seen);
        var ofB = await driver.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { SourceVolumeId = b });
        Assert.Equal(ids.Skip(3).Order(StringComparer.Ordinal), ofB.Entries.Select(e => e.Snapshot.SnapshotId));
        var one = await driver.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { SnapshotId = ids[1] });
        Assert.Equal(ids[1], Assert.Single(one.Entries).Snapshot.SnapshotId);
        var none = await driver.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { SnapshotId = "snap-0000000000000000" });
        Assert.Empty(none.Entries);
        var noneOfUnknownVolume = await driver.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { SourceVolumeId = "vol-0000000000000000" });
        Assert.Empty(noneOfUnknownVolume.Entries);
        await AssertFailsWith(StatusCode.Aborted, () => driver.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { StartingToken = "not-a-token" }));
        await AssertFailsWith(StatusCode.Aborted, () => driver.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { StartingToken = "6" }));
    }

    [Fact]
    public async Task Restore_and_clone_take_the_source_size_or_the_larger_request()
    {
        using var dir = new TestDirectory("ctl-restore");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var source = (await driver.Controller.CreateVolumeAsync(Create("pvc-source", 20 * MiB))).Volume;
        var snapshot = (await driver.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "snap-source", SourceVolumeId = source.VolumeId })).Snapshot;

        var restoredSame = (await driver.Controller.CreateVolumeAsync(FromSnapshot("pvc-restored", snapshot.SnapshotId))).Volume;
        var restoredBigger = (await driver.Controller.CreateVolumeAsync(FromSnapshot("pvc-restored-big", snapshot.SnapshotId, 50 * MiB))).Volume;
        var restoredSmallerRequest = (await driver.Controller.CreateVolumeAsync(FromSnapshot("pvc-restored-small", snapshot.SnapshotId, 4 * MiB))).Volume;
        var clone = (await driver.Controller.CreateVolumeAsync(FromVolume("pvc-clone", source.VolumeId, 30 * MiB))).Volume;
        var cloneAgain = (await driver.Controller.CreateVolumeAsync(FromVolume("pvc-clone", source.VolumeId, 30 * MiB))).Volume;

        Assert.Equal(20 * MiB, restoredSame.CapacityBytes);
        Assert.Equal(snapshot.SnapshotId, restoredSame.ContentSource.Snapshot.SnapshotId);
        Assert.Equal(50 * MiB, restoredBigger.CapacityBytes);
        Assert.Equal(20 * MiB, restoredSmallerRequest.CapacityBytes);
        Assert.Equal(30 * MiB, clone.CapacityBytes);
        Assert.Equal(source.VolumeId, clone.ContentSource.Volume.VolumeId);
        Assert.Equal(clone, cloneAgain);
        Assert.Equal(50 * MiB, new FileInfo(dir.Path("state", "volumes", restoredBigger.VolumeId + ".img")).Length);
        await AssertFailsWith(StatusCode.OutOfRange, () => driver.Controller.CreateVolumeAsync(FromVolume("pvc-clone-tight", source.VolumeId, 4 * MiB, 10 * MiB)));
    }

    [Fact]
    public async Task Ten_identical_concurrent_CreateSnapshot_calls_make_exactly_one_snapshot()
    {
        using var dir = new TestDirectory("ctl-snaprace");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-snaprace"))).Volume.VolumeId;
        var request = new CreateSnapshotRequest { Name = "snap-race", SourceVolumeId = volumeId };

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
        {
            try
            {
                return ((await driver.Controller.CreateSnapshotAsync(request)).Snapshot.SnapshotId, StatusCode.OK);
            }
            catch (RpcException ex)
            {
                return ((string?)null, ex.StatusCode);
            }
        }));

        Assert.All(results, r => Assert.True(r.Item2 is StatusCode.OK or StatusCode.Aborted, $"unexpected {r.Item2}"));
        Assert.Single(results.Where(r => r.Item2 == StatusCode.OK).Select(r => r.Item1).Distinct());
        Assert.Single((await driver.Controller.ListSnapshotsAsync(new ListSnapshotsRequest())).Entries);
    }
}
