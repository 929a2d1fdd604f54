using static CsiDriver.Testing.CsiRequests;
using Csi.V1;
using Grpc.Core;
using static CsiDriver.Cloud.Aws.Tests.EndToEnd.AwsRequests;

namespace CsiDriver.Cloud.Aws.Tests.EndToEnd;

/// <summary>The controller with --backend aws, end to end: gRPC over the unix socket, the provider, the real AWSSDK client, the EC2 simulator.</summary>
public sealed class AwsLifecycleTests
{
    [Fact]
    public async Task Create_publish_expand_snapshot_restore_clone_unpublish_delete()
    {
        await using var env = await AwsEnvironment.StartAsync("aws-life");
        var controller = env.Controller;

        // Create.
        var create = Create("pvc-life", 5 * GiB);
        create.Parameters["type"] = "gp3";
        create.Parameters["csi.storage.k8s.io/pvc/name"] = "data";
        create.Parameters["csi.storage.k8s.io/pvc/namespace"] = "default";
        var volume = (await controller.CreateVolumeAsync(create)).Volume;
        Assert.Matches("^vol-[0-9a-f]{17}$", volume.VolumeId);
        Assert.Equal(5 * GiB, volume.CapacityBytes);
        Assert.Equal("us-east-1a", Assert.Single(volume.AccessibleTopology).Segments[ZoneKey]);
        var ec2Volume = env.Simulator.Volume(volume.VolumeId)!;
        Assert.Equal("available", ec2Volume.State);
        Assert.Equal("gp3", ec2Volume.VolumeType);
        Assert.Equal("pvc-life", ec2Volume.Tags["CSIVolumeName"]);
        Assert.Equal("data", ec2Volume.Tags["kubernetes.io/created-for/pvc/name"]);
        Assert.NotNull(ec2Volume.ClientToken);
        Assert.Equal(volume, (await controller.CreateVolumeAsync(create)).Volume);

        // Publish.
        var published = await controller.ControllerPublishVolumeAsync(Publish(volume.VolumeId));
        Assert.StartsWith("/dev/", published.PublishContext["devicePath"], StringComparison.Ordinal);
        var attachment = Assert.Single(env.Simulator.Volume(volume.VolumeId)!.Attachments);
        Assert.Equal((NodeA, published.PublishContext["devicePath"], "attached"), (attachment.InstanceId, attachment.Device, attachment.State));
        Assert.Equal(published, await controller.ControllerPublishVolumeAsync(Publish(volume.VolumeId)));
        var got = await controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = volume.VolumeId });
        Assert.Equal([NodeA], got.Status.PublishedNodeIds);

        // Expand.
        var expanded = await controller.ControllerExpandVolumeAsync(Expand(volume.VolumeId, 10 * GiB));
        Assert.Equal(10 * GiB, expanded.CapacityBytes);
        Assert.True(expanded.NodeExpansionRequired);
        Assert.Equal(10, env.Simulator.Volume(volume.VolumeId)!.Size);

        // Snapshot.
        var snapshot = (await controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "snap-life", SourceVolumeId = volume.VolumeId })).Snapshot;
        Assert.Matches("^snap-[0-9a-f]{17}$", snapshot.SnapshotId);
        Assert.Equal(volume.VolumeId, snapshot.SourceVolumeId);
        Assert.Equal(10 * GiB, snapshot.SizeBytes);
        var ready = await WaitReadyAsync(controller, snapshot.SnapshotId);
        Assert.True(ready.ReadyToUse);
        Assert.Equal("snap-life", env.Simulator.Snapshots().Single().Tags["CSIVolumeSnapshotName"]);
        Assert.Equal(snapshot.SnapshotId, (await controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "snap-life", SourceVolumeId = volume.VolumeId })).Snapshot.SnapshotId);

        // Restore, in another zone.
        // Kubernetes always sends the PVC's size; without one the aws backend picks 100 GiB, as aws-ebs-csi-driver does.
        var restored = (await controller.CreateVolumeAsync(FromSnapshot("pvc-restored", snapshot.SnapshotId, 10 * GiB, zone: "us-east-1b"))).Volume;
        Assert.Equal(10 * GiB, restored.CapacityBytes);
        Assert.Equal(snapshot.SnapshotId, restored.ContentSource.Snapshot.SnapshotId);
        Assert.Equal("us-east-1b", Assert.Single(restored.AccessibleTopology).Segments[ZoneKey]);
        Assert.Equal(snapshot.SnapshotId, env.Simulator.Volume(restored.VolumeId)!.SnapshotId);

        // Clone, bigger than the source.
        var clone = (await controller.CreateVolumeAsync(FromVolume("pvc-clone", volume.VolumeId, 12 * GiB))).Volume;
        Assert.Equal(12 * GiB, clone.CapacityBytes);
        Assert.Equal(volume.VolumeId, clone.ContentSource.Volume.VolumeId);
        Assert.Equal(volume.VolumeId, env.Simulator.Volume(clone.VolumeId)!.SourceVolumeId);
        Assert.Equal("us-east-1a", env.Simulator.Volume(clone.VolumeId)!.AvailabilityZone);

        // Unpublish, twice.
        await controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = volume.VolumeId, NodeId = NodeA });
        await controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = volume.VolumeId, NodeId = NodeA });
        Assert.Empty(env.Simulator.Volume(volume.VolumeId)!.Attachments);

        // Delete everything, twice.
        foreach (var id in new[] { volume.VolumeId, restored.VolumeId, clone.VolumeId })
        {
            await controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = id });
            await controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = id });
        }
        await controller.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = snapshot.SnapshotId });
        await controller.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = snapshot.SnapshotId });
        Assert.All(env.Simulator.Volumes(), v => Assert.Contains(v.State, new[] { "deleting", "deleted" }));
        Assert.Empty(env.Simulator.Snapshots());
        Assert.Equal(0, env.Simulator.Statistics.TotalThrottled);
    }

    [Fact]
    public async Task ListVolumes_and_ListSnapshots_page_through_what_the_driver_made()
    {
        await using var env = await AwsEnvironment.StartAsync("aws-list");
        var controller = env.Controller;
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            ids.Add((await controller.CreateVolumeAsync(Create($"pvc-list-{i}"))).Volume.VolumeId);
        }
        await controller.ControllerPublishVolumeAsync(Publish(ids[0]));
        var snapshots = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            snapshots.Add((await controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = $"snap-list-{i}", SourceVolumeId = ids[i % 2] })).Snapshot.SnapshotId);
        }

        var seen = new List<ListVolumesResponse.Types.Entry>();
        var token = "";
        do
        {
            var page = await controller.ListVolumesAsync(new ListVolumesRequest { MaxEntries = 3, StartingToken = token });
            Assert.True(page.Entries.Count <= 3);
            seen.AddRange(page.Entries);
            token = page.NextToken;
        }
        while (token.Length > 0);
        Assert.Equal(ids.Order(), seen.Select(e => e.Volume.VolumeId).Order());
        Assert.Equal([NodeA], seen.Single(e => e.Volume.VolumeId == ids[0]).Status.PublishedNodeIds);

        var all = await controller.ListSnapshotsAsync(new ListSnapshotsRequest());
        Assert.Equal(snapshots.Order(), all.Entries.Select(e => e.Snapshot.SnapshotId).Order());
        var ofFirst = await controller.ListSnapshotsAsync(new ListSnapshotsRequest { SourceVolumeId = ids[0] });
        Assert.Equal(new[] { snapshots[0], snapshots[2] }.Order(), ofFirst.Entries.Select(e => e.Snapshot.SnapshotId).Order());
        var one = await controller.ListSnapshotsAsync(new ListSnapshotsRequest { SnapshotId = snapshots[1] });
        Assert.Equal(ids[1], Assert.Single(one.Entries).Snapshot.SourceVolumeId);
        var none = await controller.ListSnapshotsAsync(new ListSnapshotsRequest { SnapshotId = MissingSnapshot });
        Assert.Empty(none.Entries);
    }

    [Fact]
    public async Task Publishing_to_a_second_node_is_failed_precondition_and_the_attach_limit_is_resource_exhausted()
    {
        await using var env = await AwsEnvironment.StartAsync("aws-pub");
        env.Simulator.AddInstance(new Testing.Aws.Ec2InstanceSeed("i-0000000f", "us-east-1a", "t3.micro",
            new Dictionary<string, string> { ["/dev/xvda"] = "vol-0000000f" }, MaxVolumeAttachments: 2));
        var controller = env.Controller;
        var first = (await controller.CreateVolumeAsync(Create("pvc-one"))).Volume.VolumeId;
        var second = (await controller.CreateVolumeAsync(Create("pvc-two"))).Volume.VolumeId;
        var inB = (await controller.CreateVolumeAsync(Create("pvc-b", zone: "us-east-1b"))).Volume.VolumeId;

        await controller.ControllerPublishVolumeAsync(Publish(first, "i-0000000f"));
        await AssertFailsWith(StatusCode.FailedPrecondition, () => controller.ControllerPublishVolumeAsync(Publish(first, NodeA)));
        await AssertFailsWith(StatusCode.ResourceExhausted, () => controller.ControllerPublishVolumeAsync(Publish(second, "i-0000000f")));
        await AssertFailsWith(StatusCode.FailedPrecondition, () => controller.ControllerPublishVolumeAsync(Publish(inB, NodeA)));
        await AssertFailsWith(StatusCode.FailedPrecondition, () => controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = first }));
        Assert.Equal("in-use", env.Simulator.Volume(first)!.State);

        // Detached from the full node, it attaches to the other.
        await controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = first, NodeId = "i-0000000f" });
        await controller.ControllerPublishVolumeAsync(Publish(first, NodeA));
        await controller.ControllerPublishVolumeAsync(Publish(second, NodeA));
        Assert.Equal(2, env.Simulator.Volumes().Count(v => v.Attachments.Any(a => a.InstanceId == NodeA)));
        // Two volumes on one node get different devices.
        Assert.Equal(2, env.Simulator.Volumes().SelectMany(v => v.Attachments).Where(a => a.InstanceId == NodeA).Select(a => a.Device).Distinct().Count());
    }

    [Fact]
    public async Task ControllerModifyVolume_changes_type_iops_and_throughput_through_ModifyVolume()
    {
        await using var env = await AwsEnvironment.StartAsync("aws-modify", o => o.ModificationCooldown = TimeSpan.Zero);
        var controller = env.Controller;
        var create = Create("pvc-mod", 100 * GiB);
        create.Parameters["type"] = "gp2";
        var volume = (await controller.CreateVolumeAsync(create)).Volume.VolumeId;

        await controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest
        {
            VolumeId = volume,
            MutableParameters = { ["type"] = "gp3", ["iops"] = "4000", ["throughput"] = "250" },
        });

        var modified = env.Simulator.Volume(volume)!;
        Assert.Equal(("gp3", 4000, 250), (modified.VolumeType, modified.Iops, modified.Throughput));
        Assert.Equal(1, env.Simulator.Statistics.Calls("ModifyVolume"));
    }

    [Fact]
    public async Task A_second_publish_with_the_other_readonly_is_already_exists_until_unpublished()
    {
        await using var env = await AwsEnvironment.StartAsync("aws-ro");
        var controller = env.Controller;
        var writable = (await controller.CreateVolumeAsync(Create("pvc-rw"))).Volume.VolumeId;
        var readOnly = (await controller.CreateVolumeAsync(Create("pvc-ro"))).Volume.VolumeId;

        await controller.ControllerPublishVolumeAsync(Publish(writable));
        await controller.ControllerPublishVolumeAsync(Publish(readOnly, readOnly: true));
        var roAgain = await controller.ControllerPublishVolumeAsync(Publish(readOnly, readOnly: true));
        var toRo = await AssertFailsWith(StatusCode.AlreadyExists, () => controller.ControllerPublishVolumeAsync(Publish(writable, readOnly: true)));
        var toRw = await AssertFailsWith(StatusCode.AlreadyExists, () => controller.ControllerPublishVolumeAsync(Publish(readOnly)));

        Assert.StartsWith("/dev/", roAgain.PublishContext["devicePath"], StringComparison.Ordinal);
        Assert.Contains("readonly=false", toRo.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("readonly=true", toRw.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("true", env.Simulator.Volume(readOnly)!.Tags[$"csi.csidriver.io/published-readonly/{NodeA}"]);
        Assert.DoesNotContain(env.Simulator.Volume(writable)!.Tags.Keys, k => k.Contains("published-readonly", StringComparison.Ordinal));

        // Unpublished, the mark goes with the attachment and the volume can be published read-write.
        await controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = readOnly, NodeId = NodeA });
        Assert.DoesNotContain(env.Simulator.Volume(readOnly)!.Tags.Keys, k => k.Contains("published-readonly", StringComparison.Ordinal));
        await controller.ControllerPublishVolumeAsync(Publish(readOnly));
        Assert.Equal("attached", Assert.Single(env.Simulator.Volume(readOnly)!.Attachments).State);
    }

    [Fact]
    public async Task A_name_whose_volume_was_deleted_gets_a_new_volume_and_listing_leaves_out_deleting_volumes()
    {
        await using var env = await AwsEnvironment.StartAsync("aws-reuse", o => o.VolumeDeleteDelay = TimeSpan.FromMinutes(10));
        var controller = env.Controller;
        var first = (await controller.CreateVolumeAsync(Create("pvc-reused"))).Volume.VolumeId;
        await controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = first });

        var listed = await controller.ListVolumesAsync(new ListVolumesRequest());
        var second = (await controller.CreateVolumeAsync(Create("pvc-reused"))).Volume.VolumeId;
        var again = (await controller.CreateVolumeAsync(Create("pvc-reused"))).Volume.VolumeId;

        Assert.Equal("deleting", env.Simulator.Volume(first)!.State);
        Assert.DoesNotContain(listed.Entries, e => e.Volume.VolumeId == first);
        Assert.NotEqual(first, second);
        Assert.Equal(second, again);
        Assert.Equal("available", env.Simulator.Volume(second)!.State);
    }

    private static async Task<Snapshot> WaitReadyAsync(Controller.ControllerClient controller, string snapshotId)
    {
        for (var i = 0; i < 200; i++)
        {
            var listed = await controller.ListSnapshotsAsync(new ListSnapshotsRequest { SnapshotId = snapshotId });
            if (listed.Entries.Count == 1 && listed.Entries[0].Snapshot.ReadyToUse)
            {
                return listed.Entries[0].Snapshot;
            }
            await Task.Delay(25);
        }
        throw new TimeoutException($"snapshot {snapshotId} never became ready");
    }
}
