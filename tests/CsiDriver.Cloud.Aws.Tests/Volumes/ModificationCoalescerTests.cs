using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Core.Errors;
using Moq;

namespace CsiDriver.Cloud.Aws.Tests.Volumes;

[Trait("Category", "Unit")]
public sealed class ModificationCoalescerTests : IDisposable
{
    private const long GiB = 1L << 30;
    private readonly Ec2Mock _ec2 = new();
    private readonly List<ModifyVolumeRequest> _modifies = [];

    public ModificationCoalescerTests()
    {
        _ec2.Mock.Setup(c => c.ModifyVolumeAsync(It.IsAny<ModifyVolumeRequest>(), It.IsAny<CancellationToken>()))
            .Returns((ModifyVolumeRequest r, CancellationToken _) =>
            {
                lock (_modifies)
                {
                    _modifies.Add(r);
                }
                var volume = _ec2.Volumes[r.VolumeId];
                volume.Size = r.Size ?? volume.Size;
                volume.VolumeType = r.VolumeType ?? volume.VolumeType;
                volume.Iops = r.Iops ?? volume.Iops;
                volume.Throughput = r.Throughput ?? volume.Throughput;
                _ec2.Modifications[r.VolumeId] = new VolumeModification
                {
                    VolumeId = r.VolumeId,
                    ModificationState = VolumeModificationState.Optimizing,
                    TargetSize = volume.Size,
                    StartTime = DateTime.UtcNow,
                };
                return Task.FromResult(new ModifyVolumeResponse());
            });
    }

    public void Dispose() => _ec2.Dispose();

    [Fact]
    public async Task Expand_and_modify_arriving_together_become_one_ModifyVolume()
    {
        _ec2.AddVolume("vol-1", 10);
        // Wide enough that a stalled test thread between the two calls cannot split them.
        _ec2.Tuning.ModifyCoalesceWindow = TimeSpan.FromSeconds(2);

        var expand = _ec2.Provider.ExpandVolumeAsync("vol-1", 20 * GiB, 0, CancellationToken.None);
        var modify = _ec2.Provider.ModifyVolumeAsync("vol-1", new Dictionary<string, string> { ["iops"] = "6000", ["throughput"] = "300" }, CancellationToken.None);
        var result = await expand;
        await modify;

        var request = Assert.Single(_modifies);
        Assert.Equal(20, request.Size);
        Assert.Equal(6000, request.Iops);
        Assert.Equal(300, request.Throughput);
        Assert.Equal(20 * GiB, result.CapacityBytes);
        Assert.True(result.NodeExpansionRequired);
    }

    [Fact]
    public async Task Requests_arriving_while_one_is_applied_share_the_next_call()
    {
        _ec2.AddVolume("vol-1", 10);
        _ec2.Tuning.ModifyCoalesceWindow = TimeSpan.FromMilliseconds(30);
        var first = _ec2.Provider.ExpandVolumeAsync("vol-1", 20 * GiB, 0, CancellationToken.None);
        await Task.Delay(60);

        var second = _ec2.Provider.ExpandVolumeAsync("vol-1", 30 * GiB, 0, CancellationToken.None);
        var third = _ec2.Provider.ExpandVolumeAsync("vol-1", 25 * GiB, 0, CancellationToken.None);
        await Task.WhenAll(first, second, third);

        Assert.InRange(_modifies.Count, 1, 2);
        Assert.Equal(30, _ec2.Volumes["vol-1"].Size);
    }

    [Fact]
    public async Task Conflicting_modifies_are_applied_one_after_the_other()
    {
        _ec2.AddVolume("vol-1", 100);

        var a = _ec2.Provider.ModifyVolumeAsync("vol-1", new Dictionary<string, string> { ["iops"] = "4000" }, CancellationToken.None);
        var b = _ec2.Provider.ModifyVolumeAsync("vol-1", new Dictionary<string, string> { ["iops"] = "5000" }, CancellationToken.None);
        await Task.WhenAll(a, b);

        Assert.Equal([4000, 5000], _modifies.Select(m => m.Iops ?? 0));
    }

    [Fact]
    public async Task Expand_to_a_size_already_reached_calls_nothing()
    {
        _ec2.AddVolume("vol-1", 50);

        var result = await _ec2.Provider.ExpandVolumeAsync("vol-1", 20 * GiB, 0, CancellationToken.None);

        Assert.Equal(50 * GiB, result.CapacityBytes);
        Assert.Empty(_modifies);
    }

    [Fact]
    public async Task Expand_rounds_up_to_whole_gib()
    {
        _ec2.AddVolume("vol-1", 10);

        var result = await _ec2.Provider.ExpandVolumeAsync("vol-1", (15 * GiB) + 1, 0, CancellationToken.None);

        Assert.Equal(16, Assert.Single(_modifies).Size);
        Assert.Equal(16 * GiB, result.CapacityBytes);
    }

    [Fact]
    public async Task Expand_beyond_the_type_maximum_is_out_of_range()
    {
        _ec2.AddVolume("vol-1", 10, "gp2");

        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.ExpandVolumeAsync("vol-1", 20_000 * GiB, 0, CancellationToken.None));

        Assert.Equal(FailureKind.OutOfRange, error.Kind);
        Assert.Contains("16384", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Expand_beyond_limit_bytes_is_out_of_range()
    {
        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.ExpandVolumeAsync("vol-1", (10 * GiB) + 1, (10 * GiB) + 1, CancellationToken.None));

        Assert.Equal(FailureKind.OutOfRange, error.Kind);
    }

    [Fact]
    public async Task Expand_of_missing_volume_is_not_found()
    {
        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.ExpandVolumeAsync("vol-x", 20 * GiB, 0, CancellationToken.None));

        Assert.Equal(FailureKind.NotFound, error.Kind);
    }

    [Fact]
    public async Task Modification_cooldown_is_a_retryable_status_with_a_clear_message()
    {
        _ec2.AddVolume("vol-1", 10);
        _ec2.Mock.Setup(c => c.ModifyVolumeAsync(It.IsAny<ModifyVolumeRequest>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(Ec2Mock.Error("IncorrectModificationState", "Volume vol-1 is currently being modified"));

        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.ExpandVolumeAsync("vol-1", 20 * GiB, 0, CancellationToken.None));

        Assert.Equal(FailureKind.Unavailable, error.Kind);
        Assert.Contains("modification", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failed_modification_is_internal_with_ec2_reason()
    {
        _ec2.AddVolume("vol-1", 10);
        _ec2.Mock.Setup(c => c.ModifyVolumeAsync(It.IsAny<ModifyVolumeRequest>(), It.IsAny<CancellationToken>()))
            .Returns((ModifyVolumeRequest r, CancellationToken _) =>
            {
                _ec2.Modifications[r.VolumeId] = new VolumeModification { VolumeId = r.VolumeId, ModificationState = VolumeModificationState.Failed, StatusMessage = "capacity" };
                return Task.FromResult(new ModifyVolumeResponse());
            });

        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.ExpandVolumeAsync("vol-1", 20 * GiB, 0, CancellationToken.None));

        Assert.Equal(FailureKind.Internal, error.Kind);
        Assert.Contains("capacity", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Modify_type_and_limits_are_checked_against_the_result()
    {
        _ec2.AddVolume("vol-1", 10);

        var iopsOnGp2 = await Assert.ThrowsAsync<StorageException>(() =>
            _ec2.Provider.ModifyVolumeAsync("vol-1", new Dictionary<string, string> { ["type"] = "gp2", ["iops"] = "4000" }, CancellationToken.None));
        var tooManyIops = await Assert.ThrowsAsync<StorageException>(() =>
            _ec2.Provider.ModifyVolumeAsync("vol-1", new Dictionary<string, string> { ["iops"] = "16000" }, CancellationToken.None));

        Assert.Equal(FailureKind.InvalidArgument, iopsOnGp2.Kind);
        Assert.Equal(FailureKind.InvalidArgument, tooManyIops.Kind);
        Assert.Contains("500 IOPS per GiB", tooManyIops.Message, StringComparison.Ordinal);
        Assert.Empty(_modifies);
    }

    [Fact]
    public async Task Modify_type_changes_the_type()
    {
        _ec2.AddVolume("vol-1", 10, "gp2");

        await _ec2.Provider.ModifyVolumeAsync("vol-1", new Dictionary<string, string> { ["type"] = "gp3" }, CancellationToken.None);

        Assert.Equal(VolumeType.Gp3, Assert.Single(_modifies).VolumeType);
    }

    [Fact]
    public async Task Modify_tags_creates_tags_without_ModifyVolume()
    {
        _ec2.AddVolume("vol-1", 10);
        CreateTagsRequest? tags = null;
        _ec2.Mock.Setup(c => c.CreateTagsAsync(It.IsAny<CreateTagsRequest>(), It.IsAny<CancellationToken>()))
            .Callback((CreateTagsRequest r, CancellationToken _) => tags = r)
            .ReturnsAsync(new CreateTagsResponse());

        await _ec2.Provider.ModifyVolumeAsync("vol-1", new Dictionary<string, string> { ["tagSpecification_1"] = "tier=gold" }, CancellationToken.None);

        Assert.Empty(_modifies);
        Assert.Equal(["vol-1"], tags!.Resources);
        Assert.Equal("gold", EbsTags.Get(tags.Tags, "tier"));
    }

    [Fact]
    public async Task Modify_with_unknown_key_is_invalid_argument()
    {
        var error = await Assert.ThrowsAsync<StorageException>(() =>
            _ec2.Provider.ModifyVolumeAsync("vol-1", new Dictionary<string, string> { ["encrypted"] = "true" }, CancellationToken.None));

        Assert.Equal(FailureKind.InvalidArgument, error.Kind);
        Assert.Contains("encrypted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Targets_merge_unless_they_conflict()
    {
        var expand = new ModifyTarget(SizeGiB: 20);
        var modify = new ModifyTarget(Iops: 4000);

        Assert.True(expand.CanMerge(modify));
        Assert.Equal(new ModifyTarget(20, null, 4000, null), expand.Merge(modify));
        Assert.Equal(30, new ModifyTarget(SizeGiB: 30).Merge(expand).SizeGiB);
        Assert.False(modify.CanMerge(new ModifyTarget(Iops: 5000)));
    }
}
