using Csi.V1;
using CsiDriver.Core;
using CsiDriver.Testing;
using Grpc.Core;

namespace CsiDriver.Driver.Tests.GroupController;

public sealed class GroupControllerServiceTests
{
    [Fact]
    public async Task The_controller_answers_with_no_group_capabilities_and_refuses_group_snapshots()
    {
        using var dir = new TestDirectory("group");
        await using var driver = await RunningDriver.StartLocalAsync(dir, DriverMode.Controller);
        using var channel = CsiDriver.Cli.UnixSocketChannel.Create(driver.Configuration.Driver.Endpoint);
        var client = new Csi.V1.GroupController.GroupControllerClient(channel);

        var capabilities = await client.GroupControllerGetCapabilitiesAsync(new GroupControllerGetCapabilitiesRequest());
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.CreateVolumeGroupSnapshotAsync(new CreateVolumeGroupSnapshotRequest { Name = "g", SourceVolumeIds = { "vol-1" } }));
        var plugin = await driver.Identity.GetPluginCapabilitiesAsync(new GetPluginCapabilitiesRequest());

        Assert.Empty(capabilities.Capabilities);
        Assert.Equal(StatusCode.Unimplemented, refused.StatusCode);
        Assert.DoesNotContain(plugin.Capabilities, c => c.Service?.Type == PluginCapability.Types.Service.Types.Type.GroupControllerService);
    }
}
