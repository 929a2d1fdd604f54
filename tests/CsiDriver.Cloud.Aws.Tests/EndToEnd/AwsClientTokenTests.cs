using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Testing;
using CsiDriver.Testing.Aws;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using static CsiDriver.Cloud.Aws.Tests.EndToEnd.AwsRequests;
using static CsiDriver.Testing.CsiRequests;

namespace CsiDriver.Cloud.Aws.Tests.EndToEnd;

/// <summary>
/// The client token of CreateVolume after things went wrong: a volume is deleted only when EC2 reports it in state
/// error, a token whose volume is gone is left behind for the next one (even by a restarted controller), and a volume
/// merely not visible yet is never replaced by a second one.
/// </summary>
public sealed class AwsClientTokenTests
{
    [Fact]
    public async Task A_volume_EC2_reports_in_error_is_deleted_and_the_retry_makes_one_new_volume_with_the_next_token()
    {
        await using var env = await AwsEnvironment.StartAsync("aws-token-error");
        env.Simulator.FailNextVolumeCreations();
        var request = Create("pvc-error");

        var failed = await AssertFailsWith(StatusCode.Internal, () => env.Controller.CreateVolumeAsync(request));
        Assert.Contains("state error", failed.Status.Detail, StringComparison.Ordinal);
        var burned = Assert.Single(env.Simulator.Statistics.CallLog("DeleteVolume")).Parameters["VolumeId"];

        var created = (await env.Controller.CreateVolumeAsync(request)).Volume;

        Assert.NotEqual(burned, created.VolumeId);
        var live = Assert.Single(LiveVolumes(env.Simulator, "pvc-error"));
        Assert.Equal(created.VolumeId, live.VolumeId);
        Assert.Equal("2", live.Tags[EbsTags.ClientTokenAttempt]);
        Assert.Equal(CreationTokens.TokenFor("pvc-error", 2), live.ClientToken);
        Assert.Single(env.Simulator.Statistics.CallLog("DeleteVolume"));
    }

    [Fact]
    public async Task A_restarted_controller_finds_the_first_token_burned_and_moves_on_without_deleting_anything()
    {
        using var directory = new TestDirectory("aws-token-restart");
        await using var simulator = await Ec2Simulator.StartAsync();
        simulator.FailNextVolumeCreations();
        var request = Create("pvc-restart");
        await using (var first = await SimulatedAws.StartControllerAsync(directory, simulator))
        {
            await AssertFailsWith(StatusCode.Internal, () => first.Controller.CreateVolumeAsync(request));
        }
        await Eventually.HoldsAsync(() => simulator.Volumes().Count == 0, "the failed volume is deleted");

        // A new process knows nothing of the burned token: EC2 replays the deleted volume to it.
        await using var second = await SimulatedAws.StartControllerAsync(directory, simulator);
        var created = (await second.Controller.CreateVolumeAsync(request)).Volume;

        var live = Assert.Single(LiveVolumes(simulator, "pvc-restart"));
        Assert.Equal(created.VolumeId, live.VolumeId);
        Assert.Equal("2", live.Tags[EbsTags.ClientTokenAttempt]);
        var tokens = simulator.Statistics.CallLog("CreateVolume").Select(c => c.Parameters["ClientToken"]).ToList();
        Assert.Equal([CreationTokens.TokenFor("pvc-restart", 1), CreationTokens.TokenFor("pvc-restart", 1), CreationTokens.TokenFor("pvc-restart", 2)], tokens);
        Assert.Single(simulator.Statistics.CallLog("DeleteVolume"));
    }

    [Fact]
    public async Task An_unrecognised_EC2_error_while_waiting_fails_the_call_but_never_deletes_the_volume()
    {
        var clock = new FakeTimeProvider();
        await using var env = await AwsEnvironment.StartAsync("aws-token-unknown", o =>
        {
            o.TimeProvider = clock;
            o.VolumeCreateDelay = TimeSpan.FromSeconds(5);
        });
        var request = Create("pvc-unknown");

        var call = env.Controller.CreateVolumeAsync(request);
        await Eventually.HoldsAsync(() => env.Simulator.Volumes().Count == 1, "EC2 has the volume, still creating");
        env.Simulator.Faults.Inject("DescribeVolumes", Ec2Fault.Error("Unrecognised.Condition", "Something EC2 has never said before."));
        var error = await Assert.ThrowsAsync<RpcException>(async () => await call);

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Empty(env.Simulator.Statistics.CallLog("DeleteVolume"));
        var volume = Assert.Single(env.Simulator.Volumes());
        clock.Advance(TimeSpan.FromSeconds(5));
        var retried = (await env.Controller.CreateVolumeAsync(request)).Volume;
        Assert.Equal(volume.VolumeId, retried.VolumeId);
        Assert.Single(env.Simulator.Volumes());
    }

    [Fact]
    public async Task A_volume_not_visible_past_the_grace_window_is_not_replaced_by_a_second_one()
    {
        var clock = new FakeTimeProvider();
        await using var env = await AwsEnvironment.StartAsync("aws-token-invisible",
            o =>
            {
                o.TimeProvider = clock;
                o.VisibilityDelay = TimeSpan.FromMinutes(1);
            },
            c => c.Aws.Tuning.NotFoundGrace = TimeSpan.FromMilliseconds(200));
        var request = Create("pvc-invisible");

        var error = await AssertFailsWith(StatusCode.Unavailable, () => env.Controller.CreateVolumeAsync(request));

        Assert.Contains("not visible", error.Status.Detail, StringComparison.Ordinal);
        var volume = Assert.Single(env.Simulator.Volumes());
        Assert.Empty(env.Simulator.Statistics.CallLog("DeleteVolume"));
        clock.Advance(TimeSpan.FromMinutes(1));
        var retried = (await env.Controller.CreateVolumeAsync(request)).Volume;
        Assert.Equal(volume.VolumeId, retried.VolumeId);
        Assert.Single(env.Simulator.Volumes());
    }

    private static IEnumerable<Ec2VolumeView> LiveVolumes(Ec2Simulator simulator, string name) =>
        simulator.Volumes().Where(v => v.State is not ("deleting" or "deleted") && v.Tags.GetValueOrDefault(EbsTags.VolumeName) == name);
}
