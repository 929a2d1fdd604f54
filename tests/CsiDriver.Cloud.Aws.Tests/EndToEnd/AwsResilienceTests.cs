using CsiDriver.Testing;
using static CsiDriver.Testing.CsiRequests;
using Csi.V1;
using CsiDriver.Testing.Aws;
using Grpc.Core;
using static CsiDriver.Cloud.Aws.Tests.EndToEnd.AwsRequests;
using static CsiDriver.Cloud.Aws.Tests.EndToEnd.CoRetries;

namespace CsiDriver.Cloud.Aws.Tests.EndToEnd;

/// <summary>What EC2 does to a controller in real life: late answers, throttling, eventual consistency, racing retries.</summary>
public sealed class AwsResilienceTests
{
    [Fact]
    public async Task A_CreateVolume_that_timed_out_is_found_again_by_the_retry_and_makes_one_volume()
    {
        await using var env = await AwsEnvironment.StartAsync("aws-timeout");
        env.Simulator.Faults.Inject("CreateVolume", Ec2Fault.SlowAnswer(TimeSpan.FromSeconds(60)));
        var request = Create("pvc-timeout", 2 * GiB);

        // The CO gives up once EC2 has made the volume but before its answer arrives (as its deadline would).
        using var giveUp = new CancellationTokenSource();
        var first = env.Controller.CreateVolumeAsync(request, cancellationToken: giveUp.Token);
        await Eventually.HoldsAsync(() => env.Simulator.Volumes().Count > 0, "EC2 has made the volume");
        giveUp.Cancel();
        var error = await Assert.ThrowsAsync<RpcException>(async () => await first);
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);

        var retried = await RetryWhileAbortedAsync(() => env.Controller.CreateVolumeAsync(request));
        Assert.Equal(env.Simulator.Volumes().Single().VolumeId, retried.Volume.VolumeId);
        Assert.Equal(2 * GiB, retried.Volume.CapacityBytes);
        Assert.Single(env.Simulator.Volumes());
    }

    [Fact]
    public async Task A_timed_out_CreateVolume_whose_volume_is_not_yet_visible_is_deduplicated_by_the_client_token()
    {
        await using var env = await AwsEnvironment.StartAsync("aws-token", o => o.VisibilityDelay = TimeSpan.FromSeconds(2));
        env.Simulator.Faults.Inject("CreateVolume", Ec2Fault.SlowAnswer(TimeSpan.FromSeconds(3)));
        var request = Create("pvc-token", 2 * GiB);

        await Assert.ThrowsAsync<RpcException>(async () =>
            await env.Controller.CreateVolumeAsync(request, deadline: DateTime.UtcNow.AddMilliseconds(500)));

        // The retry's DescribeVolumes cannot see the volume yet, so it calls CreateVolume again: the same client token.
        var retried = await RetryWhileAbortedAsync(() => env.Controller.CreateVolumeAsync(request));
        var volume = Assert.Single(env.Simulator.Volumes());
        Assert.Equal(volume.VolumeId, retried.Volume.VolumeId);
        var tokens = env.Simulator.Statistics.CallLog("CreateVolume").Select(c => c.Parameters.GetValueOrDefault("ClientToken")).Distinct().ToList();
        Assert.Equal(volume.ClientToken, Assert.Single(tokens));
    }

    // Once skipped as evidence that the SDK's adaptive mode collapsed here; the provider now uses standard retries
    // with one client per throttling bucket.
    [Fact]
    public async Task Under_tight_token_buckets_creates_and_publishes_succeed_with_the_providers_own_EC2_client() =>
        await CreateAndPublishUnderTightBucketsAsync(standardRetries: false);

    [Fact]
    public async Task Under_tight_token_buckets_creates_and_publishes_succeed_with_standard_SDK_retries_and_the_throttling_is_counted() =>
        await CreateAndPublishUnderTightBucketsAsync(standardRetries: true);

    private static async Task CreateAndPublishUnderTightBucketsAsync(bool standardRetries)
    {
        await using var env = await AwsEnvironment.StartAsync("aws-throttle", o =>
        {
            o.Throttling = Ec2ThrottlingOptions.Ec2Defaults();
            o.Throttling.VolumeLifecycle = new TokenBucketLimit(2, 4);
            o.Throttling.Attachment = new TokenBucketLimit(2, 4);
            o.Throttling.Describe = new TokenBucketLimit(4, 8);
        }, services: standardRetries ? SimulatedAws.UseStandardRetries : null);
        const int count = 8;

        // A CO retries UNAVAILABLE and ABORTED with backoff; the driver must get there without duplicates.
        var volumes = await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
            (await RetryLikeACoAsync(() => env.Controller.CreateVolumeAsync(Create($"pvc-throttle-{i}"), deadline: DateTime.UtcNow.AddSeconds(30)))).Volume.VolumeId));
        await Task.WhenAll(volumes.Select((id, i) =>
            RetryLikeACoAsync(() => env.Controller.ControllerPublishVolumeAsync(Publish(id, i % 2 == 0 ? NodeA : NodeA2), deadline: DateTime.UtcNow.AddSeconds(30)))));

        Assert.Equal(count, env.Simulator.Volumes().Count);
        Assert.All(env.Simulator.Volumes(), v => Assert.Equal("attached", Assert.Single(v.Attachments).State));
        var statistics = env.Simulator.Statistics;
        Assert.True(statistics.TotalThrottled > 0, "buckets of 2 must throttle 8 concurrent creates and attaches");
        Assert.Equal(count, statistics.Calls("AttachVolume") - statistics.Throttled("AttachVolume") - statistics.Errors("AttachVolume"));
    }

    [Fact]
    public async Task Volumes_and_snapshots_invisible_for_a_while_after_creation_are_still_created_and_usable()
    {
        await using var env = await AwsEnvironment.StartAsync("aws-consistency", o => o.VisibilityDelay = TimeSpan.FromSeconds(1));

        var volumes = await Task.WhenAll(Enumerable.Range(0, 3).Select(async i =>
            (await env.Controller.CreateVolumeAsync(Create($"pvc-late-{i}"))).Volume));
        var snapshot = (await env.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "snap-late", SourceVolumeId = volumes[0].VolumeId })).Snapshot;
        var published = await env.Controller.ControllerPublishVolumeAsync(Publish(volumes[1].VolumeId));

        Assert.Equal(3, env.Simulator.Volumes().Count);
        Assert.Equal(snapshot.SnapshotId, env.Simulator.Snapshots().Single().SnapshotId);
        Assert.Equal(published.PublishContext["devicePath"], env.Simulator.Volume(volumes[1].VolumeId)!.Attachments.Single().Device);
        Assert.True(env.Simulator.Statistics.HiddenByConsistency > 0, "the driver's Describe calls must have met the volumes while they were invisible");
    }

    [Fact]
    public async Task Twenty_identical_concurrent_CreateVolume_calls_make_exactly_one_EC2_volume()
    {
        await using var env = await AwsEnvironment.StartAsync("aws-race", o => o.VolumeCreateDelay = TimeSpan.FromMilliseconds(300));
        var request = Create("pvc-race", 3 * GiB);

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
        {
            try
            {
                return (Id: (await env.Controller.CreateVolumeAsync(request)).Volume.VolumeId, Code: StatusCode.OK);
            }
            catch (RpcException ex)
            {
                return (Id: (string?)null, Code: ex.StatusCode);
            }
        }));

        Assert.All(results, r => Assert.True(r.Code is StatusCode.OK or StatusCode.Aborted, $"unexpected {r.Code}"));
        var ids = results.Where(r => r.Code == StatusCode.OK).Select(r => r.Id).Distinct().ToList();
        Assert.Single(ids);
        var retried = await RetryWhileAbortedAsync(() => env.Controller.CreateVolumeAsync(request));
        Assert.Equal(ids[0], retried.Volume.VolumeId);
        Assert.Equal(ids[0], Assert.Single(env.Simulator.Volumes()).VolumeId);
    }

    [Fact]
    public async Task An_EC2_outage_is_unavailable_and_the_retry_after_it_succeeds()
    {
        // Two SDK retries: the outage (20 failures) outlasts them without a minute of backoff.
        await using var env = await AwsEnvironment.StartAsync("aws-outage", services: SimulatedAws.WithSdkRetries(2));
        env.Simulator.Faults.Inject("CreateVolume", Ec2Fault.InternalError(), times: 20);

        var failed = await Assert.ThrowsAsync<RpcException>(async () => await env.Controller.CreateVolumeAsync(Create("pvc-outage")));
        Assert.True(failed.StatusCode is StatusCode.Unavailable or StatusCode.Internal, $"got {failed.StatusCode}: {failed.Status.Detail}");
        Assert.Empty(env.Simulator.Volumes());
        Assert.Equal(3, env.Simulator.Statistics.Errors("CreateVolume"));

        env.Simulator.Faults.Clear();
        var created = await RetryWhileAbortedAsync(() => env.Controller.CreateVolumeAsync(Create("pvc-outage")));
        Assert.Equal(created.Volume.VolumeId, Assert.Single(env.Simulator.Volumes()).VolumeId);
    }
}
