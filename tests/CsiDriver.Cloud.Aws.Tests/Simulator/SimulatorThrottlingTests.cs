using CsiDriver.Testing;
using System.Net;
using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Testing.Aws;
using static CsiDriver.Cloud.Aws.Tests.Simulator.SimulatorAttachmentTests;
using static CsiDriver.Cloud.Aws.Tests.Simulator.SimulatorClient;

namespace CsiDriver.Cloud.Aws.Tests.Simulator;

/// <summary>Token buckets, the SDK's view of throttling and its retries, injected faults, counters.</summary>
[Trait("Category", "Unit")]
public sealed class SimulatorThrottlingTests
{
    [Fact]
    public async Task A_bucket_allows_its_burst_then_its_refill_rate_per_action()
    {
        await using var aws = await StartOnFakeClockAsync(o =>
        {
            o.Throttling = Ec2ThrottlingOptions.Ec2Defaults();
            o.Throttling.Overrides["DescribeVolumes"] = new TokenBucketLimit(3, 2);
        });
        var (clock, sim, ec2) = aws;

        for (var i = 0; i < 3; i++)
        {
            await ec2.DescribeVolumesAsync(new DescribeVolumesRequest());
        }
        var throttled = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.DescribeVolumesAsync(new DescribeVolumesRequest()));
        Assert.Equal("RequestLimitExceeded", throttled.ErrorCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, throttled.StatusCode);

        // Other actions have their own buckets.
        await ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest());

        clock.Advance(TimeSpan.FromSeconds(1));
        await ec2.DescribeVolumesAsync(new DescribeVolumesRequest());
        await ec2.DescribeVolumesAsync(new DescribeVolumesRequest());
        await ExpectError("RequestLimitExceeded", () => ec2.DescribeVolumesAsync(new DescribeVolumesRequest()));

        clock.Advance(TimeSpan.FromSeconds(60));
        for (var i = 0; i < 3; i++)
        {
            await ec2.DescribeVolumesAsync(new DescribeVolumesRequest());
        }
        Assert.Equal(10, sim.Statistics.Calls("DescribeVolumes"));
        Assert.Equal(2, sim.Statistics.Throttled("DescribeVolumes"));
        Assert.Equal(0, sim.Statistics.Throttled("DescribeSnapshots"));
        Assert.Equal(2, sim.Statistics.TotalThrottled);
    }

    [Fact]
    public void The_default_buckets_are_EC2s_and_the_floor_follows_from_them()
    {
        var throttling = Ec2ThrottlingOptions.Ec2Defaults();
        Assert.Equal(new TokenBucketLimit(100, 20), throttling.LimitFor("DescribeVolumes"));
        Assert.Equal(new TokenBucketLimit(100, 20), throttling.LimitFor("DescribeInstances"));
        Assert.Equal(new TokenBucketLimit(100, 5), throttling.LimitFor("CreateVolume"));
        Assert.Equal(new TokenBucketLimit(100, 5), throttling.LimitFor("DeleteSnapshot"));
        Assert.Equal(new TokenBucketLimit(50, 5), throttling.LimitFor("AttachVolume"));
        Assert.Equal(new TokenBucketLimit(50, 5), throttling.LimitFor("ModifyVolume"));
        Assert.Equal(TimeSpan.Zero, throttling.LimitFor("CreateVolume").Floor(100));
        Assert.Equal(TimeSpan.FromSeconds(80), throttling.LimitFor("CreateVolume").Floor(500));
        Assert.Equal(TimeSpan.FromSeconds(90), throttling.LimitFor("AttachVolume").Floor(500));
    }

    [Fact]
    public async Task The_SDKs_retry_rides_out_throttling_and_every_throttled_call_is_counted()
    {
        await using var sim = await StartAsync(o =>
        {
            o.Throttling = Ec2ThrottlingOptions.Ec2Defaults();
            o.Throttling.Overrides["CreateVolume"] = new TokenBucketLimit(2, 20);
        });
        using var ec2 = Create(sim, maxErrorRetry: 10);

        var created = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 1 })));

        Assert.Equal(8, created.Select(c => c.Volume.VolumeId).Distinct().Count());
        Assert.Equal(8, sim.Volumes().Count);
        Assert.True(sim.Statistics.Throttled("CreateVolume") > 0, "the bucket of 2 must have throttled some of 8 concurrent calls");
        Assert.Equal(8 + sim.Statistics.Throttled("CreateVolume"), sim.Statistics.Calls("CreateVolume"));
        Assert.Equal(8, sim.Statistics.ByAction().Single(a => a.Action == "CreateVolume").Succeeded);
    }

    [Fact]
    public async Task An_injected_fault_answers_the_next_call_with_its_error_and_the_SDK_retries_server_errors()
    {
        await using var sim = await StartAsync();
        using var noRetry = Create(sim);
        using var retrying = Create(sim, maxErrorRetry: 3);

        sim.Faults.Inject("DescribeVolumes", Ec2Fault.Error("UnauthorizedOperation", "You are not authorized to perform this operation.", 403));
        var denied = await Assert.ThrowsAsync<AmazonEC2Exception>(() => noRetry.DescribeVolumesAsync(new DescribeVolumesRequest()));
        Assert.Equal("UnauthorizedOperation", denied.ErrorCode);
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        await noRetry.DescribeVolumesAsync(new DescribeVolumesRequest());

        sim.Faults.Inject("CreateVolume", Ec2Fault.InternalError(), times: 2);
        var volume = (await retrying.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 1 })).Volume;
        Assert.Equal(3, sim.Statistics.Calls("CreateVolume"));
        Assert.Equal(2, sim.Statistics.Errors("CreateVolume"));
        Assert.Equal(0, sim.Faults.Pending("CreateVolume"));
        Assert.Equal(volume.VolumeId, Assert.Single(sim.Volumes()).VolumeId);

        sim.Faults.Inject("AttachVolume", Ec2Fault.Throttle());
        var throttled = await Assert.ThrowsAsync<AmazonEC2Exception>(() => Attach(noRetry, volume.VolumeId, InstanceA, "/dev/xvdba"));
        Assert.Equal("RequestLimitExceeded", throttled.ErrorCode);
    }

    [Fact]
    public async Task A_late_answer_times_the_client_out_but_the_volume_exists_and_the_same_token_finds_it()
    {
        await using var sim = await StartAsync();
        using var ec2 = Create(sim);
        sim.Faults.Inject("CreateVolume", Ec2Fault.SlowAnswer(TimeSpan.FromSeconds(30)));
        var request = new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 3, ClientToken = "pvc-timeout" };

        // The client gives up once EC2 has made the volume but before it answers, as a caller's deadline would.
        using var giveUp = new CancellationTokenSource();
        var late = ec2.CreateVolumeAsync(request, giveUp.Token);
        await Eventually.HoldsAsync(() => sim.Volumes().Count > 0, "EC2 has made the volume");
        var created = Assert.Single(sim.Volumes());
        giveUp.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => late);

        var retried = (await ec2.CreateVolumeAsync(request)).Volume;
        Assert.Equal(created.VolumeId, retried.VolumeId);
        Assert.Single(sim.Volumes());
        // The retry was answered by EC2 itself (the given-up call is logged once the server notices, at its own pace).
        Assert.Contains(sim.Statistics.CallLog("CreateVolume"), c => c.ErrorCode is null && c.Parameters.GetValueOrDefault("ClientToken") == "pvc-timeout");
    }

    [Fact]
    public async Task The_call_log_keeps_what_the_client_sent()
    {
        await using var sim = await StartAsync();
        using var ec2 = Create(sim);
        await ec2.CreateVolumeAsync(new CreateVolumeRequest
        {
            AvailabilityZone = "us-east-1a",
            Size = 1,
            ClientToken = "abc",
            TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Volume, Tags = [new Tag("k", "v")] }],
        });
        var call = Assert.Single(sim.Statistics.CallLog("CreateVolume"));
        Assert.Equal("2016-11-15", call.Parameters["Version"]);
        Assert.Equal("abc", call.Parameters["ClientToken"]);
        Assert.Equal("volume", call.Parameters["TagSpecification.1.ResourceType"]);
        Assert.Equal("k", call.Parameters["TagSpecification.1.Tag.1.Key"]);
        Assert.Null(call.ErrorCode);
    }
}
