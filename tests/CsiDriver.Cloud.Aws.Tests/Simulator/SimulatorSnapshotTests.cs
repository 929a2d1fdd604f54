using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Testing.Aws;
using static CsiDriver.Cloud.Aws.Tests.Simulator.SimulatorAttachmentTests;
using static CsiDriver.Cloud.Aws.Tests.Simulator.SimulatorClient;

namespace CsiDriver.Cloud.Aws.Tests.Simulator;

/// <summary>CreateSnapshot, DescribeSnapshots, DeleteSnapshot, volumes from snapshots, fast snapshot restore.</summary>
[Trait("Category", "Unit")]
public sealed class SimulatorSnapshotTests
{
    [Fact]
    public async Task A_snapshot_goes_pending_to_completed_and_a_volume_restored_from_it_inherits_its_size()
    {
        await using var aws = await StartOnFakeClockAsync(o =>
        {
            o.VolumeCreateDelay = TimeSpan.Zero;
            o.SnapshotDelay = TimeSpan.FromSeconds(10);
        });
        var (clock, sim, ec2) = aws;
        var volume = await NewVolume(ec2, "us-east-1a", size: 8);

        var snapshot = (await ec2.CreateSnapshotAsync(new CreateSnapshotRequest
        {
            VolumeId = volume,
            Description = "for pvc-1",
            TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Snapshot, Tags = [new Tag("CSIVolumeSnapshotName", "snap-of-pvc-1")] }],
        })).Snapshot;
        Assert.Matches("^snap-[0-9a-f]{17}$", snapshot.SnapshotId);
        Assert.Equal(SnapshotState.Pending, snapshot.State);
        Assert.Equal(volume, snapshot.VolumeId);
        Assert.Equal(8, snapshot.VolumeSize);
        Assert.Equal("111122223333", snapshot.OwnerId);
        Assert.Equal("for pvc-1", snapshot.Description);
        Assert.Equal("snap-of-pvc-1", Assert.Single(snapshot.Tags).Value);
        Assert.NotNull(snapshot.StartTime);

        await ExpectError("IncorrectState", () => ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1b", SnapshotId = snapshot.SnapshotId }));

        clock.Advance(TimeSpan.FromSeconds(5));
        var half = Assert.Single((await ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [snapshot.SnapshotId] })).Snapshots);
        Assert.Equal(SnapshotState.Pending, half.State);
        Assert.Equal("50%", half.Progress);
        clock.Advance(TimeSpan.FromSeconds(5));
        var done = Assert.Single((await ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest
        {
            OwnerIds = ["self"],
            Filters = [new Filter("tag:CSIVolumeSnapshotName", ["snap-of-pvc-1"])],
        })).Snapshots);
        Assert.Equal(SnapshotState.Completed, done.State);
        Assert.Equal("100%", done.Progress);

        var restored = (await ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1b", SnapshotId = snapshot.SnapshotId })).Volume;
        Assert.Equal(8, restored.Size);
        Assert.Equal(snapshot.SnapshotId, restored.SnapshotId);
        await ExpectError("InvalidParameterValue", () => ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1b", SnapshotId = snapshot.SnapshotId, Size = 4 }));
        var bigger = (await ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1b", SnapshotId = snapshot.SnapshotId, Size = 20 })).Volume;
        Assert.Equal(20, bigger.Size);

        await ec2.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = snapshot.SnapshotId });
        await ExpectError("InvalidSnapshot.NotFound", () => ec2.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = snapshot.SnapshotId }));
        await ExpectError("InvalidSnapshot.NotFound", () => ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [snapshot.SnapshotId] }));
        await ExpectError("InvalidSnapshotID.Malformed", () => ec2.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = "snapshot-1" }));
    }

    [Fact]
    public async Task CreateSnapshot_of_an_unknown_volume_and_bad_tag_specifications_fail()
    {
        await using var sim = await StartAsync(o => o.VolumeCreateDelay = TimeSpan.Zero);
        using var ec2 = Create(sim);
        var volume = await NewVolume(ec2, "us-east-1a");
        await ExpectError("InvalidVolume.NotFound", () => ec2.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = "vol-0123456789abcdef0" }));
        await ExpectError("MissingParameter", () => ec2.CreateSnapshotAsync(new CreateSnapshotRequest()));
        await ExpectError("InvalidParameterValue", () => ec2.CreateSnapshotAsync(new CreateSnapshotRequest
        {
            VolumeId = volume,
            TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Volume, Tags = [new Tag("a", "b")] }],
        }));
        Assert.Empty(sim.Snapshots());
    }

    [Fact]
    public async Task DescribeSnapshots_pages_filters_by_volume_and_owner_and_hides_new_snapshots_for_a_while()
    {
        await using var aws = await StartOnFakeClockAsync(o =>
        {
            o.VolumeCreateDelay = TimeSpan.Zero;
            o.VisibilityDelay = TimeSpan.FromSeconds(1);
        });
        var (clock, sim, ec2) = aws;
        clock.Advance(TimeSpan.FromSeconds(1));
        var first = await NewVolume(ec2, "us-east-1a");
        var second = await NewVolume(ec2, "us-east-1a");
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            ids.Add((await ec2.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = i < 4 ? first : second })).Snapshot.SnapshotId);
        }

        Assert.Empty((await ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"] })).Snapshots ?? []);
        await ExpectError("InvalidSnapshot.NotFound", () => ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { SnapshotIds = [ids[0]] }));
        clock.Advance(TimeSpan.FromSeconds(1));

        var ofFirst = (await ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { Filters = [new Filter("volume-id", [first])] })).Snapshots;
        Assert.Equal(ids.Take(4).Order(), ofFirst.Select(s => s.SnapshotId).Order());
        Assert.Empty((await ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["999988887777"] })).Snapshots ?? []);

        var seen = new List<string>();
        string? token = null;
        do
        {
            var page = await ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"], MaxResults = 5, NextToken = token });
            seen.AddRange(page.Snapshots.Select(s => s.SnapshotId));
            token = page.NextToken;
        }
        while (token is not null);
        Assert.Equal(ids.Order(), seen);
        await ExpectError("InvalidParameterValue", () => ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { MaxResults = 4 }));
    }

    [Fact]
    public async Task EnableFastSnapshotRestores_reports_successes_and_failures_and_restored_volumes_are_fast_restored()
    {
        await using var sim = await StartAsync(o =>
        {
            o.VolumeCreateDelay = TimeSpan.Zero;
            o.SnapshotDelay = TimeSpan.Zero;
            o.FastSnapshotRestoreDelay = TimeSpan.Zero;
        });
        using var ec2 = Create(sim);
        var volume = await NewVolume(ec2, "us-east-1a");
        var snapshot = (await ec2.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = volume })).Snapshot.SnapshotId;

        var answer = await ec2.EnableFastSnapshotRestoresAsync(new EnableFastSnapshotRestoresRequest
        {
            SourceSnapshotIds = [snapshot, "snap-0123456789abcdef0"],
            AvailabilityZones = ["us-east-1a", "us-east-1z"],
        });
        var success = Assert.Single(answer.Successful);
        Assert.Equal(snapshot, success.SnapshotId);
        Assert.Equal("us-east-1a", success.AvailabilityZone);
        Assert.Equal(2, answer.Unsuccessful.Count);
        var unknown = answer.Unsuccessful.Single(u => u.SnapshotId == "snap-0123456789abcdef0");
        Assert.Equal(2, unknown.FastSnapshotRestoreStateErrors.Count);
        Assert.Equal("InvalidSnapshot.NotFound", unknown.FastSnapshotRestoreStateErrors[0].Error.Code);
        var badZone = answer.Unsuccessful.Single(u => u.SnapshotId == snapshot);
        Assert.Equal("us-east-1z", Assert.Single(badZone.FastSnapshotRestoreStateErrors).AvailabilityZone);

        var described = Assert.Single((await ec2.DescribeFastSnapshotRestoresAsync(new DescribeFastSnapshotRestoresRequest())).FastSnapshotRestores);
        Assert.Equal(FastSnapshotRestoreStateCode.Enabled, described.State);
        var restored = (await ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1a", SnapshotId = snapshot })).Volume;
        Assert.True(restored.FastRestored);
        Assert.Equal(["us-east-1a"], sim.Snapshots().Single().FastRestoreZones);
    }

    [Fact]
    public async Task CopyVolumes_clones_a_volume_in_its_zone_with_at_least_its_size_and_honours_the_client_token()
    {
        await using var sim = await StartAsync(o => o.VolumeCreateDelay = TimeSpan.Zero);
        using var ec2 = Create(sim);
        var source = await NewVolume(ec2, "us-east-1b", size: 6);

        var request = new CopyVolumesRequest
        {
            SourceVolumeId = source,
            Size = 8,
            VolumeType = VolumeType.Gp3,
            ClientToken = "clone-1",
            TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Volume, Tags = [new Tag("CSIVolumeName", "clone")] }],
        };
        var copy = Assert.Single((await ec2.CopyVolumesAsync(request)).Volumes);
        Assert.Equal(8, copy.Size);
        Assert.Equal("us-east-1b", copy.AvailabilityZone);
        Assert.Equal(VolumeType.Gp3, copy.VolumeType);
        Assert.Equal(source, copy.SourceVolumeId);
        Assert.Equal(copy.VolumeId, Assert.Single((await ec2.CopyVolumesAsync(request)).Volumes).VolumeId);
        Assert.Equal(2, sim.Volumes().Count);

        await ExpectError("InvalidParameterValue", () => ec2.CopyVolumesAsync(new CopyVolumesRequest { SourceVolumeId = source, Size = 5 }));
        await ExpectError("InvalidVolume.NotFound", () => ec2.CopyVolumesAsync(new CopyVolumesRequest { SourceVolumeId = "vol-0123456789abcdef0" }));
        await ExpectError("IdempotentParameterMismatch", () => ec2.CopyVolumesAsync(new CopyVolumesRequest { SourceVolumeId = source, ClientToken = "clone-1" }));
    }
}
