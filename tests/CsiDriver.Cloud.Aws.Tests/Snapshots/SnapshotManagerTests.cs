using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using Moq;

namespace CsiDriver.Cloud.Aws.Tests.Snapshots;

[Trait("Category", "Unit")]
public sealed class SnapshotManagerTests : IDisposable
{
    private readonly Ec2Mock _ec2 = new();
    private readonly List<CreateSnapshotRequest> _creates = [];

    public SnapshotManagerTests()
    {
        _ec2.Mock.Setup(c => c.CreateSnapshotAsync(It.IsAny<CreateSnapshotRequest>(), It.IsAny<CancellationToken>()))
            .Returns((CreateSnapshotRequest r, CancellationToken _) =>
            {
                _creates.Add(r);
                var snapshot = new Snapshot
                {
                    SnapshotId = $"snap-{_creates.Count}",
                    VolumeId = r.VolumeId,
                    VolumeSize = 10,
                    State = SnapshotState.Pending,
                    StartTime = DateTime.UtcNow,
                    Tags = r.TagSpecifications[0].Tags,
                };
                _ec2.Snapshots[snapshot.SnapshotId] = snapshot;
                return Task.FromResult(new CreateSnapshotResponse { Snapshot = snapshot });
            });
    }

    public void Dispose() => _ec2.Dispose();

    [Fact]
    public async Task Create_tags_the_snapshot_and_is_not_ready_while_pending()
    {
        _ec2.AddVolume("vol-1");

        var info = await _ec2.Provider.CreateSnapshotAsync("snapshot-1", "vol-1", new Dictionary<string, string>
        {
            ["tagSpecification_1"] = "ns={{ .VolumeSnapshotNamespace }}",
            ["csi.storage.k8s.io/volumesnapshot/name"] = "snap",
            ["csi.storage.k8s.io/volumesnapshot/namespace"] = "prod",
            ["csi.storage.k8s.io/volumesnapshotcontent/name"] = "snapcontent-1",
        }, CancellationToken.None);

        Assert.False(info.ReadyToUse);
        Assert.Equal("vol-1", info.SourceVolumeId);
        Assert.Equal(10L << 30, info.SizeBytes);
        var tags = Assert.Single(_creates).TagSpecifications[0].Tags;
        Assert.Equal("snapshot-1", EbsTags.Get(tags, EbsTags.SnapshotName));
        Assert.Equal("prod", EbsTags.Get(tags, "ns"));
        Assert.Equal("snap", EbsTags.Get(tags, EbsTags.VolumeSnapshotName));
        Assert.Equal("storage", EbsTags.Get(tags, "team"));
    }

    [Fact]
    public async Task Retry_finds_the_snapshot_by_name_and_reports_readiness()
    {
        _ec2.AddVolume("vol-1");
        var first = await _ec2.Provider.CreateSnapshotAsync("snapshot-1", "vol-1", new Dictionary<string, string>(), CancellationToken.None);
        _ec2.Snapshots[first.SnapshotId].State = SnapshotState.Completed;

        var second = await _ec2.Provider.CreateSnapshotAsync("snapshot-1", "vol-1", new Dictionary<string, string>(), CancellationToken.None);

        Assert.Equal(first.SnapshotId, second.SnapshotId);
        Assert.True(second.ReadyToUse);
        Assert.Single(_creates);
    }

    [Fact]
    public async Task Same_name_of_another_volume_is_already_exists()
    {
        _ec2.AddVolume("vol-1");
        _ec2.AddVolume("vol-2");
        await _ec2.Provider.CreateSnapshotAsync("snapshot-1", "vol-1", new Dictionary<string, string>(), CancellationToken.None);

        var error = await Assert.ThrowsAsync<StorageException>(() =>
            _ec2.Provider.CreateSnapshotAsync("snapshot-1", "vol-2", new Dictionary<string, string>(), CancellationToken.None));

        Assert.Equal(FailureKind.AlreadyExists, error.Kind);
    }

    [Fact]
    public async Task Snapshot_of_missing_volume_is_not_found()
    {
        var error = await Assert.ThrowsAsync<StorageException>(() =>
            _ec2.Provider.CreateSnapshotAsync("snapshot-1", "vol-missing", new Dictionary<string, string>(), CancellationToken.None));

        Assert.Equal(FailureKind.NotFound, error.Kind);
        Assert.Empty(_creates);
    }

    [Fact]
    public async Task Unknown_snapshot_parameter_is_invalid_argument()
    {
        var error = await Assert.ThrowsAsync<StorageException>(() =>
            _ec2.Provider.CreateSnapshotAsync("snapshot-1", "vol-1", new Dictionary<string, string> { ["color"] = "red" }, CancellationToken.None));

        Assert.Equal(FailureKind.InvalidArgument, error.Kind);
        Assert.Contains("color", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fast_snapshot_restore_is_enabled_in_the_zones_asked()
    {
        _ec2.AddVolume("vol-1");
        EnableFastSnapshotRestoresRequest? fsr = null;
        _ec2.Mock.Setup(c => c.EnableFastSnapshotRestoresAsync(It.IsAny<EnableFastSnapshotRestoresRequest>(), It.IsAny<CancellationToken>()))
            .Callback((EnableFastSnapshotRestoresRequest r, CancellationToken _) => fsr = r)
            .ReturnsAsync(new EnableFastSnapshotRestoresResponse());

        await _ec2.Provider.CreateSnapshotAsync("snapshot-1", "vol-1",
            new Dictionary<string, string> { ["fastSnapshotRestoreAvailabilityZones"] = "us-east-1a, us-east-1b" }, CancellationToken.None);

        Assert.Equal(["us-east-1a", "us-east-1b"], fsr!.AvailabilityZones);
        Assert.Equal(["snap-1"], fsr.SourceSnapshotIds);
    }

    [Fact]
    public async Task Failed_fast_snapshot_restore_removes_the_snapshot()
    {
        _ec2.AddVolume("vol-1");
        _ec2.Mock.Setup(c => c.EnableFastSnapshotRestoresAsync(It.IsAny<EnableFastSnapshotRestoresRequest>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(new EnableFastSnapshotRestoresResponse
            {
                Unsuccessful = [new EnableFastSnapshotRestoreErrorItem
                {
                    SnapshotId = "snap-1",
                    FastSnapshotRestoreStateErrors = [new EnableFastSnapshotRestoreStateErrorItem { AvailabilityZone = "us-east-1z", Error = new EnableFastSnapshotRestoreStateError { Message = "no such zone" } }],
                }],
            });

        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.CreateSnapshotAsync("snapshot-1", "vol-1",
            new Dictionary<string, string> { ["fastSnapshotRestoreAvailabilityZones"] = "us-east-1z" }, CancellationToken.None));

        Assert.Equal(FailureKind.InvalidArgument, error.Kind);
        Assert.Contains("no such zone", error.Message, StringComparison.Ordinal);
        _ec2.Mock.Verify(c => c.DeleteSnapshotAsync(It.Is<DeleteSnapshotRequest>(d => d.SnapshotId == "snap-1"), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task Delete_of_unknown_snapshot_is_success_and_in_use_is_failed_precondition()
    {
        _ec2.Mock.Setup(c => c.DeleteSnapshotAsync(It.Is<DeleteSnapshotRequest>(r => r.SnapshotId == "snap-gone"), It.IsAny<CancellationToken>()))
            .ThrowsAsync(Ec2Mock.Error("InvalidSnapshot.NotFound"));
        _ec2.Mock.Setup(c => c.DeleteSnapshotAsync(It.Is<DeleteSnapshotRequest>(r => r.SnapshotId == "snap-used"), It.IsAny<CancellationToken>()))
            .ThrowsAsync(Ec2Mock.Error("InvalidSnapshot.InUse"));

        await _ec2.Provider.DeleteSnapshotAsync("snap-gone", CancellationToken.None);
        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.DeleteSnapshotAsync("snap-used", CancellationToken.None));

        Assert.Equal(FailureKind.FailedPrecondition, error.Kind);
    }

    [Fact]
    public async Task List_by_id_and_by_source_volume()
    {
        _ec2.AddVolume("vol-1");
        _ec2.AddVolume("vol-2");
        await _ec2.Provider.CreateSnapshotAsync("a", "vol-1", new Dictionary<string, string>(), CancellationToken.None);
        await _ec2.Provider.CreateSnapshotAsync("b", "vol-2", new Dictionary<string, string>(), CancellationToken.None);
        await _ec2.Provider.CreateSnapshotAsync("c", "vol-2", new Dictionary<string, string>(), CancellationToken.None);

        var byId = await _ec2.Provider.ListSnapshotsAsync(new SnapshotFilter("snap-2", null), 0, null, CancellationToken.None);
        var missing = await _ec2.Provider.ListSnapshotsAsync(new SnapshotFilter("snap-9", null), 0, null, CancellationToken.None);
        var byVolume = await _ec2.Provider.ListSnapshotsAsync(new SnapshotFilter(null, "vol-2"), 0, null, CancellationToken.None);
        var all = await _ec2.Provider.ListSnapshotsAsync(new SnapshotFilter(null, null), 0, null, CancellationToken.None);

        Assert.Equal("snap-2", Assert.Single(byId.Items).SnapshotId);
        Assert.Empty(missing.Items);
        Assert.Equal(["snap-2", "snap-3"], byVolume.Items.Select(s => s.SnapshotId).Order());
        Assert.Equal(3, all.Items.Count);
    }

    [Fact]
    public async Task List_pages_with_tokens()
    {
        _ec2.AddVolume("vol-1");
        for (var i = 0; i < 5; i++)
        {
            await _ec2.Provider.CreateSnapshotAsync($"s{i}", "vol-1", new Dictionary<string, string>(), CancellationToken.None);
        }

        var first = await _ec2.Provider.ListSnapshotsAsync(new SnapshotFilter(null, "vol-1"), 3, null, CancellationToken.None);
        var second = await _ec2.Provider.ListSnapshotsAsync(new SnapshotFilter(null, "vol-1"), 3, first.NextToken, CancellationToken.None);

        Assert.Equal(3, first.Items.Count);
        Assert.Equal(2, second.Items.Count);
        Assert.Null(second.NextToken);
        Assert.Empty(first.Items.Select(s => s.SnapshotId).Intersect(second.Items.Select(s => s.SnapshotId)));
    }

    [Fact]
    public async Task Get_returns_null_for_unknown()
    {
        Assert.Null(await _ec2.Provider.GetSnapshotAsync("snap-x", CancellationToken.None));
    }
}
