using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using Moq;

namespace CsiDriver.Cloud.Aws.Tests.Volumes;

[Trait("Category", "Unit")]
public sealed class EbsVolumeProviderTests : IDisposable
{
    private const long GiB = 1L << 30;
    private static readonly VolumeCapabilitySpec Mount = new(AccessType.Mount, AccessMode.SingleNodeWriter, "ext4", []);
    private static readonly VolumeCapabilitySpec BlockMulti = new(AccessType.Block, AccessMode.MultiNodeMultiWriter, "", []);

    private readonly Ec2Mock _ec2 = new();
    private readonly List<CreateVolumeRequest> _creates = [];
    private int _nextId;

    public EbsVolumeProviderTests()
    {
        _ec2.Mock.Setup(c => c.CreateVolumeAsync(It.IsAny<CreateVolumeRequest>(), It.IsAny<CancellationToken>()))
            .Returns((CreateVolumeRequest r, CancellationToken _) =>
            {
                lock (_creates)
                {
                    _creates.Add(r);
                }
                var volume = _ec2.AddVolume($"vol-{Interlocked.Increment(ref _nextId):D4}", r.Size ?? 0, r.VolumeType.Value, r.AvailabilityZone ?? "us-east-1a");
                volume.Tags = r.TagSpecifications[0].Tags;
                volume.SnapshotId = r.SnapshotId;
                volume.MultiAttachEnabled = r.MultiAttachEnabled ?? false;
                return Task.FromResult(new CreateVolumeResponse { Volume = new Volume { VolumeId = volume.VolumeId, AvailabilityZone = volume.AvailabilityZone } });
            });
    }

    public void Dispose() => _ec2.Dispose();

    private static CreateVolumeSpec Spec(
        string name = "pvc-1",
        long requiredBytes = 10 * GiB,
        long limitBytes = 0,
        Dictionary<string, string>? parameters = null,
        VolumeContentSourceSpec? source = null,
        TopologyRequirementSpec? topology = null,
        VolumeCapabilitySpec? capability = null) =>
        new(name, requiredBytes, limitBytes, [capability ?? Mount], parameters ?? [], new Dictionary<string, string>(), source, topology);

    private static TopologySegments Zone(string zone) => new() { ["topology.kubernetes.io/zone"] = zone };

    [Fact]
    public async Task Create_sends_every_parameter_to_ec2_and_waits_until_available()
    {
        var spec = Spec(parameters: new()
        {
            ["type"] = "gp3",
            ["iops"] = "4000",
            ["throughput"] = "250",
            ["encrypted"] = "true",
            ["kmsKeyId"] = "arn:aws:kms:us-east-1:1:key/abc",
            ["blockSize"] = "4096",
            ["tagSpecification_1"] = "owner={{ .PVCNamespace }}",
            ["csi.storage.k8s.io/pvc/name"] = "data",
            ["csi.storage.k8s.io/pvc/namespace"] = "prod",
            ["csi.storage.k8s.io/pv/name"] = "pvc-1",
        }, topology: new TopologyRequirementSpec([Zone("us-east-1a"), Zone("us-east-1b")], [Zone("us-east-1b")]));

        var info = await _ec2.Provider.CreateVolumeAsync(spec, CancellationToken.None);

        var request = Assert.Single(_creates);
        Assert.Equal(10, request.Size);
        Assert.Equal(VolumeType.Gp3, request.VolumeType);
        Assert.Equal(4000, request.Iops);
        Assert.Equal(250, request.Throughput);
        Assert.True(request.Encrypted);
        Assert.Equal("arn:aws:kms:us-east-1:1:key/abc", request.KmsKeyId);
        Assert.Equal("us-east-1b", request.AvailabilityZone);
        Assert.Equal(EbsVolumeProvider.ClientToken("pvc-1"), request.ClientToken);
        var tags = request.TagSpecifications.Single().Tags;
        Assert.Equal("pvc-1", EbsTags.Get(tags, EbsTags.VolumeName));
        Assert.Equal("data", EbsTags.Get(tags, EbsTags.PvcName));
        Assert.Equal("prod", EbsTags.Get(tags, EbsTags.PvcNamespace));
        Assert.Equal("pvc-1", EbsTags.Get(tags, EbsTags.PvName));
        Assert.Equal("prod", EbsTags.Get(tags, "owner"));
        Assert.Equal("storage", EbsTags.Get(tags, "team"));
        Assert.Equal(10 * GiB, info.CapacityBytes);
        Assert.Equal("us-east-1b", Assert.Single(info.AccessibleTopology)["topology.kubernetes.io/zone"]);
        Assert.Equal("4096", info.VolumeContext["blockSize"]);
    }

    [Fact]
    public void Client_token_is_a_stable_64_character_hash_of_the_name()
    {
        var token = EbsVolumeProvider.ClientToken("pvc-1");

        Assert.Equal(64, token.Length);
        Assert.Equal(token, EbsVolumeProvider.ClientToken("pvc-1"));
        Assert.NotEqual(token, EbsVolumeProvider.ClientToken("pvc-2"));
    }

    [Fact]
    public async Task Retry_finds_the_volume_by_its_name_tag_and_creates_nothing()
    {
        _ec2.AddVolume("vol-existing", 10, "gp3", name: "pvc-1");

        var info = await _ec2.Provider.CreateVolumeAsync(Spec(), CancellationToken.None);

        Assert.Equal("vol-existing", info.VolumeId);
        Assert.Empty(_creates);
    }

    [Fact]
    public async Task Same_name_with_another_size_is_already_exists()
    {
        _ec2.AddVolume("vol-existing", 20, "gp3", name: "pvc-1");

        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.CreateVolumeAsync(Spec(), CancellationToken.None));

        Assert.Equal(FailureKind.AlreadyExists, error.Kind);
        Assert.Empty(_creates);
    }

    [Fact]
    public async Task Same_name_with_another_type_is_already_exists()
    {
        _ec2.AddVolume("vol-existing", 10, "gp2", name: "pvc-1");

        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.CreateVolumeAsync(Spec(), CancellationToken.None));

        Assert.Equal(FailureKind.AlreadyExists, error.Kind);
    }

    [Fact]
    public async Task Volume_briefly_invisible_after_create_is_waited_for()
    {
        var describes = 0;
        _ec2.Mock.Setup(c => c.DescribeVolumesAsync(It.IsAny<DescribeVolumesRequest>(), It.IsAny<CancellationToken>()))
            .Returns((DescribeVolumesRequest r, CancellationToken _) =>
            {
                var byId = r.Filters[0].Name == "volume-id";
                var hide = byId && Interlocked.Increment(ref describes) <= 3;
                var volumes = hide ? [] : _ec2.Volumes.Values.Where(v => byId ? r.Filters[0].Values.Contains(v.VolumeId) : false).ToList();
                return Task.FromResult(new DescribeVolumesResponse { Volumes = volumes });
            });

        var info = await _ec2.Provider.CreateVolumeAsync(Spec(), CancellationToken.None);

        Assert.Equal("vol-0001", info.VolumeId);
        Assert.True(describes > 3);
        _ec2.Mock.Verify(c => c.DeleteVolumeAsync(It.IsAny<DeleteVolumeRequest>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task Volume_that_fails_to_create_is_deleted_and_reported()
    {
        _ec2.Mock.Setup(c => c.CreateVolumeAsync(It.IsAny<CreateVolumeRequest>(), It.IsAny<CancellationToken>()))
            .Returns((CreateVolumeRequest r, CancellationToken _) =>
            {
                _ec2.AddVolume("vol-bad").State = VolumeState.Error;
                return Task.FromResult(new CreateVolumeResponse { Volume = new Volume { VolumeId = "vol-bad" } });
            });

        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.CreateVolumeAsync(Spec(), CancellationToken.None));

        Assert.Equal(FailureKind.Internal, error.Kind);
        _ec2.Mock.Verify(c => c.DeleteVolumeAsync(It.Is<DeleteVolumeRequest>(d => d.VolumeId == "vol-bad"), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Theory]
    [InlineData("VolumeLimitExceeded", FailureKind.ResourceExhausted)]
    [InlineData("RequestLimitExceeded", FailureKind.Unavailable)]
    [InlineData("UnauthorizedOperation", FailureKind.PermissionDenied)]
    [InlineData("IdempotentParameterMismatch", FailureKind.AlreadyExists)]
    public async Task Create_errors_map_to_csi_kinds(string code, FailureKind expected)
    {
        _ec2.Mock.Setup(c => c.CreateVolumeAsync(It.IsAny<CreateVolumeRequest>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(Ec2Mock.Error(code));

        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.CreateVolumeAsync(Spec(), CancellationToken.None));

        Assert.Equal(expected, error.Kind);
        if (expected == FailureKind.PermissionDenied)
        {
            Assert.Contains("ec2:CreateVolume", error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(1 * GiB + 1, 0, "gp3", 2)]
    [InlineData(0, 0, "gp3", 100)]
    [InlineData(0, 50 * GiB, "gp3", 50)]
    [InlineData(1 * GiB, 0, "io1", 4)]
    [InlineData(1 * GiB, 0, "st1", 125)]
    public void Sizes_round_up_to_whole_gib_and_the_type_minimum(long required, long limit, string type, long expectedGiB)
    {
        Assert.Equal(expectedGiB, EbsVolumeProvider.SizeGiB(required, limit, VolumeTypeLimits.Find(type)!));
    }

    [Theory]
    [InlineData(1 * GiB, 10 * GiB, "st1", "at least 125 GiB")]
    [InlineData(17_000 * GiB, 0, "gp2", "maximum of 16384 GiB")]
    [InlineData(2_000 * GiB, 0, "standard", "maximum of 1024 GiB")]
    [InlineData(70_000 * GiB, 0, "io2", "maximum of 65536 GiB")]
    [InlineData((2 * GiB) + 1, (2 * GiB) + 1, "gp3", "limit_bytes")]
    public void Sizes_beyond_limits_are_out_of_range_naming_the_limit(long required, long limit, string type, string message)
    {
        var error = Assert.Throws<StorageException>(() => EbsVolumeProvider.SizeGiB(required, limit, VolumeTypeLimits.Find(type)!));

        Assert.Equal(FailureKind.OutOfRange, error.Kind);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Limits_are_checked_before_ec2_is_called()
    {
        var error = await Assert.ThrowsAsync<StorageException>(() =>
            _ec2.Provider.CreateVolumeAsync(Spec(parameters: new() { ["type"] = "io1", ["iops"] = "5000" }), CancellationToken.None));

        Assert.Equal(FailureKind.InvalidArgument, error.Kind);
        Assert.Contains("50 IOPS per GiB", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _ec2.Calls("CreateVolume"));
    }

    [Fact]
    public async Task Restore_from_snapshot_grows_to_the_snapshot_size()
    {
        _ec2.Snapshots["snap-1"] = new Snapshot { SnapshotId = "snap-1", VolumeSize = 20, State = SnapshotState.Completed, VolumeId = "vol-src" };

        var info = await _ec2.Provider.CreateVolumeAsync(Spec(source: new VolumeContentSourceSpec("snap-1", null)), CancellationToken.None);

        var request = Assert.Single(_creates);
        Assert.Equal("snap-1", request.SnapshotId);
        Assert.Equal(20, request.Size);
        Assert.Equal("snap-1", info.ContentSource?.SnapshotId);
    }

    [Fact]
    public async Task Restore_without_a_requested_size_takes_the_snapshot_size_not_the_default()
    {
        _ec2.Snapshots["snap-2"] = new Snapshot { SnapshotId = "snap-2", VolumeSize = 8, State = SnapshotState.Completed, VolumeId = "vol-src" };

        var info = await _ec2.Provider.CreateVolumeAsync(Spec(requiredBytes: 0, source: new VolumeContentSourceSpec("snap-2", null)), CancellationToken.None);

        Assert.Equal(8, Assert.Single(_creates).Size);
        Assert.Equal(8 * GiB, info.CapacityBytes);
    }

    [Fact]
    public async Task Restore_from_missing_snapshot_is_not_found()
    {
        var error = await Assert.ThrowsAsync<StorageException>(() =>
            _ec2.Provider.CreateVolumeAsync(Spec(source: new VolumeContentSourceSpec("snap-missing", null)), CancellationToken.None));

        Assert.Equal(FailureKind.NotFound, error.Kind);
    }

    [Fact]
    public async Task Clone_copies_the_source_volume()
    {
        _ec2.AddVolume("vol-src", 30, "gp3", zone: "us-east-1c");
        CopyVolumesRequest? copy = null;
        _ec2.Mock.Setup(c => c.CopyVolumesAsync(It.IsAny<CopyVolumesRequest>(), It.IsAny<CancellationToken>()))
            .Returns((CopyVolumesRequest r, CancellationToken _) =>
            {
                copy = r;
                var volume = _ec2.AddVolume("vol-clone", r.Size ?? 0, "gp3", zone: "us-east-1c");
                return Task.FromResult(new CopyVolumesResponse { Volumes = [new Volume { VolumeId = volume.VolumeId }] });
            });

        var info = await _ec2.Provider.CreateVolumeAsync(Spec(source: new VolumeContentSourceSpec(null, "vol-src")), CancellationToken.None);

        Assert.NotNull(copy);
        Assert.Equal("vol-src", copy.SourceVolumeId);
        Assert.Equal(30, copy.Size);
        Assert.Equal(EbsVolumeProvider.ClientToken("pvc-1"), copy.ClientToken);
        Assert.Equal("pvc-1", EbsTags.Get(copy.TagSpecifications[0].Tags, EbsTags.VolumeName));
        Assert.Equal("us-east-1c", info.AccessibleTopology[0]["topology.kubernetes.io/zone"]);
        Assert.Equal("vol-src", info.ContentSource?.VolumeId);
    }

    [Fact]
    public async Task Block_multi_node_multi_writer_on_io2_enables_multi_attach()
    {
        await _ec2.Provider.CreateVolumeAsync(Spec(parameters: new() { ["type"] = "io2", ["iops"] = "1000" }, capability: BlockMulti), CancellationToken.None);

        Assert.True(Assert.Single(_creates).MultiAttachEnabled);
    }

    [Theory]
    [InlineData("gp3", AccessType.Block, AccessMode.MultiNodeMultiWriter)]
    [InlineData("io2", AccessType.Mount, AccessMode.MultiNodeMultiWriter)]
    [InlineData("gp3", AccessType.Mount, AccessMode.MultiNodeReaderOnly)]
    public async Task Unsupported_access_modes_are_invalid_argument(string type, AccessType access, AccessMode mode)
    {
        var parameters = new Dictionary<string, string> { ["type"] = type };
        if (type == "io2")
        {
            parameters["iops"] = "1000";
        }

        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.CreateVolumeAsync(
            Spec(parameters: parameters, capability: new VolumeCapabilitySpec(access, mode, "", [])), CancellationToken.None));

        Assert.Equal(FailureKind.InvalidArgument, error.Kind);
    }

    [Fact]
    public async Task Without_topology_the_controller_zone_is_used()
    {
        await _ec2.Provider.CreateVolumeAsync(Spec(), CancellationToken.None);

        Assert.Equal("us-east-1a", Assert.Single(_creates).AvailabilityZone);
    }

    [Fact]
    public async Task Ebs_driver_zone_key_and_zone_id_are_understood()
    {
        var ebsKey = new TopologySegments { ["topology.ebs.csi.aws.com/zone"] = "us-east-1d" };
        await _ec2.Provider.CreateVolumeAsync(Spec(name: "a", topology: new TopologyRequirementSpec([ebsKey], [])), CancellationToken.None);
        var zoneId = new TopologySegments { ["topology.k8s.aws/zone-id"] = "use1-az4" };
        await _ec2.Provider.CreateVolumeAsync(Spec(name: "b", topology: new TopologyRequirementSpec([zoneId], [])), CancellationToken.None);

        Assert.Equal("us-east-1d", _creates[0].AvailabilityZone);
        Assert.Equal("use1-az4", _creates[1].AvailabilityZoneId);
    }

    [Fact]
    public async Task Delete_of_unknown_volume_is_success()
    {
        _ec2.Mock.Setup(c => c.DeleteVolumeAsync(It.IsAny<DeleteVolumeRequest>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(Ec2Mock.Error("InvalidVolume.NotFound"));

        await _ec2.Provider.DeleteVolumeAsync("vol-gone", CancellationToken.None);
    }

    [Fact]
    public async Task Delete_of_attached_volume_is_failed_precondition()
    {
        _ec2.Mock.Setup(c => c.DeleteVolumeAsync(It.IsAny<DeleteVolumeRequest>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(Ec2Mock.Error("VolumeInUse"));

        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.DeleteVolumeAsync("vol-1", CancellationToken.None));

        Assert.Equal(FailureKind.FailedPrecondition, error.Kind);
    }

    [Fact]
    public async Task Get_reports_attachments_and_absence()
    {
        var volume = _ec2.AddVolume("vol-1", 5);
        volume.Attachments = [new VolumeAttachment { InstanceId = "i-1", State = VolumeAttachmentState.Attached }];

        var info = await _ec2.Provider.GetVolumeAsync("vol-1", CancellationToken.None);

        Assert.Equal(["i-1"], info!.PublishedNodeIds);
        Assert.Equal(5 * GiB, info.CapacityBytes);
        Assert.Null(await _ec2.Provider.GetVolumeAsync("vol-2", CancellationToken.None));
    }

    [Fact]
    public async Task List_pages_through_driver_volumes()
    {
        for (var i = 0; i < 5; i++)
        {
            _ec2.AddVolume($"vol-{i}", name: $"pvc-{i}");
        }
        _ec2.AddVolume("vol-foreign");

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await _ec2.Provider.ListVolumesAsync(2, token, CancellationToken.None);
            Assert.InRange(page.Items.Count, 1, 2);
            seen.AddRange(page.Items.Select(v => v.VolumeId));
            token = page.NextToken;
            pages++;
        }
        while (token is not null && pages < 10);

        Assert.Equal(5, seen.Distinct().Count());
        Assert.DoesNotContain("vol-foreign", seen);
    }

    [Fact]
    public async Task List_with_a_foreign_token_is_aborted()
    {
        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.ListVolumesAsync(0, "nope", CancellationToken.None));

        Assert.Equal(FailureKind.Aborted, error.Kind);
    }

    [Fact]
    public async Task Probe_spends_no_api_call()
    {
        Assert.True(await _ec2.Provider.ProbeAsync(CancellationToken.None));
        Assert.Empty(_ec2.Mock.Invocations);
    }

    [Fact]
    public async Task Hundreds_of_concurrent_creates_share_their_describe_calls()
    {
        _ec2.DescribeLatency = TimeSpan.FromMilliseconds(20);
        const int count = 300;

        var infos = await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
            Task.Run(() => _ec2.Provider.CreateVolumeAsync(Spec(name: $"pvc-{i}"), CancellationToken.None))));

        Assert.Equal(count, infos.Select(v => v.VolumeId).Distinct().Count());
        Assert.Equal(count, _ec2.Calls("CreateVolume"));
        // Unfolded, each create costs a name lookup and at least one state poll: 600+ DescribeVolumes.
        Assert.True(_ec2.Calls("DescribeVolumes") < count / 2, $"{_ec2.Calls("DescribeVolumes")} DescribeVolumes calls");
    }
}
