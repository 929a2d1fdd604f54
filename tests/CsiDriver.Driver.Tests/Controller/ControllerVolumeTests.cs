using static CsiDriver.Testing.CsiRequests;
using Csi.V1;
using CsiDriver.Testing;
using Grpc.Core;
using static CsiDriver.Driver.Tests.Controller.Requests;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;

namespace CsiDriver.Driver.Tests.Controller;

/// <summary>Volume lifecycle through the real driver on its unix socket, on real loop devices.</summary>
public sealed class ControllerVolumeTests
{
    [Fact]
    public async Task CreateVolume_rounds_up_to_whole_MiB_reports_topology_and_is_idempotent()
    {
        using var dir = new TestDirectory("ctl-create");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var request = Create("pvc-round", 10 * MiB + 1);
        request.Parameters["blockSize"] = "4096";
        request.Parameters["csi.storage.k8s.io/pvc/name"] = "data";

        var first = await driver.Controller.CreateVolumeAsync(request);
        var second = await driver.Controller.CreateVolumeAsync(request);

        Assert.Equal(11 * MiB, first.Volume.CapacityBytes);
        Assert.Equal(first, second);
        Assert.Matches("^vol-[0-9a-f]{16}$", first.Volume.VolumeId);
        Assert.Equal("4096", first.Volume.VolumeContext["blockSize"]);
        Assert.Equal("local", Assert.Single(first.Volume.AccessibleTopology).Segments["topology.kubernetes.io/zone"]);
        var image = new FileInfo(dir.Path("state", "volumes", first.Volume.VolumeId + ".img"));
        Assert.Equal(11 * MiB, image.Length);
    }

    [Fact]
    public async Task CreateVolume_without_capacity_range_gets_one_GiB()
    {
        using var dir = new TestDirectory("ctl-default");
        await using var driver = await RunningDriver.StartLocalAsync(dir);

        var response = await driver.Controller.CreateVolumeAsync(Create("pvc-default", 0));

        Assert.Equal(1L << 30, response.Volume.CapacityBytes);
    }

    [Fact]
    public async Task CreateVolume_with_the_same_name_but_other_size_parameters_or_source_is_already_exists()
    {
        using var dir = new TestDirectory("ctl-exists");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var original = await driver.Controller.CreateVolumeAsync(Create("pvc-same", 16 * MiB));
        var snapshot = await driver.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "snap-same", SourceVolumeId = original.Volume.VolumeId });

        await AssertFailsWith(StatusCode.AlreadyExists, () => driver.Controller.CreateVolumeAsync(Create("pvc-same", 32 * MiB)));
        var withParameter = Create("pvc-same", 16 * MiB);
        withParameter.Parameters["inodeSize"] = "512";
        await AssertFailsWith(StatusCode.AlreadyExists, () => driver.Controller.CreateVolumeAsync(withParameter));
        await AssertFailsWith(StatusCode.AlreadyExists, () => driver.Controller.CreateVolumeAsync(FromSnapshot("pvc-same", snapshot.Snapshot.SnapshotId, 16 * MiB)));

        // A range the existing volume satisfies is the same volume.
        var compatible = await driver.Controller.CreateVolumeAsync(Create("pvc-same", 8 * MiB, 16 * MiB));
        Assert.Equal(original.Volume.VolumeId, compatible.Volume.VolumeId);
    }

    [Fact]
    public async Task Twenty_identical_concurrent_CreateVolume_calls_make_exactly_one_volume()
    {
        using var dir = new TestDirectory("ctl-race");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var request = Create("pvc-race", 64 * MiB);

        var calls = Enumerable.Range(0, 20).Select(async _ =>
        {
            try
            {
                return (Id: (await driver.Controller.CreateVolumeAsync(request)).Volume.VolumeId, Code: StatusCode.OK);
            }
            catch (RpcException ex)
            {
                return (Id: (string?)null, Code: ex.StatusCode);
            }
        }).ToList();
        var results = await Task.WhenAll(calls);

        Assert.All(results, r => Assert.True(r.Code is StatusCode.OK or StatusCode.Aborted, $"unexpected {r.Code}"));
        var ids = results.Where(r => r.Code == StatusCode.OK).Select(r => r.Id).Distinct().ToList();
        Assert.Single(ids);
        // The aborted callers retry, as a CO does, and get the same volume.
        var retried = await driver.Controller.CreateVolumeAsync(request);
        Assert.Equal(ids[0], retried.Volume.VolumeId);
        var listed = await driver.Controller.ListVolumesAsync(new ListVolumesRequest());
        Assert.Equal(ids[0], Assert.Single(listed.Entries).Volume.VolumeId);
        Assert.Single(Directory.GetFiles(dir.Path("state", "volumes"), "*.img"));
    }

    [Fact]
    public async Task DeleteVolume_removes_the_volume_and_repeats_as_success()
    {
        using var dir = new TestDirectory("ctl-delete");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var volume = (await driver.Controller.CreateVolumeAsync(Create("pvc-delete"))).Volume;

        await driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volume.VolumeId });
        await driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volume.VolumeId });
        await driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = "vol-never-existed" });

        Assert.Empty((await driver.Controller.ListVolumesAsync(new ListVolumesRequest())).Entries);
        Assert.Empty(Directory.GetFiles(dir.Path("state", "volumes")));
    }

    [Fact]
    public async Task Publish_attaches_a_loop_device_behind_a_stable_link_and_unpublish_detaches_it()
    {
        using var dir = new TestDirectory("ctl-publish");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var volume = (await driver.Controller.CreateVolumeAsync(Create("pvc-publish"))).Volume;

        var first = await driver.Controller.ControllerPublishVolumeAsync(Publish(volume.VolumeId));
        var second = await driver.Controller.ControllerPublishVolumeAsync(Publish(volume.VolumeId));

        Assert.Equal(first, second);
        var link = first.PublishContext["devicePath"];
        Assert.Equal(dir.Path("state", "devices", volume.VolumeId), link);
        var device = new FileInfo(link).LinkTarget!;
        Assert.Equal(dir.Path("state", "volumes", volume.VolumeId + ".img"),
            File.ReadAllText($"/sys/block/{Path.GetFileName(device)}/loop/backing_file").Trim());
        Assert.Single(TestDirectory.LoopDevicesBackedBelow(dir.Root + "/"));
        var got = await driver.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = volume.VolumeId });
        Assert.Equal(["test-node"], got.Status.PublishedNodeIds);

        await driver.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = volume.VolumeId, NodeId = "test-node" });
        await driver.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = volume.VolumeId, NodeId = "test-node" });
        await driver.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = "vol-gone" });

        Assert.False(File.Exists(link) || new FileInfo(link).LinkTarget is not null);
        Assert.Empty(TestDirectory.LoopDevicesBackedBelow(dir.Root + "/"));
        got = await driver.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = volume.VolumeId });
        Assert.Empty(got.Status.PublishedNodeIds);
    }

    [Fact]
    public async Task Readonly_publish_attaches_a_read_only_loop_device()
    {
        using var dir = new TestDirectory("ctl-ro");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var volume = (await driver.Controller.CreateVolumeAsync(Create("pvc-ro"))).Volume;

        var published = await driver.Controller.ControllerPublishVolumeAsync(Publish(volume.VolumeId, readOnly: true, capability: Mount(Mode.SingleNodeReaderOnly)));

        var device = new FileInfo(published.PublishContext["devicePath"]).LinkTarget!;
        Assert.Equal("1", File.ReadAllText($"/sys/block/{Path.GetFileName(device)}/ro").Trim());
    }

    [Fact]
    public async Task ReadAheadKiB_is_set_at_create_changed_live_by_modify_and_kept_across_attaches()
    {
        using var dir = new TestDirectory("ctl-readahead");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var create = Create("pvc-readahead");
        create.MutableParameters["readAheadKiB"] = "512";
        var volumeId = (await driver.Controller.CreateVolumeAsync(create)).Volume.VolumeId;

        var attached = await driver.Controller.ControllerPublishVolumeAsync(Publish(volumeId));
        var device = Path.GetFileName(new FileInfo(attached.PublishContext["devicePath"]).LinkTarget!);
        var atAttach = ReadAhead(device);
        await driver.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = volumeId, MutableParameters = { ["readAheadKiB"] = "1024" } });
        var afterModify = ReadAhead(device);
        await driver.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = volumeId });
        await driver.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = volumeId, NodeId = "test-node" });
        var reattached = await driver.Controller.ControllerPublishVolumeAsync(Publish(volumeId));
        var afterReattach = ReadAhead(Path.GetFileName(new FileInfo(reattached.PublishContext["devicePath"]).LinkTarget!));
        var badValue = await AssertFailsWith(StatusCode.InvalidArgument, () => driver.Controller.ControllerModifyVolumeAsync(
            new ControllerModifyVolumeRequest { VolumeId = volumeId, MutableParameters = { ["readAheadKiB"] = "lots" } }));

        Assert.Equal((512, 1024, 1024), (atAttach, afterModify, afterReattach));
        Assert.Contains("readAheadKiB=lots", badValue.Status.Detail, StringComparison.Ordinal);
        await driver.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = volumeId, NodeId = "test-node" });

        static int ReadAhead(string device) => int.Parse(File.ReadAllText($"/sys/block/{device}/queue/read_ahead_kb").Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Publish_of_a_volume_attached_to_another_node_is_failed_precondition()
    {
        using var dir = new TestDirectory("ctl-othernode");
        string volumeId;
        await using (var nodeA = await RunningDriver.StartAsync(RunningDriver.LocalConfiguration(dir, nodeId: "node-a")))
        {
            volumeId = (await nodeA.Controller.CreateVolumeAsync(Create("pvc-moved"))).Volume.VolumeId;
            await nodeA.Controller.ControllerPublishVolumeAsync(Publish(volumeId, "node-a"));
        }
        // The same state dir served under another node id: the record still says node-a holds the volume.
        await using var nodeB = await RunningDriver.StartAsync(RunningDriver.LocalConfiguration(dir, nodeId: "node-b"));

        var ex = await AssertFailsWith(StatusCode.FailedPrecondition, () => nodeB.Controller.ControllerPublishVolumeAsync(Publish(volumeId, "node-b")));
        Assert.Contains("node-a", ex.Status.Detail, StringComparison.Ordinal);

        // Unpublishing from a node that does not hold it changes nothing; from node-a it frees the volume.
        await nodeB.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = volumeId, NodeId = "node-b" });
        await AssertFailsWith(StatusCode.FailedPrecondition, () => nodeB.Controller.ControllerPublishVolumeAsync(Publish(volumeId, "node-b")));
        await nodeB.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = volumeId, NodeId = "node-a" });
        var published = await nodeB.Controller.ControllerPublishVolumeAsync(Publish(volumeId, "node-b"));
        Assert.True(File.Exists(published.PublishContext["devicePath"]));
    }

    [Fact]
    public async Task Publish_beyond_the_attach_limit_is_resource_exhausted()
    {
        using var dir = new TestDirectory("ctl-limit");
        var configuration = RunningDriver.LocalConfiguration(dir);
        configuration.Driver.VolumeAttachLimit = 1;
        await using var driver = await RunningDriver.StartAsync(configuration);
        var first = (await driver.Controller.CreateVolumeAsync(Create("pvc-limit-1"))).Volume.VolumeId;
        var second = (await driver.Controller.CreateVolumeAsync(Create("pvc-limit-2"))).Volume.VolumeId;
        await driver.Controller.ControllerPublishVolumeAsync(Publish(first));

        await AssertFailsWith(StatusCode.ResourceExhausted, () => driver.Controller.ControllerPublishVolumeAsync(Publish(second)));
        // Re-publishing the attached one is not a new attachment.
        await driver.Controller.ControllerPublishVolumeAsync(Publish(first));
    }

    [Fact]
    public async Task Deleting_a_published_volume_is_failed_precondition_and_keeps_it()
    {
        using var dir = new TestDirectory("ctl-delpub");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-delpub"))).Volume.VolumeId;
        await driver.Controller.ControllerPublishVolumeAsync(Publish(volumeId));

        await AssertFailsWith(StatusCode.FailedPrecondition, () => driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volumeId }));

        Assert.True(File.Exists(dir.Path("state", "volumes", volumeId + ".img")));
        await driver.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = volumeId, NodeId = "test-node" });
        await driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volumeId });
    }

    [Fact]
    public async Task ValidateVolumeCapabilities_confirms_supported_and_explains_unsupported()
    {
        using var dir = new TestDirectory("ctl-validate");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-validate"))).Volume.VolumeId;

        var supported = await driver.Controller.ValidateVolumeCapabilitiesAsync(new ValidateVolumeCapabilitiesRequest
        {
            VolumeId = volumeId,
            VolumeCapabilities = { Mount(), Block(Mode.MultiNodeMultiWriter) },
        });
        var unsupported = await driver.Controller.ValidateVolumeCapabilitiesAsync(new ValidateVolumeCapabilitiesRequest
        {
            VolumeId = volumeId,
            VolumeCapabilities = { Mount(Mode.MultiNodeMultiWriter) },
        });

        var wrongContext = await driver.Controller.ValidateVolumeCapabilitiesAsync(new ValidateVolumeCapabilitiesRequest
        {
            VolumeId = volumeId,
            VolumeCapabilities = { Mount() },
            VolumeContext = { ["blockSize"] = "1024" },
        });

        Assert.Equal(2, supported.Confirmed.VolumeCapabilities.Count);
        Assert.Null(wrongContext.Confirmed);
        Assert.Contains("blockSize", wrongContext.Message, StringComparison.Ordinal);
        Assert.Null(unsupported.Confirmed);
        Assert.Contains("MultiNodeMultiWriter", unsupported.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListVolumes_pages_through_every_volume_with_published_nodes()
    {
        using var dir = new TestDirectory("ctl-list");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await driver.Controller.CreateVolumeAsync(Create($"pvc-list-{i}"))).Volume.VolumeId);
        }
        await driver.Controller.ControllerPublishVolumeAsync(Publish(ids[3]));

        var seen = new List<ListVolumesResponse.Types.Entry>();
        var token = "";
        var pages = 0;
        do
        {
            var page = await driver.Controller.ListVolumesAsync(new ListVolumesRequest { MaxEntries = 2, StartingToken = token });
            Assert.True(page.Entries.Count <= 2);
            seen.AddRange(page.Entries);
            token = page.NextToken;
            pages++;
        }
        while (token.Length > 0);

        Assert.Equal(3, pages);
        Assert.Equal(ids.Order(StringComparer.Ordinal), seen.Select(e => e.Volume.VolumeId));
        Assert.Equal(["test-node"], seen.Single(e => e.Volume.VolumeId == ids[3]).Status.PublishedNodeIds);
        Assert.All(seen, e => Assert.False(e.Status.VolumeCondition.Abnormal));
    }

    [Fact]
    public async Task ListVolumes_tokens_survive_deletes_and_creates_between_pages()
    {
        using var dir = new TestDirectory("ctl-listchange");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var original = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            original.Add((await driver.Controller.CreateVolumeAsync(Create($"pvc-change-{i}"))).Volume.VolumeId);
        }

        var first = await driver.Controller.ListVolumesAsync(new ListVolumesRequest { MaxEntries = 3 });
        var deleted = first.Entries[^1].Volume.VolumeId;
        await driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = deleted });
        await driver.Controller.CreateVolumeAsync(Create("pvc-change-new"));
        var rest = await driver.Controller.ListVolumesAsync(new ListVolumesRequest { StartingToken = first.NextToken });

        // Every volume that existed throughout is listed exactly once, though the page it was on lost a member.
        var seen = first.Entries.Concat(rest.Entries).Select(e => e.Volume.VolumeId).ToList();
        Assert.All(original.Where(id => id != deleted), id => Assert.Single(seen, listed => listed == id));
        Assert.Equal(3, first.Entries.Count);
        Assert.Empty(rest.NextToken);
    }

    [Fact]
    public async Task ControllerGetVolume_reports_an_abnormal_condition_when_the_backing_file_is_gone()
    {
        using var dir = new TestDirectory("ctl-condition");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-condition"))).Volume.VolumeId;

        var healthy = await driver.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = volumeId });
        File.Delete(dir.Path("state", "volumes", volumeId + ".img"));
        var broken = await driver.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = volumeId });

        Assert.False(healthy.Status.VolumeCondition.Abnormal);
        Assert.Equal(16 * MiB, healthy.Volume.CapacityBytes);
        Assert.True(broken.Status.VolumeCondition.Abnormal);
        Assert.Contains("missing", broken.Status.VolumeCondition.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ControllerExpandVolume_grows_never_shrinks_and_asks_for_node_expansion_only_for_filesystems()
    {
        using var dir = new TestDirectory("ctl-expand");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-expand", 16 * MiB))).Volume.VolumeId;

        var grown = await driver.Controller.ControllerExpandVolumeAsync(Expand(volumeId, 40 * MiB + 5, capability: Mount()));
        var again = await driver.Controller.ControllerExpandVolumeAsync(Expand(volumeId, 40 * MiB + 5, capability: Mount()));
        var shrink = await driver.Controller.ControllerExpandVolumeAsync(Expand(volumeId, 8 * MiB));
        var block = await driver.Controller.ControllerExpandVolumeAsync(Expand(volumeId, 64 * MiB, capability: Block()));

        Assert.Equal(41 * MiB, grown.CapacityBytes);
        Assert.True(grown.NodeExpansionRequired);
        Assert.Equal(grown, again);
        Assert.Equal(41 * MiB, shrink.CapacityBytes);
        Assert.Equal(64 * MiB, block.CapacityBytes);
        Assert.False(block.NodeExpansionRequired);
        Assert.Equal(64 * MiB, new FileInfo(dir.Path("state", "volumes", volumeId + ".img")).Length);
        var got = await driver.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = volumeId });
        Assert.Equal(64 * MiB, got.Volume.CapacityBytes);
    }

    [Fact]
    public async Task A_second_operation_on_a_busy_volume_is_aborted()
    {
        using var dir = new TestDirectory("ctl-busy");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var volumeId = (await driver.Controller.CreateVolumeAsync(Create("pvc-busy"))).Volume.VolumeId;
        var locks = (CsiDriver.Core.Concurrency.OperationLocks)driver.Services.GetService(typeof(CsiDriver.Core.Concurrency.OperationLocks))!;

        // Hold the volume's key as an in-flight operation would.
        using (locks.TryAcquire(CsiDriver.Driver.Controller.ControllerService.VolumeKey(volumeId)))
        {
            var ex = await AssertFailsWith(StatusCode.Aborted, () => driver.Controller.ControllerPublishVolumeAsync(Publish(volumeId)));
            Assert.Contains("already in progress", ex.Status.Detail, StringComparison.Ordinal);
            await AssertFailsWith(StatusCode.Aborted, () => driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volumeId }));
        }

        // An expansion in flight blocks another expansion and a delete.
        using (locks.TryAcquire(CsiDriver.Driver.Controller.ControllerService.ExpandKey(volumeId)))
        {
            await AssertFailsWith(StatusCode.Aborted, () => driver.Controller.ControllerExpandVolumeAsync(Expand(volumeId, 32 * MiB)));
            await AssertFailsWith(StatusCode.Aborted, () => driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volumeId }));
        }

        await driver.Controller.ControllerPublishVolumeAsync(Publish(volumeId));
    }

    [Fact]
    public async Task Concurrent_operations_on_different_volumes_all_succeed()
    {
        using var dir = new TestDirectory("ctl-parallel");
        await using var driver = await RunningDriver.StartLocalAsync(dir);

        var ids = await Task.WhenAll(Enumerable.Range(0, 6).Select(async i =>
        {
            var id = (await driver.Controller.CreateVolumeAsync(Create($"pvc-par-{i}"))).Volume.VolumeId;
            await driver.Controller.ControllerPublishVolumeAsync(Publish(id));
            await driver.Controller.ControllerExpandVolumeAsync(Expand(id, 20 * MiB));
            return id;
        }));

        Assert.Equal(6, ids.Distinct().Count());
        Assert.Equal(6, TestDirectory.LoopDevicesBackedBelow(dir.Root + "/").Count);
    }
}
