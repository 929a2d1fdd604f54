using Csi.V1;
using CsiDriver.Core;
using CsiDriver.Testing;
using ControllerType = Csi.V1.ControllerServiceCapability.Types.RPC.Types.Type;
using NodeType = Csi.V1.NodeServiceCapability.Types.RPC.Types.Type;
using ServiceType = Csi.V1.PluginCapability.Types.Service.Types.Type;

namespace CsiDriver.Driver.Tests.Identity;

/// <summary>
/// The compatibility contract: by default the driver advertises only capability values that CSI v1.11 defines,
/// which is what the oldest supported sidecar generation (Kubernetes 1.32's: csi-provisioner v5.2.0, attacher
/// v4.8.1, resizer v1.13.2, snapshotter v8.2.0) knows. csi-provisioner v5.2.0 crashes at start on a newer value.
/// A capability added to the default set must be a value of CSI v1.11; anything newer goes behind --csi-capabilities.
/// </summary>
public sealed class SidecarCompatibilityTests
{
    // The highest value of each capability enum in the CSI v1.11.0 csi.proto.
    private const int MaxPluginServiceV1_11 = (int)ServiceType.SnapshotMetadataService;
    private const int MaxVolumeExpansionV1_11 = (int)PluginCapability.Types.VolumeExpansion.Types.Type.Offline;
    private const int MaxControllerV1_11 = (int)ControllerType.ModifyVolume;
    private const int MaxNodeV1_11 = (int)NodeType.VolumeMountGroup;
    private const int MaxGroupControllerV1_11 = (int)GroupControllerServiceCapability.Types.RPC.Types.Type.CreateDeleteGetVolumeGroupSnapshot;

    [Fact]
    public async Task By_default_every_advertised_capability_is_a_CSI_v1_11_value()
    {
        using var dir = new TestDirectory("compat-default");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var advertised = await AdvertisedAsync(driver);

        // GROUP_CONTROLLER_SERVICE (CSI v1.9) and CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT: v1.11 values, known to
        // csi-snapshotter v8.2.0 (group snapshots behind its CSIVolumeGroupSnapshot gate).
        Assert.Equal([ServiceType.ControllerService, ServiceType.GroupControllerService, ServiceType.VolumeAccessibilityConstraints], advertised.Services);
        Assert.Equal([PluginCapability.Types.VolumeExpansion.Types.Type.Online], advertised.Expansion);
        Assert.Equal(
            [
                ControllerType.CreateDeleteVolume, ControllerType.PublishUnpublishVolume, ControllerType.ListVolumes,
                ControllerType.CreateDeleteSnapshot, ControllerType.ListSnapshots, ControllerType.CloneVolume,
                ControllerType.PublishReadonly, ControllerType.ExpandVolume, ControllerType.ListVolumesPublishedNodes,
                ControllerType.VolumeCondition, ControllerType.GetVolume, ControllerType.SingleNodeMultiWriter,
                ControllerType.ModifyVolume,
            ],
            advertised.Controller);
        Assert.Equal(
            [NodeType.StageUnstageVolume, NodeType.ExpandVolume, NodeType.GetVolumeStats, NodeType.VolumeCondition, NodeType.SingleNodeMultiWriter],
            advertised.Node);
        Assert.Equal([GroupControllerServiceCapability.Types.RPC.Types.Type.CreateDeleteGetVolumeGroupSnapshot], advertised.GroupController);

        Assert.All(advertised.Services, s => Assert.InRange((int)s, 1, MaxPluginServiceV1_11));
        Assert.All(advertised.Expansion, e => Assert.InRange((int)e, 1, MaxVolumeExpansionV1_11));
        Assert.All(advertised.Controller, c => Assert.InRange((int)c, 1, MaxControllerV1_11));
        Assert.All(advertised.Node, n => Assert.InRange((int)n, 1, MaxNodeV1_11));
        Assert.All(advertised.GroupController, g => Assert.InRange((int)g, 1, MaxGroupControllerV1_11));
    }

    [Fact]
    public async Task Csi_capabilities_v1_12_opts_in_to_GET_SNAPSHOT_and_nothing_else_changes()
    {
        using var dir = new TestDirectory("compat-v112");
        var configuration = RunningDriver.LocalConfiguration(dir);
        configuration.Driver.CsiCapabilities = new Version(1, 12);
        await using var newer = await RunningDriver.StartAsync(configuration);
        using var defaultDir = new TestDirectory("compat-v111");
        await using var baseline = await RunningDriver.StartLocalAsync(defaultDir);

        var opted = await AdvertisedAsync(newer);
        var standard = await AdvertisedAsync(baseline);

        Assert.Equal([ControllerType.GetSnapshot], opted.Controller.Except(standard.Controller));
        Assert.Empty(standard.Controller.Except(opted.Controller));
        Assert.Equal(standard.Node, opted.Node);
        Assert.Equal(standard.Services, opted.Services);
        var snapshot = await newer.Controller.CreateSnapshotAsync(new CreateSnapshotRequest
        {
            Name = "compat-snap",
            SourceVolumeId = (await newer.Controller.CreateVolumeAsync(CsiDriver.Driver.Tests.Controller.Requests.Create("compat-vol"))).Volume.VolumeId,
        });
        var got = await newer.Controller.GetSnapshotAsync(new GetSnapshotRequest { SnapshotId = snapshot.Snapshot.SnapshotId });
        Assert.Equal(snapshot.Snapshot.SnapshotId, got.Snapshot.SnapshotId);
    }

    private sealed record Advertised(
        List<ServiceType> Services,
        List<PluginCapability.Types.VolumeExpansion.Types.Type> Expansion,
        List<ControllerType> Controller,
        List<NodeType> Node,
        List<GroupControllerServiceCapability.Types.RPC.Types.Type> GroupController);

    private static async Task<Advertised> AdvertisedAsync(RunningDriver driver)
    {
        using var channel = CsiDriver.Cli.UnixSocketChannel.Create(driver.Configuration.Driver.Endpoint);
        var plugin = await driver.Identity.GetPluginCapabilitiesAsync(new GetPluginCapabilitiesRequest());
        var controller = await driver.Controller.ControllerGetCapabilitiesAsync(new ControllerGetCapabilitiesRequest());
        var node = await driver.Node.NodeGetCapabilitiesAsync(new NodeGetCapabilitiesRequest());
        var group = await new Csi.V1.GroupController.GroupControllerClient(channel)
            .GroupControllerGetCapabilitiesAsync(new GroupControllerGetCapabilitiesRequest());
        return new Advertised(
            [.. plugin.Capabilities.Where(c => c.Service is not null).Select(c => c.Service.Type)],
            [.. plugin.Capabilities.Where(c => c.VolumeExpansion is not null).Select(c => c.VolumeExpansion.Type)],
            [.. controller.Capabilities.Select(c => c.Rpc.Type)],
            [.. node.Capabilities.Select(c => c.Rpc.Type)],
            [.. group.Capabilities.Select(c => c.Rpc.Type)]);
    }
}
