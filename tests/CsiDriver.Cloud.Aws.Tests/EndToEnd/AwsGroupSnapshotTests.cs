using Csi.V1;
using Grpc.Core;
using static CsiDriver.Cloud.Aws.Tests.EndToEnd.AwsRequests;
using static CsiDriver.Testing.CsiRequests;

namespace CsiDriver.Cloud.Aws.Tests.EndToEnd;

/// <summary>
/// Group snapshots with --backend aws end to end: gRPC over the unix socket, EC2 CreateSnapshots through the real
/// AWSSDK client against the simulator. One instance's volumes → one crash-consistent cut; anything EC2 cannot cut
/// at one point in time is refused with a reason, never replaced by per-volume snapshots.
/// </summary>
public sealed class AwsGroupSnapshotTests
{
    [Fact]
    public async Task Volumes_on_one_instance_are_cut_together_excluding_the_boot_and_other_volumes_and_restore_one_by_one()
    {
        await using var env = await AwsEnvironment.StartAsync("aws-group");
        var group = env.Driver.GroupController;
        var a = await CreateAttachedAsync(env, "pvc-a", NodeA);
        var b = await CreateAttachedAsync(env, "pvc-b", NodeA);
        var bystander = await CreateAttachedAsync(env, "pvc-other", NodeA);

        var request = new CreateVolumeGroupSnapshotRequest { Name = "vgs-1", SourceVolumeIds = { b, a } };
        request.Parameters["csi.storage.k8s.io/volumegroupsnapshot/name"] = "db";
        request.Parameters["csi.storage.k8s.io/volumegroupsnapshot/namespace"] = "prod";
        request.Parameters["tagSpecification_1"] = "team=storage";
        var created = (await group.CreateVolumeGroupSnapshotAsync(request)).GroupSnapshot;

        Assert.Matches("^vgs-[0-9a-f]{17}$", created.GroupSnapshotId);
        Assert.Equal(new[] { a, b }.Order(StringComparer.Ordinal), created.Snapshots.Select(s => s.SourceVolumeId).Order(StringComparer.Ordinal));
        Assert.All(created.Snapshots, s => Assert.Equal(created.GroupSnapshotId, s.GroupSnapshotId));
        var cut = env.Simulator.Snapshots();
        Assert.Equal(2, cut.Count); // neither the boot volume nor pvc-other
        Assert.DoesNotContain(cut, s => s.VolumeId == bystander);
        Assert.All(cut, s =>
        {
            Assert.Equal("vgs-1", s.Tags["CSIVolumeGroupSnapshotName"]);
            Assert.Equal(created.GroupSnapshotId, s.Tags["CSIVolumeGroupSnapshotId"]);
            Assert.Equal("db", s.Tags["kubernetes.io/created-for/volumegroupsnapshot/name"]);
            Assert.Equal("prod", s.Tags["kubernetes.io/created-for/volumegroupsnapshot/namespace"]);
            Assert.Equal("storage", s.Tags["team"]);
        });
        Assert.Equal(1, env.Simulator.Statistics.Calls("CreateSnapshots"));

        // Idempotent: same name and set in another order → the same group, no second cut; another set → ALREADY_EXISTS.
        var again = (await group.CreateVolumeGroupSnapshotAsync(new CreateVolumeGroupSnapshotRequest { Name = "vgs-1", SourceVolumeIds = { a, b } })).GroupSnapshot;
        Assert.Equal(created.GroupSnapshotId, again.GroupSnapshotId);
        Assert.Equal(created.Snapshots.Select(s => s.SnapshotId).Order(), again.Snapshots.Select(s => s.SnapshotId).Order());
        Assert.Equal(1, env.Simulator.Statistics.Calls("CreateSnapshots"));
        await AssertFailsWith(StatusCode.AlreadyExists, () => group.CreateVolumeGroupSnapshotAsync(
            new CreateVolumeGroupSnapshotRequest { Name = "vgs-1", SourceVolumeIds = { a, bystander } }));

        // Ready once every member completed, through GetVolumeGroupSnapshot as the snapshotter polls it.
        var ids = created.Snapshots.Select(s => s.SnapshotId).ToList();
        var ready = await WaitGroupReadyAsync(group, created.GroupSnapshotId, ids);
        Assert.All(ready.Snapshots, s => Assert.True(s.ReadyToUse));

        // Members are ordinary snapshots: listed with the group id, and restorable.
        var listed = await env.Controller.ListSnapshotsAsync(new ListSnapshotsRequest());
        Assert.Equal(ids.Order(), listed.Entries.Where(e => e.Snapshot.GroupSnapshotId == created.GroupSnapshotId).Select(e => e.Snapshot.SnapshotId).Order());
        foreach (var member in ready.Snapshots)
        {
            var restored = (await env.Controller.CreateVolumeAsync(FromSnapshot("restored-" + member.SourceVolumeId, member.SnapshotId, 1 * GiB))).Volume;
            Assert.Equal(member.SnapshotId, env.Simulator.Volume(restored.VolumeId)!.SnapshotId);
        }

        // Without snapshot_ids (csi-sanity sends none) the members are found by the group id tag.
        var byTag = (await group.GetVolumeGroupSnapshotAsync(new GetVolumeGroupSnapshotRequest { GroupSnapshotId = created.GroupSnapshotId })).GroupSnapshot;
        Assert.Equal(ids.Order(), byTag.Snapshots.Select(s => s.SnapshotId).Order());

        // A plain snapshot listed as a member is a mismatch; delete removes every member, and again is fine.
        var loner = (await env.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "snap-alone", SourceVolumeId = a })).Snapshot;
        await AssertFailsWith(StatusCode.InvalidArgument, () => group.DeleteVolumeGroupSnapshotAsync(
            new DeleteVolumeGroupSnapshotRequest { GroupSnapshotId = created.GroupSnapshotId, SnapshotIds = { ids[0], loner.SnapshotId } }));
        var delete = new DeleteVolumeGroupSnapshotRequest { GroupSnapshotId = created.GroupSnapshotId, SnapshotIds = { ids } };
        await group.DeleteVolumeGroupSnapshotAsync(delete);
        await group.DeleteVolumeGroupSnapshotAsync(delete);
        Assert.Equal(loner.SnapshotId, Assert.Single(env.Simulator.Snapshots()).SnapshotId);
        await AssertFailsWith(StatusCode.NotFound, () => group.GetVolumeGroupSnapshotAsync(
            new GetVolumeGroupSnapshotRequest { GroupSnapshotId = created.GroupSnapshotId, SnapshotIds = { ids } }));
    }

    [Fact]
    public async Task Members_on_different_instances_detached_or_missing_are_refused_with_the_reason_and_nothing_is_cut()
    {
        await using var env = await AwsEnvironment.StartAsync("aws-group-no");
        var group = env.Driver.GroupController;
        var onA = await CreateAttachedAsync(env, "pvc-a", NodeA);
        var onA2 = await CreateAttachedAsync(env, "pvc-a2", NodeA2);
        var detached = (await env.Controller.CreateVolumeAsync(Create("pvc-idle"))).Volume.VolumeId;

        var split = await AssertFailsWith(StatusCode.FailedPrecondition, () => group.CreateVolumeGroupSnapshotAsync(
            new CreateVolumeGroupSnapshotRequest { Name = "vgs-split", SourceVolumeIds = { onA, onA2 } }));
        var idle = await AssertFailsWith(StatusCode.FailedPrecondition, () => group.CreateVolumeGroupSnapshotAsync(
            new CreateVolumeGroupSnapshotRequest { Name = "vgs-idle", SourceVolumeIds = { onA, detached } }));
        var missing = await AssertFailsWith(StatusCode.NotFound, () => group.CreateVolumeGroupSnapshotAsync(
            new CreateVolumeGroupSnapshotRequest { Name = "vgs-missing", SourceVolumeIds = { onA, MissingVolume } }));

        Assert.Contains("different instances", split.Status.Detail, StringComparison.Ordinal);
        Assert.Contains(NodeA2, split.Status.Detail, StringComparison.Ordinal);
        Assert.Contains(detached, idle.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("not attached", idle.Status.Detail, StringComparison.Ordinal);
        Assert.Contains(MissingVolume, missing.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(env.Simulator.Snapshots());
        Assert.Equal(0, env.Simulator.Statistics.Calls("CreateSnapshots"));
        Assert.Equal(0, env.Simulator.Statistics.Calls("CreateSnapshot"));
    }

    internal static async Task<string> CreateAttachedAsync(AwsEnvironment env, string name, string instanceId)
    {
        var volume = (await env.Controller.CreateVolumeAsync(Create(name))).Volume;
        await env.Controller.ControllerPublishVolumeAsync(Publish(volume.VolumeId, instanceId));
        return volume.VolumeId;
    }

    internal static async Task<VolumeGroupSnapshot> WaitGroupReadyAsync(GroupController.GroupControllerClient group, string groupId, IReadOnlyList<string> ids)
    {
        var request = new GetVolumeGroupSnapshotRequest { GroupSnapshotId = groupId, SnapshotIds = { ids } };
        VolumeGroupSnapshot current = (await group.GetVolumeGroupSnapshotAsync(request)).GroupSnapshot;
        for (var i = 0; i < 600 && !current.ReadyToUse; i++)
        {
            await Task.Delay(50);
            current = (await group.GetVolumeGroupSnapshotAsync(request)).GroupSnapshot;
        }
        Assert.True(current.ReadyToUse, "the group snapshot never became ready to use");
        return current;
    }
}
