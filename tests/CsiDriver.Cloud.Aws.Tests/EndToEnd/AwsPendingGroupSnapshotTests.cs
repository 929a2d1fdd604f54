using Csi.V1;
using CsiDriver.Cloud.Aws.Snapshots;
using CsiDriver.Testing;
using Grpc.Core;
using static CsiDriver.Cloud.Aws.Tests.EndToEnd.AwsGroupSnapshotTests;
using static CsiDriver.Cloud.Aws.Tests.EndToEnd.AwsRequests;
using static CsiDriver.Testing.CsiRequests;

namespace CsiDriver.Cloud.Aws.Tests.EndToEnd;

/// <summary>
/// A group whose EC2 snapshots stay pending (the simulator holds them pending until told), over the real gRPC socket:
/// csi-snapshotter v8.2–v8.6 never asks again about a group answered ready_to_use=false, so CreateVolumeGroupSnapshot
/// waits for completion and, still pending, answers DEADLINE_EXCEEDED (which the snapshotter retries with the same name);
/// the retry finds the same group — never a second CreateSnapshots — and answers it ready once EC2 has completed it.
/// </summary>
public sealed class AwsPendingGroupSnapshotTests
{
    /// <summary>Longer than any test: the snapshots complete only when the test says so.</summary>
    private static readonly TimeSpan HeldPending = TimeSpan.FromHours(1);

    [Fact]
    public async Task A_pending_group_answers_deadline_exceeded_and_the_retry_answers_the_same_group_ready_without_a_second_cut()
    {
        await using var env = await StartHeldPendingAsync("aws-group-pending", TimeSpan.FromMilliseconds(300));
        var group = env.Driver.GroupController;
        var (a, b) = await TwoAttachedAsync(env);
        var request = new CreateVolumeGroupSnapshotRequest { Name = "vgs-pending", SourceVolumeIds = { a, b } };

        var first = await AssertFailsWith(StatusCode.DeadlineExceeded, () => group.CreateVolumeGroupSnapshotAsync(request));
        var cut = env.Simulator.Snapshots();
        Assert.Equal(2, cut.Count);
        Assert.Contains("not completed 2 of its snapshots", first.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("call CreateVolumeGroupSnapshot again with the same name", first.Status.Detail, StringComparison.Ordinal);
        Assert.All(cut, s => Assert.Contains(s.SnapshotId, first.Status.Detail, StringComparison.Ordinal));

        // GetVolumeGroupSnapshot stays truthful meanwhile: the group exists, not ready.
        var groupId = GroupSnapshotManager.GroupIdFor("vgs-pending");
        var pending = (await group.GetVolumeGroupSnapshotAsync(new GetVolumeGroupSnapshotRequest { GroupSnapshotId = groupId })).GroupSnapshot;
        Assert.False(pending.ReadyToUse);
        Assert.Equal(cut.Select(s => s.SnapshotId).Order(), pending.Snapshots.Select(s => s.SnapshotId).Order());
        Assert.All(pending.Snapshots, s => Assert.False(s.ReadyToUse));

        // The snapshotter's retry, still pending: the same answer, no second cut.
        await AssertFailsWith(StatusCode.DeadlineExceeded, () => group.CreateVolumeGroupSnapshotAsync(request));
        Assert.Equal(1, env.Simulator.Statistics.Calls("CreateSnapshots"));

        // EC2 completes the snapshots: the next retry answers the same group, ready, still from the one cut.
        Assert.Equal(cut.Select(s => s.SnapshotId).Order(), env.Simulator.CompletePendingSnapshots().Order());
        var ready = (await group.CreateVolumeGroupSnapshotAsync(request)).GroupSnapshot;
        Assert.True(ready.ReadyToUse);
        Assert.Equal(groupId, ready.GroupSnapshotId);
        Assert.Equal(cut.Select(s => s.SnapshotId).Order(), ready.Snapshots.Select(s => s.SnapshotId).Order());
        Assert.All(ready.Snapshots, s => Assert.True(s.ReadyToUse));
        Assert.Equal(1, env.Simulator.Statistics.Calls("CreateSnapshots"));
        Assert.Equal(0, env.Simulator.Statistics.Calls("CreateSnapshot"));

        await group.DeleteVolumeGroupSnapshotAsync(new DeleteVolumeGroupSnapshotRequest { GroupSnapshotId = groupId, SnapshotIds = { ready.Snapshots.Select(s => s.SnapshotId) } });
        Assert.Empty(env.Simulator.Snapshots());
    }

    [Fact]
    public async Task A_group_that_completes_within_the_wait_is_answered_ready_by_the_first_call()
    {
        await using var env = await StartHeldPendingAsync("aws-group-completes", TimeSpan.FromMinutes(5));
        var group = env.Driver.GroupController;
        var (a, b) = await TwoAttachedAsync(env);

        var call = group.CreateVolumeGroupSnapshotAsync(new CreateVolumeGroupSnapshotRequest { Name = "vgs-waits", SourceVolumeIds = { a, b } });
        // The call waits on pending snapshots; EC2 completes them while it does.
        await Eventually.HoldsAsync(() => env.Simulator.Snapshots().Count == 2, "the group cut (2 pending snapshots)", TimeSpan.FromSeconds(60));
        env.Simulator.CompletePendingSnapshots();
        var created = (await call).GroupSnapshot;

        Assert.True(created.ReadyToUse);
        Assert.Equal(2, created.Snapshots.Count);
        Assert.All(created.Snapshots, s => Assert.True(s.ReadyToUse));
        Assert.Equal(1, env.Simulator.Statistics.Calls("CreateSnapshots"));
    }

    [Fact]
    public async Task The_wait_ends_before_the_callers_deadline_with_the_drivers_own_answer()
    {
        await using var env = await StartHeldPendingAsync("aws-group-deadline", TimeSpan.FromHours(1));
        var group = env.Driver.GroupController;
        var (a, b) = await TwoAttachedAsync(env);

        // The configured wait is far longer than the caller's deadline: the driver answers before the deadline, with
        // its reason (a client that hit its own deadline would read only "Deadline Exceeded").
        var failure = await AssertFailsWith(StatusCode.DeadlineExceeded, () => group.CreateVolumeGroupSnapshotAsync(
            new CreateVolumeGroupSnapshotRequest { Name = "vgs-deadline", SourceVolumeIds = { a, b } },
            deadline: DateTime.UtcNow.AddSeconds(20)));
        Assert.Contains("not completed 2 of its snapshots", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(1, env.Simulator.Statistics.Calls("CreateSnapshots"));
    }

    [Fact]
    public async Task With_no_wait_a_pending_group_is_answered_not_ready_at_once_and_ready_when_asked_again()
    {
        await using var env = await StartHeldPendingAsync("aws-group-nowait", TimeSpan.Zero);
        var group = env.Driver.GroupController;
        var (a, b) = await TwoAttachedAsync(env);
        var request = new CreateVolumeGroupSnapshotRequest { Name = "vgs-async", SourceVolumeIds = { a, b } };

        var created = (await group.CreateVolumeGroupSnapshotAsync(request)).GroupSnapshot;
        Assert.False(created.ReadyToUse);
        env.Simulator.CompletePendingSnapshots();
        var ready = await WaitGroupReadyAsync(group, created.GroupSnapshotId, created.Snapshots.Select(s => s.SnapshotId).ToList());
        Assert.Equal(created.Snapshots.Select(s => s.SnapshotId).Order(), ready.Snapshots.Select(s => s.SnapshotId).Order());
        Assert.True((await group.CreateVolumeGroupSnapshotAsync(request)).GroupSnapshot.ReadyToUse);
        Assert.Equal(1, env.Simulator.Statistics.Calls("CreateSnapshots"));
    }

    /// <summary>The environment with EC2 holding every snapshot pending and the driver's wait set to <paramref name="wait"/>.</summary>
    private static Task<AwsEnvironment> StartHeldPendingAsync(string name, TimeSpan wait) =>
        AwsEnvironment.StartAsync(name, simulator: o => o.SnapshotDelay = HeldPending, driver: c => c.Aws.GroupSnapshotWait = wait);

    /// <summary>Two volumes attached to one instance: what one CreateSnapshots can cut.</summary>
    private static async Task<(string A, string B)> TwoAttachedAsync(AwsEnvironment env) =>
        (await CreateAttachedAsync(env, "pvc-a", NodeA), await CreateAttachedAsync(env, "pvc-b", NodeA));
}
