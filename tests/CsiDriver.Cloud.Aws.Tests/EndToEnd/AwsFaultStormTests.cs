using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Testing;
using CsiDriver.Testing.Aws;
using Csi.V1;
using Grpc.Core;
using Xunit.Abstractions;
using static CsiDriver.Cloud.Aws.Tests.EndToEnd.AwsRequests;
using static CsiDriver.Cloud.Aws.Tests.EndToEnd.CoRetries;

namespace CsiDriver.Cloud.Aws.Tests.EndToEnd;

/// <summary>
/// Every kind of EC2 trouble at once (throttling, 5xx, answers later than the CO waits, volumes EC2 fails to make,
/// reads that lag behind writes) while a CO creates and deletes volumes and retries whatever fails, as
/// external-provisioner does. Afterwards every volume is accounted for: it exists in EC2 exactly when the CO believes
/// it does, and the only volumes ever deleted are those the CO deleted or EC2 reported in state error.
/// </summary>
public sealed class AwsFaultStormTests(ITestOutputHelper output)
{
    private const int Volumes = 24;

    [Fact]
    public async Task In_a_storm_of_EC2_faults_every_volume_is_accounted_for_and_none_is_deleted_while_healthy()
    {
        await using var env = await AwsEnvironment.StartAsync("aws-storm", o =>
        {
            o.VisibilityDelay = TimeSpan.FromMilliseconds(300);
            o.VolumeCreateDelay = TimeSpan.FromMilliseconds(200);
            o.Throttling = Ec2ThrottlingOptions.Ec2Defaults();
            o.Throttling.VolumeLifecycle = new TokenBucketLimit(4, 8);
            o.Throttling.Describe = new TokenBucketLimit(8, 16);
        }, services: SimulatedAws.WithSdkRetries(2));
        var faults = env.Simulator.Faults;
        var injected = 0;
        void Inject(string action, Ec2Fault fault, int times)
        {
            faults.Inject(action, fault, times);
            injected += times;
        }
        // Interleaved per action, so each kind hits calls throughout the run, not just the first few.
        for (var round = 0; round < 3; round++)
        {
            Inject("CreateVolume", Ec2Fault.InternalError(), 2);
            Inject("CreateVolume", Ec2Fault.Throttle(), 2);
            Inject("CreateVolume", Ec2Fault.SlowAnswer(TimeSpan.FromSeconds(4)), 1);
            Inject("DescribeVolumes", Ec2Fault.InternalError(), 3);
            Inject("DescribeVolumes", Ec2Fault.Throttle(), 3);
            Inject("DescribeVolumes", Ec2Fault.SlowAnswer(TimeSpan.FromSeconds(4)), 1);
            Inject("DeleteVolume", Ec2Fault.InternalError(), 1);
            Inject("DeleteVolume", Ec2Fault.SlowAnswer(TimeSpan.FromSeconds(4)), 1);
        }
        env.Simulator.FailNextVolumeCreations(4);
        injected += 4;

        // The CO: create every volume, retrying whatever fails (each call with a 3 s deadline, shorter than a slow answer).
        var names = Enumerable.Range(0, Volumes).Select(i => $"pvc-storm-{i:D2}").ToList();
        var believed = new Dictionary<string, string>(StringComparer.Ordinal);
        var created = await Task.WhenAll(names.Select(async name =>
            (name, (await RetryAsync(() => env.Controller.CreateVolumeAsync(Create(name), deadline: DateTime.UtcNow.AddSeconds(3)), _ => true, attempts: 40)).Volume.VolumeId)));
        foreach (var (name, id) in created)
        {
            believed[name] = id;
        }
        // Then delete every other one, again retrying until the driver says OK.
        var deleted = names.Where((_, i) => i % 2 == 0).ToList();
        await Task.WhenAll(deleted.Select(name =>
            RetryAsync(() => env.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = believed[name] }, deadline: DateTime.UtcNow.AddSeconds(3)), _ => true, attempts: 40)));
        var deletedByCo = deleted.Select(name => believed[name]).ToHashSet(StringComparer.Ordinal);
        foreach (var name in deleted)
        {
            believed.Remove(name);
        }

        // Let the late answers land and EC2 finish every deletion, then count.
        faults.Clear();
        await Eventually.HoldsAsync(() => env.Simulator.Volumes().All(v => v.State is "available"), "EC2 settles", TimeSpan.FromSeconds(60));
        var live = env.Simulator.Volumes();
        var failed = env.Simulator.FailedVolumeIds().ToHashSet(StringComparer.Ordinal);
        var deletes = env.Simulator.Statistics.CallLog("DeleteVolume").Where(c => c.ErrorCode is null).Select(c => c.Parameters["VolumeId"]).ToHashSet(StringComparer.Ordinal);

        output.WriteLine($"volumes asked for {Volumes}, deleted by the CO {deletedByCo.Count}; faults injected {injected} " +
            $"(of which {failed.Count} volumes failed by EC2); EC2 calls {env.Simulator.Statistics.TotalCalls}, throttled {env.Simulator.Statistics.TotalThrottled}; " +
            $"volumes EC2 made {live.Count + deletes.Count}: live at the end {live.Count}, deleted {deletes.Count}");

        // Exists in EC2 exactly when the CO believes it does: one volume per believed name, with the believed id.
        Assert.Equal(believed.Values.Order(StringComparer.Ordinal), live.Select(v => v.VolumeId).Order(StringComparer.Ordinal));
        foreach (var (name, id) in believed)
        {
            Assert.Equal(name, live.Single(v => v.VolumeId == id).Tags[EbsTags.VolumeName]);
        }
        // Deleted only what the CO deleted or what EC2 itself failed.
        Assert.All(deletes, id => Assert.True(deletedByCo.Contains(id) || failed.Contains(id), $"{id} was deleted while healthy"));
        Assert.Subset(deletes, deletedByCo);
        Assert.NotEmpty(failed);
        Assert.True(env.Simulator.Statistics.TotalThrottled > 0, "the storm throttled nothing");
    }
}
