using System.Net;
using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Testing.Aws;
using static CsiDriver.Cloud.Aws.Tests.Simulator.SimulatorClient;

namespace CsiDriver.Cloud.Aws.Tests.Simulator;

/// <summary>CreateVolume, DescribeVolumes, DeleteVolume, tags: the simulator's answers as the real SDK reads them.</summary>
[Trait("Category", "Unit")]
public sealed class SimulatorVolumeTests
{
    [Fact]
    public async Task CreateVolume_answers_every_field_and_moves_from_creating_to_available()
    {
        await using var aws = await StartOnFakeClockAsync(o => o.VolumeCreateDelay = TimeSpan.FromSeconds(5));
        var (clock, sim, ec2) = aws;

        var created = (await ec2.CreateVolumeAsync(new CreateVolumeRequest
        {
            AvailabilityZone = "us-east-1a",
            Size = 10,
            VolumeType = VolumeType.Gp3,
            Iops = 4000,
            Throughput = 250,
            Encrypted = true,
            KmsKeyId = "arn:aws:kms:us-east-1:111122223333:key/abc",
            TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Volume, Tags = [new Tag("CSIVolumeName", "pvc-1"), new Tag("team", "a")] }],
        })).Volume;

        Assert.Matches("^vol-[0-9a-f]{17}$", created.VolumeId);
        Assert.Equal(10, created.Size);
        Assert.Equal(VolumeState.Creating, created.State);
        Assert.Equal(VolumeType.Gp3, created.VolumeType);
        Assert.Equal(4000, created.Iops);
        Assert.Equal(250, created.Throughput);
        Assert.True(created.Encrypted);
        Assert.Equal("arn:aws:kms:us-east-1:111122223333:key/abc", created.KmsKeyId);
        Assert.Equal("us-east-1a", created.AvailabilityZone);
        Assert.Equal("", created.SnapshotId);
        Assert.False(created.MultiAttachEnabled);
        Assert.Equal(clock.GetUtcNow().UtcDateTime, created.CreateTime!.Value.ToUniversalTime());
        Assert.Equal("pvc-1", created.Tags.Single(t => t.Key == "CSIVolumeName").Value);

        var described = await DescribeOne(ec2, created.VolumeId);
        Assert.Equal(VolumeState.Creating, described.State);
        clock.Advance(TimeSpan.FromSeconds(5));
        described = await DescribeOne(ec2, created.VolumeId);
        Assert.Equal(VolumeState.Available, described.State);
        Assert.Equal(2, described.Tags.Count);
    }

    [Fact]
    public async Task CreateVolume_defaults_to_gp2_with_baseline_iops()
    {
        await using var sim = await StartAsync();
        using var ec2 = Create(sim);
        var volume = (await ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 100 })).Volume;
        Assert.Equal(VolumeType.Gp2, volume.VolumeType);
        Assert.Equal(300, volume.Iops);
        Assert.Null(volume.Throughput);
        Assert.False(volume.Encrypted);
    }

    [Fact]
    public async Task CreateVolume_with_the_same_client_token_returns_the_same_volume_and_mismatching_parameters_fail()
    {
        await using var sim = await StartAsync();
        using var ec2 = Create(sim);
        var request = new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 5, VolumeType = VolumeType.Gp3, ClientToken = "token-1" };

        var first = (await ec2.CreateVolumeAsync(request)).Volume;
        var again = (await ec2.CreateVolumeAsync(request)).Volume;
        Assert.Equal(first.VolumeId, again.VolumeId);
        Assert.Single(sim.Volumes());
        Assert.Equal("token-1", sim.Volumes()[0].ClientToken);

        var error = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.CreateVolumeAsync(
            new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 6, VolumeType = VolumeType.Gp3, ClientToken = "token-1" }));
        Assert.Equal("IdempotentParameterMismatch", error.ErrorCode);
        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Single(sim.Volumes());
    }

    public static TheoryData<string, CreateVolumeRequest> BadCreateVolumeRequests => new()
    {
        { "MissingParameter", new CreateVolumeRequest { Size = 1 } },
        { "InvalidParameterValue", new CreateVolumeRequest { AvailabilityZone = "us-east-1z", Size = 1 } },
        { "MissingParameter", new CreateVolumeRequest { AvailabilityZone = "us-east-1a" } },
        { "InvalidParameterValue", new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 1, VolumeType = "gp9" } },
        { "InvalidParameterValue", new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 16385, VolumeType = VolumeType.Gp3 } },
        { "InvalidParameterValue", new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 10, VolumeType = VolumeType.St1 } },
        { "InvalidParameterCombination", new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 10, VolumeType = VolumeType.Gp2, Iops = 3000 } },
        { "InvalidParameterCombination", new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 10, VolumeType = VolumeType.Io1, Iops = 500, Throughput = 200 } },
        { "InvalidParameterValue", new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 4, VolumeType = VolumeType.Gp3, Iops = 4000 } },
        { "InvalidParameterValue", new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 100, VolumeType = VolumeType.Gp3, Throughput = 1001 } },
        { "MissingParameter", new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 10, VolumeType = VolumeType.Io2 } },
        { "InvalidParameterValue", new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 10, VolumeType = VolumeType.Io1, Iops = 1000 } },
        { "InvalidParameterDependency", new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 1, KmsKeyId = "alias/x" } },
        { "InvalidParameterCombination", new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 1, VolumeType = VolumeType.Gp3, MultiAttachEnabled = true } },
        { "InvalidSnapshotID.Malformed", new CreateVolumeRequest { AvailabilityZone = "us-east-1a", SnapshotId = "snapshot-1" } },
        { "InvalidSnapshot.NotFound", new CreateVolumeRequest { AvailabilityZone = "us-east-1a", SnapshotId = "snap-0123456789abcdef0" } },
        { "InvalidParameterValue", new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 1, ClientToken = new string('t', 65) } },
        {
            "InvalidParameterValue", new CreateVolumeRequest
            {
                AvailabilityZone = "us-east-1a", Size = 1,
                TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Volume, Tags = [new Tag("aws:reserved", "x")] }],
            }
        },
        {
            "InvalidParameterValue", new CreateVolumeRequest
            {
                AvailabilityZone = "us-east-1a", Size = 1,
                TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Snapshot, Tags = [new Tag("a", "b")] }],
            }
        },
    };

    [Theory]
    [MemberData(nameof(BadCreateVolumeRequests))]
    public async Task CreateVolume_refuses_bad_input_with_EC2s_error_code(string code, CreateVolumeRequest request)
    {
        await using var sim = await StartAsync();
        using var ec2 = Create(sim);
        var error = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.CreateVolumeAsync(request));
        Assert.Equal(code, error.ErrorCode);
        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.False(string.IsNullOrEmpty(error.Message));
        Assert.Empty(sim.Volumes());
    }

    [Fact]
    public async Task DescribeVolumes_of_an_unknown_or_malformed_id_is_an_error_naming_it()
    {
        await using var sim = await StartAsync();
        using var ec2 = Create(sim);

        var notFound = await Assert.ThrowsAsync<AmazonEC2Exception>(() =>
            ec2.DescribeVolumesAsync(new DescribeVolumesRequest { VolumeIds = ["vol-0123456789abcdef0"] }));
        Assert.Equal("InvalidVolume.NotFound", notFound.ErrorCode);
        Assert.Contains("vol-0123456789abcdef0", notFound.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(notFound.RequestId));

        var malformed = await Assert.ThrowsAsync<AmazonEC2Exception>(() =>
            ec2.DescribeVolumesAsync(new DescribeVolumesRequest { VolumeIds = ["volume-1"] }));
        Assert.Equal("InvalidVolumeID.Malformed", malformed.ErrorCode);
    }

    [Fact]
    public async Task DescribeVolumes_filters_by_tags_and_pages_with_next_token()
    {
        await using var sim = await StartAsync();
        using var ec2 = Create(sim);
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            var tags = new List<Tag> { new("index", i.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
            if (i % 3 == 0)
            {
                tags.Add(new Tag("CSIVolumeName", $"pvc-{i}"));
            }
            var volume = (await ec2.CreateVolumeAsync(new CreateVolumeRequest
            {
                AvailabilityZone = i % 2 == 0 ? "us-east-1a" : "us-east-1b",
                Size = 1 + i,
                TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Volume, Tags = tags }],
            })).Volume;
            ids.Add(volume.VolumeId);
        }

        var byTag = await ec2.DescribeVolumesAsync(new DescribeVolumesRequest { Filters = [new Filter("tag:CSIVolumeName", ["pvc-3", "pvc-6"])] });
        Assert.Equal(new[] { ids[3], ids[6] }.Order(), byTag.Volumes.Select(v => v.VolumeId).Order());
        var byKey = await ec2.DescribeVolumesAsync(new DescribeVolumesRequest { Filters = [new Filter("tag-key", ["CSIVolumeName"])] });
        Assert.Equal(4, byKey.Volumes.Count);
        var wildcard = await ec2.DescribeVolumesAsync(new DescribeVolumesRequest { Filters = [new Filter("tag:CSIVolumeName", ["pvc-?"]), new Filter("availability-zone", ["us-east-1a"])] });
        Assert.Equal(new[] { ids[0], ids[6] }.Order(), wildcard.Volumes.Select(v => v.VolumeId).Order());
        var none = await ec2.DescribeVolumesAsync(new DescribeVolumesRequest { Filters = [new Filter("tag:CSIVolumeName", ["nope"])] });
        Assert.Empty(none.Volumes ?? []);

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await ec2.DescribeVolumesAsync(new DescribeVolumesRequest { MaxResults = 5, NextToken = token });
            seen.AddRange(page.Volumes.Select(v => v.VolumeId));
            token = page.NextToken;
            pages++;
        }
        while (token is not null);
        Assert.Equal(3, pages);
        Assert.Equal(ids.Order(), seen);

        var bad = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.DescribeVolumesAsync(new DescribeVolumesRequest { MaxResults = 5, NextToken = "garbage" }));
        Assert.Equal("InvalidPaginationToken", bad.ErrorCode);
        var both = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.DescribeVolumesAsync(new DescribeVolumesRequest { MaxResults = 5, VolumeIds = [ids[0]] }));
        Assert.Equal("InvalidParameterCombination", both.ErrorCode);
        var tooMany = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.DescribeVolumesAsync(new DescribeVolumesRequest { MaxResults = 501 }));
        Assert.Equal("InvalidParameterValue", tooMany.ErrorCode);
        var badFilter = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.DescribeVolumesAsync(new DescribeVolumesRequest { Filters = [new Filter("colour", ["red"])] }));
        Assert.Equal("InvalidParameterValue", badFilter.ErrorCode);
    }

    [Fact]
    public async Task A_new_volume_is_invisible_to_DescribeVolumes_until_the_consistency_delay_passes()
    {
        await using var aws = await StartOnFakeClockAsync(o => o.VisibilityDelay = TimeSpan.FromSeconds(2));
        var (clock, sim, ec2) = aws;
        var volume = (await ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 1 })).Volume;

        var error = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.DescribeVolumesAsync(new DescribeVolumesRequest { VolumeIds = [volume.VolumeId] }));
        Assert.Equal("InvalidVolume.NotFound", error.ErrorCode);
        Assert.Empty((await ec2.DescribeVolumesAsync(new DescribeVolumesRequest())).Volumes ?? []);
        Assert.False(sim.Volume(volume.VolumeId)!.Visible);

        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(volume.VolumeId, (await DescribeOne(ec2, volume.VolumeId)).VolumeId);
    }

    [Fact]
    public async Task DeleteVolume_goes_through_deleting_then_the_volume_is_not_found()
    {
        await using var aws = await StartOnFakeClockAsync(o =>
        {
            o.VolumeCreateDelay = TimeSpan.FromSeconds(1);
            o.VolumeDeleteDelay = TimeSpan.FromSeconds(3);
        });
        var (clock, sim, ec2) = aws;
        var volume = (await ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 1 })).Volume;

        var creating = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volume.VolumeId }));
        Assert.Equal("IncorrectState", creating.ErrorCode);

        clock.Advance(TimeSpan.FromSeconds(1));
        await ec2.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volume.VolumeId });
        Assert.Equal(VolumeState.Deleting, (await DescribeOne(ec2, volume.VolumeId)).State);
        await ec2.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volume.VolumeId });

        clock.Advance(TimeSpan.FromSeconds(3));
        var gone = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volume.VolumeId }));
        Assert.Equal("InvalidVolume.NotFound", gone.ErrorCode);
        Assert.Empty(sim.Volumes());
    }

    [Fact]
    public async Task CreateTags_and_DeleteTags_change_the_tags_of_volumes_and_snapshots()
    {
        await using var sim = await StartAsync(o => o.SnapshotDelay = TimeSpan.Zero);
        using var ec2 = Create(sim);
        var volume = (await ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 1, TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Volume, Tags = [new Tag("keep", "1"), new Tag("drop", "2")] }] })).Volume;
        await Task.Delay(100);
        var snapshot = (await ec2.CreateSnapshotAsync(new CreateSnapshotRequest { VolumeId = volume.VolumeId })).Snapshot;

        await ec2.CreateTagsAsync(new CreateTagsRequest { Resources = [volume.VolumeId, snapshot.SnapshotId], Tags = [new Tag("added", "yes")] });
        await ec2.DeleteTagsAsync(new DeleteTagsRequest { Resources = [volume.VolumeId], Tags = [new Tag { Key = "drop" }] });
        await ec2.DeleteTagsAsync(new DeleteTagsRequest { Resources = [volume.VolumeId], Tags = [new Tag("keep", "other-value")] });

        Assert.Equal(new Dictionary<string, string> { ["keep"] = "1", ["added"] = "yes" }, sim.Volume(volume.VolumeId)!.Tags);
        Assert.Equal(new Dictionary<string, string> { ["added"] = "yes" }, sim.Snapshots().Single().Tags);

        var unknown = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.CreateTagsAsync(new CreateTagsRequest { Resources = ["vol-0123456789abcdef0"], Tags = [new Tag("a", "b")] }));
        Assert.Equal("InvalidVolume.NotFound", unknown.ErrorCode);
        var reserved = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.CreateTagsAsync(new CreateTagsRequest { Resources = [volume.VolumeId], Tags = [new Tag("aws:x", "b")] }));
        Assert.Equal("InvalidParameterValue", reserved.ErrorCode);
    }

    [Fact]
    public async Task DescribeAvailabilityZones_lists_the_configured_zones()
    {
        await using var sim = await StartAsync();
        using var ec2 = Create(sim);
        var zones = (await ec2.DescribeAvailabilityZonesAsync(new DescribeAvailabilityZonesRequest())).AvailabilityZones;
        Assert.Equal(["us-east-1a", "us-east-1b", "us-east-1c"], zones.Select(z => z.ZoneName));
        Assert.Equal("use1-az2", zones[1].ZoneId);
        Assert.Equal(AvailabilityZoneState.Available, zones[0].State);
        Assert.Equal("us-east-1", zones[0].RegionName);
        var one = (await ec2.DescribeAvailabilityZonesAsync(new DescribeAvailabilityZonesRequest { ZoneNames = ["us-east-1c"] })).AvailabilityZones;
        Assert.Equal("use1-az4", Assert.Single(one).ZoneId);
    }

    internal static async Task<Volume> DescribeOne(AmazonEC2Client ec2, string volumeId) =>
        Assert.Single((await ec2.DescribeVolumesAsync(new DescribeVolumesRequest { VolumeIds = [volumeId] })).Volumes);
}
