using Csi.V1;
using CsiDriver.Core;
using CsiDriver.Core.Concurrency;
using CsiDriver.Core.Volumes;
using CsiDriver.Driver.GroupController;
using CsiDriver.Testing;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CsiDriver.Driver.Tests.GroupController;

/// <summary>The GroupController's surface through the real socket: capabilities, request shape, concurrency.</summary>
public sealed class GroupControllerServiceTests
{
    [Fact]
    public async Task A_backend_with_group_snapshots_advertises_the_service_and_the_capability()
    {
        using var dir = new TestDirectory("group-caps");
        await using var driver = await RunningDriver.StartLocalAsync(dir, DriverMode.Controller);

        var capabilities = await driver.GroupController.GroupControllerGetCapabilitiesAsync(new GroupControllerGetCapabilitiesRequest());
        var plugin = await driver.Identity.GetPluginCapabilitiesAsync(new GetPluginCapabilitiesRequest());

        Assert.Equal(GroupControllerServiceCapability.Types.RPC.Types.Type.CreateDeleteGetVolumeGroupSnapshot, Assert.Single(capabilities.Capabilities).Rpc.Type);
        Assert.Contains(plugin.Capabilities, c => c.Service?.Type == PluginCapability.Types.Service.Types.Type.GroupControllerService);
    }

    [Fact]
    public async Task A_backend_without_group_snapshots_answers_with_no_capabilities_and_refuses_them()
    {
        using var dir = new TestDirectory("group-none");
        await using var driver = await RunningDriver.StartAsync(RunningDriver.LocalConfiguration(dir, DriverMode.Controller),
            configureServices: services => services.RemoveAll<IGroupSnapshotProvider>());

        var capabilities = await driver.GroupController.GroupControllerGetCapabilitiesAsync(new GroupControllerGetCapabilitiesRequest());
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await driver.GroupController.CreateVolumeGroupSnapshotAsync(new CreateVolumeGroupSnapshotRequest { Name = "g", SourceVolumeIds = { "vol-1" } }));
        var plugin = await driver.Identity.GetPluginCapabilitiesAsync(new GetPluginCapabilitiesRequest());

        Assert.Empty(capabilities.Capabilities);
        Assert.Equal(StatusCode.Unimplemented, refused.StatusCode);
        Assert.DoesNotContain(plugin.Capabilities, c => c.Service?.Type == PluginCapability.Types.Service.Types.Type.GroupControllerService);
    }

    [Fact]
    public async Task Malformed_requests_are_invalid_arguments_that_name_the_field()
    {
        using var dir = new TestDirectory("group-bad");
        await using var driver = await RunningDriver.StartLocalAsync(dir, DriverMode.Controller);
        var client = driver.GroupController;

        var noName = await CsiRequests.AssertFailsWith(StatusCode.InvalidArgument,
            () => client.CreateVolumeGroupSnapshotAsync(new CreateVolumeGroupSnapshotRequest { SourceVolumeIds = { "vol-1" } }));
        var noVolumes = await CsiRequests.AssertFailsWith(StatusCode.InvalidArgument,
            () => client.CreateVolumeGroupSnapshotAsync(new CreateVolumeGroupSnapshotRequest { Name = "g" }));
        var twice = await CsiRequests.AssertFailsWith(StatusCode.InvalidArgument,
            () => client.CreateVolumeGroupSnapshotAsync(new CreateVolumeGroupSnapshotRequest { Name = "g", SourceVolumeIds = { "vol-1", "vol-1" } }));
        var noGroupId = await CsiRequests.AssertFailsWith(StatusCode.InvalidArgument,
            () => client.DeleteVolumeGroupSnapshotAsync(new DeleteVolumeGroupSnapshotRequest { SnapshotIds = { "snap-1" } }));
        var badSnapshotId = await CsiRequests.AssertFailsWith(StatusCode.InvalidArgument,
            () => client.GetVolumeGroupSnapshotAsync(new GetVolumeGroupSnapshotRequest { GroupSnapshotId = "group-1", SnapshotIds = { "" } }));

        Assert.Contains("name", noName.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("source_volume_ids", noVolumes.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("more than once", twice.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("group_snapshot_id", noGroupId.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("snapshot_ids[0]", badSnapshotId.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_group_without_snapshot_ids_is_not_found_and_deletes_as_success_as_csi_sanity_expects()
    {
        using var dir = new TestDirectory("group-unknown");
        await using var driver = await RunningDriver.StartLocalAsync(dir, DriverMode.Controller);

        await CsiRequests.AssertFailsWith(StatusCode.NotFound,
            () => driver.GroupController.GetVolumeGroupSnapshotAsync(new GetVolumeGroupSnapshotRequest { GroupSnapshotId = "group-00000000000000ff" }));
        await driver.GroupController.DeleteVolumeGroupSnapshotAsync(new DeleteVolumeGroupSnapshotRequest { GroupSnapshotId = "group-00000000000000ff" });
    }

    [Fact]
    public async Task A_call_for_a_group_or_a_volume_already_in_flight_is_aborted()
    {
        using var dir = new TestDirectory("group-busy");
        await using var driver = await RunningDriver.StartLocalAsync(dir, DriverMode.Controller);
        var locks = driver.Services.GetRequiredService<OperationLocks>();
        var create = new CreateVolumeGroupSnapshotRequest { Name = "g", SourceVolumeIds = { "vol-0000000000000001", "vol-0000000000000002" } };

        using (locks.TryAcquire(GroupControllerService.GroupNameKey("g")))
        {
            await CsiRequests.AssertFailsWith(StatusCode.Aborted, () => driver.GroupController.CreateVolumeGroupSnapshotAsync(create));
        }
        using (locks.TryAcquire(CsiDriver.Driver.Controller.ControllerService.VolumeKey("vol-0000000000000002")))
        {
            await CsiRequests.AssertFailsWith(StatusCode.Aborted, () => driver.GroupController.CreateVolumeGroupSnapshotAsync(create));
        }
        using (locks.TryAcquire(GroupControllerService.GroupKey("group-0000000000000001")))
        {
            await CsiRequests.AssertFailsWith(StatusCode.Aborted, () => driver.GroupController.DeleteVolumeGroupSnapshotAsync(
                new DeleteVolumeGroupSnapshotRequest { GroupSnapshotId = "group-0000000000000001", SnapshotIds = { "snap-0000000000000001" } }));
        }
        // Free again: the unknown volumes are now the answer.
        await CsiRequests.AssertFailsWith(StatusCode.NotFound, () => driver.GroupController.CreateVolumeGroupSnapshotAsync(create));
        Assert.Equal(0, locks.Count);
    }
}
